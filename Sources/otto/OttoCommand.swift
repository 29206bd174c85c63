import ArgumentParser
import OttoConfig
import OttoState
import Foundation

/// The `otto` command line.
@main
struct OttoCommand: AsyncParsableCommand {
    /// Runs the command, then closes every provider it opened (SSH sessions must end before the process does).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? (any AsyncParsableCommand) { try await asyncCommand.run() } else { try command.run() }
        } catch {
            await OpenProviders.shared.shutdown()
            exit(withError: error)
        }
        await OpenProviders.shared.shutdown()
    }

    static let configuration = CommandConfiguration(
        commandName: "otto",
        abstract: "Declarative reconcile engine: plan and apply sites, DNS and machines from YAML.",
        version: OttoVersion.current,
        subcommands: [Validate.self, PlanCommand.self, Apply.self, Destroy.self, Status.self, Graph.self,
                      StateCommand.self, ForceUnlock.self, Images.self, Serve.self, Walk.self, Releases.self, Release.self, Rollback.self, History.self,
                      Promote.self, Approve.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Project root (holds sites/, inventory/, images/).")
    var dir: String = "."

    @Option(name: .long, help: "State location: sqlite:PATH (default .otto/state.db under --dir, or the environment's `state:`). Env: OTTO_STATE.")
    var state: String?

    @Option(name: .long, help: "Environment (environments/NAME.yml): its overlays, its inventory and its own state. Env: OTTO_ENV.")
    var env: String?

    /// The environment chosen (`--env`, else `OTTO_ENV`), nil for none.
    var environment: String? {
        if let env { return env }
        guard let text = ProcessInfo.processInfo.environment["OTTO_ENV"], !text.isEmpty else { return nil }
        return text
    }

    /// The state of `environment` (its spec): `--state`, else `OTTO_STATE`, else the environment's `state:`, else
    /// `.otto/state.db`.
    func stateURL(_ environment: EnvironmentSpec?) -> String {
        state ?? ProcessInfo.processInfo.environment["OTTO_STATE"] ?? environment?.state ?? "sqlite:.otto/state.db"
    }

    @Option(name: .long, help: "The deployment ledger (artifacts, deployments, promotions), one per project, shared by its environments: sqlite:PATH (default .otto/deploydb.db). Env: OTTO_LEDGER.")
    var ledger: String?

    /// `--ledger`, else `OTTO_LEDGER`, else `.otto/deploydb.db`.
    var ledgerURL: String {
        ledger ?? ProcessInfo.processInfo.environment["OTTO_LEDGER"].flatMap { $0.isEmpty ? nil : $0 } ?? StateURL.deployLedgerPath
    }

    @Option(name: .long, help: "Only resources of these providers (comma-separated; host configuration goes with its machines' provider). Env: OTTO_PROVIDERS.")
    var providers: String?

    /// The provider names to limit the run to, or nil for all.
    var providerFilter: Set<String>? {
        let text = providers ?? ProcessInfo.processInfo.environment["OTTO_PROVIDERS"] ?? ""
        let names = text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        return names.isEmpty ? nil : Set(names)
    }

    @Option(name: .long, help: "How long to wait for a site's lock another otto holds, e.g. 30s, 5m, 500ms (default 0: fail at once, naming the holder).")
    var lockTimeout: String = "0"

    /// `--lock-timeout` as a duration.
    func lockWait() throws -> Duration {
        try DurationText.parse(lockTimeout, flag: "--lock-timeout")
    }
}

/// Durations written on the command line: a number with `ms`, `s`, `m` or `h` (a bare number is seconds).
enum DurationText {
    static func parse(_ text: String, flag: String) throws -> Duration {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(t)
        var scale = 1.0
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            number = t.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw OttoError("cli.flags", "\(flag) \(text): not a duration (a number with ms, s, m or h, e.g. 30s)")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }
}

/// Options that select what a plan covers.
struct PlanScopeOptions: ParsableArguments {
    @Option(name: .long, help: "Limit to this address (or prefix) and what it depends on. Repeatable.")
    var target: [String] = []

    @Option(name: .long, help: "Limit to this site's resources and what they need; only that site is locked, so applies on other sites can run at the same time. Repeatable.")
    var site: [String] = []

    @Option(name: .long, help: "Replace this resource even if nothing changed. Repeatable.")
    var replace: [String] = []

    @Flag(name: .long, help: "Only bring the state up to date with what exists; change nothing.")
    var refreshOnly = false

    @Option(name: .long, help: "Observe what exists before planning (default true).")
    var refresh: Bool = true
}

import OttoCore
import Synchronization

/// Every provider instance the command created, so they can be shut down before exit.
final class OpenProviders: Sendable {
    static let shared = OpenProviders()
    private let list = Mutex<[any Provider]>([])

    func add(_ providers: some Sequence<any Provider>) { list.withLock { $0.append(contentsOf: providers) } }

    /// Shuts `providers` down now and forgets them (a long-running `otto serve` replacing its providers).
    func retire(_ providers: [any Provider]) async {
        let ids = Set(providers.map { ObjectIdentifier($0) })
        list.withLock { $0.removeAll { ids.contains(ObjectIdentifier($0)) } }
        for p in providers { await p.shutdown() }
    }

    func shutdown() async {
        let all = list.withLock { l in defer { l = [] }; return l }
        for p in all { await p.shutdown() }
    }
}
