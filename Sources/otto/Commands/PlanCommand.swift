import ArgumentParser
import Foundation
import OttoCore
import OttoEngine
import OttoPlan

/// `otto plan`: refresh, compare, and show what apply would do.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Show what apply would change.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scope: PlanScopeOptions

    @Option(name: [.customShort("o"), .customLong("out"), .customLong("out", withSingleDash: true)],
            help: "Save the plan to FILE for `otto apply FILE`.")
    var out: String?

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    @Flag(name: .long, help: "Plan a destroy of everything in state (or the targets).")
    var destroy = false

    @Flag(name: .long, help: "Exit 0 when there are no changes, 2 when there are, 1 on error.")
    var detailedExitcode = false

    func run() async throws {
        let plan: Plan
        var sources: [ResourceAddress: ResourceSource] = [:]
        do {
            let ctx = try await ProjectContext.open(global)
            let options = try scope.planOptions(destroy: destroy)
            plan = try await ApplyPipeline(store: ctx.store).plan(ctx.applyInput(providers: global.providerFilter), options: options,
                                                                  command: "otto plan", lockTimeout: try global.lockWait())
            if let out { try PlanFile.write(plan, to: out) }
            if json { for r in ctx.resources { sources[r.address] = r.source } }
            ProcessEnd.keep(ctx.project)
        } catch { throw fail(error) }
        if json {
            Terminal.out(try JSONLines.line(PlanDocument(plan.redacted(), sources: sources)))
        } else {
            await PlanRenderer.print(plan, color: Terminal.color)
            if let out { Terminal.out("\nSaved the plan to \(out); apply exactly this plan with `otto apply \(out)`.\n") }
        }
        ProcessEnd.keep(plan)
        if detailedExitcode && plan.hasChanges { throw ExitCode(2) }
    }
}

extension PlanScopeOptions {
    /// The planner options these flags ask for.
    func planOptions(destroy: Bool) throws -> PlanOptions {
        let replaces = try replace.map { text -> ResourceAddress in
            guard let a = ResourceAddress(parsing: text) else { throw OttoError("cli.address", "--replace \(text): not a resource address (KIND.NAME)") }
            return a
        }
        if destroy && refreshOnly { throw OttoError("cli.flags", "--destroy and --refresh-only cannot be combined") }
        if refreshOnly && !refresh { throw OttoError("cli.flags", "--refresh-only needs refresh; drop --refresh=false") }
        return PlanOptions(mode: destroy ? .destroy : (refreshOnly ? .refreshOnly : .normal), targets: target,
                           replace: replaces, refresh: refresh, sites: site)
    }
}

/// Saved plans: JSON, written atomically with mode 0600 (they hold attribute values, sensitive ones too: apply needs
/// them). What is printed (`--json`) is `Plan.redacted()`.
enum PlanFile {
    static func encode(_ plan: Plan) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        enc.dateEncodingStrategy = .iso8601
        return try enc.encode(plan)
    }

    static func write(_ plan: Plan, to path: String) throws {
        let data = try encode(plan)
        try AtomicFile.write(data, to: path, mode: 0o600, code: "plan.write")
    }

    static func read(_ path: String) throws -> Plan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OttoError("plan.read", "cannot read the plan file \(path)")
        }
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        do {
            return try dec.decode(Plan.self, from: data)
        } catch let e as UnsupportedPlanFormat {
            throw OttoError("plan.format", "\(path) cannot be applied: \(e)")
        } catch {
            throw OttoError("plan.read", "\(path) is not an otto plan file", cause: error)
        }
    }
}
