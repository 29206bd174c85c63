import ArgumentParser
import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import OttoState

/// `otto apply [PLANFILE]`: make it so.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply a saved plan, or plan and apply after confirmation.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scope: PlanScopeOptions
    @OptionGroup var run: ApplyRunOptions

    @Argument(help: "A plan saved with `otto plan -out FILE`: applied exactly, refused if the state changed since.")
    var planFile: String?

    func run() async throws {
        try await runApply(global: global, options: { try scope.planOptions(destroy: false) }, run: run,
                           planFile: planFile, command: "otto apply")
    }
}

/// `otto destroy`: delete everything otto manages (or the targets).
struct Destroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete everything in state, or the targets and what depends on them.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Limit to this address (or prefix) and what depends on it. Repeatable.")
    var target: [String] = []
    @OptionGroup var run: ApplyRunOptions

    func run() async throws {
        try await runApply(global: global, options: { PlanOptions(mode: .destroy, targets: target) }, run: run,
                           planFile: nil, command: "otto destroy")
    }
}

/// Options of every command that changes things.
struct ApplyRunOptions: ParsableArguments {
    @Flag(name: .long, help: "Do not ask for confirmation (required without a terminal).")
    var autoApprove = false

    @Option(name: .long, help: "Most actions in flight at once (each provider also has its own limit).")
    var parallelism: Int = 10

    @Flag(name: .long, help: "Print one JSON object per event and a JSON summary.")
    var json = false
}

/// Shared body of apply and destroy.
func runApply(global: GlobalOptions, options: () throws -> PlanOptions, run: ApplyRunOptions, planFile: String?,
              command: String) async throws {
    let summary: ApplySummary
    do {
        guard run.parallelism >= 1 else { throw OttoError("cli.flags", "--parallelism must be at least 1") }
        let ctx = try ProjectContext.load(global)
        let saved = try planFile.map(PlanFile.read)
        let opts = try options()
        summary = try await ctx.withLock(command) { () async throws -> ApplySummary in
            let snap = try ctx.store.snapshot()
            let plan: Plan
            if let saved {
                guard saved.stateLineage == snap.lineage else {
                    throw OttoError("plan.stale", "the plan was made against a different state (lineage \(saved.stateLineage), this state is \(snap.lineage)); run `otto plan` again")
                }
                guard saved.stateSerial == snap.serial else {
                    throw OttoError("plan.stale", "the state changed since the plan was made (serial \(saved.stateSerial), now \(snap.serial)); run `otto plan` again")
                }
                plan = saved
            } else {
                plan = try await makePlan(ctx, options: opts, providers: global.providerFilter)
                if !run.json { Terminal.out(PlanRenderer.render(plan, color: Terminal.color)) }
                if plan.hasChanges && !run.autoApprove {
                    guard Terminal.stdinIsTTY else {
                        throw OttoError("apply.confirm", "refusing to apply without confirmation: there is no terminal to ask on; pass --auto-approve, or save a plan with `otto plan -out FILE` and apply that")
                    }
                    let q = plan.options.mode == .destroy ? "Destroy these resources?" : "Apply these changes?"
                    guard Terminal.confirm(q) else { throw OttoError("apply.cancelled", "apply cancelled; nothing was changed") }
                }
            }
            guard plan.hasChanges || !plan.drift.isEmpty || !plan.abandonedCreates.isEmpty else { return ApplySummary() }
            let providers = try ctx.providers(for: Set(plan.changes.map(\.provider)).union(snap.records.values.map(\.provider)))
            let runID = try? ctx.store.startRun(command: command, user: currentUser())
            let style: ProgressReporter.Style = run.json ? .json : (Terminal.stdoutIsTTY ? .live : .plain)
            let reporter = ProgressReporter(style: style, total: plan.actionable.count)
            let cancel = CancellationFlag()
            let signals = InterruptHandler(cancel)
            let executor = Executor(providers: providers, parallelism: run.parallelism, state: StateStoreWriter(store: ctx.store),
                                    cancellation: cancel, onEvent: reporter.handle)
            let summary = await executor.apply(plan, recorded: snap.records)
            signals.stop()
            reporter.finish()
            if let runID {
                try? ctx.store.finishRun(id: runID, outcome: summary.ok ? "ok" : (summary.interrupted ? "interrupted" : "failed"),
                                         summary: summary.line)
            }
            return summary
        }
    } catch { throw fail(error) }
    if run.json {
        Terminal.out(try JSONLines.line(ApplySummaryLine(ApplySummaryDocument(summary))))
    } else {
        Terminal.out("\nApply \(summary.ok ? "complete" : (summary.interrupted ? "interrupted" : "finished with errors")): \(summary.line).\n")
    }
    if !summary.ok { throw ExitCode.failure }
}

func currentUser() -> String {
    ProcessInfo.processInfo.environment["USER"] ?? String(cString: getpwuid(getuid())?.pointee.pw_name ?? strdup("unknown"))
}

/// First Ctrl-C (or SIGTERM): let in-flight actions finish, start nothing new. Second: quit at once.
final class InterruptHandler: @unchecked Sendable {
    // @unchecked: the sources are created here and only cancelled in stop(); DispatchSource is thread-safe.
    private var sources: [DispatchSourceSignal] = []

    init(_ flag: CancellationFlag) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler {
                if flag.isCancelled {
                    Terminal.err("\nSecond interrupt: stopping now. Actions in flight may be missing from the state.\n")
                    exit(130)
                }
                flag.cancel()
                Terminal.err("\nInterrupt received: waiting for actions in flight to finish and recording them; nothing new starts. Press Ctrl-C again to stop at once.\n")
            }
            src.resume()
            sources.append(src)
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
