import ArgumentParser
import Foundation

/// The `otto` command line.
@main
struct OttoCommand: AsyncParsableCommand {
    /// Runs the command, then closes every provider it opened (SSH sessions must end before the process does).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand { try await asyncCommand.run() } else { try command.run() }
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
                      StateCommand.self, ForceUnlock.self, Images.self, Serve.self, Walk.self])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Project root (holds sites/, inventory/, images/).")
    var dir: String = "."

    @Option(name: .long, help: "State location: sqlite:PATH (default .otto/state.db under --dir). Env: OTTO_STATE.")
    var state: String?

    var stateURL: String { state ?? ProcessInfo.processInfo.environment["OTTO_STATE"] ?? "sqlite:.otto/state.db" }

    @Option(name: .long, help: "Only resources of these providers (comma-separated; host configuration goes with its machines' provider). Env: OTTO_PROVIDERS.")
    var providers: String?

    /// The provider names to limit the run to, or nil for all.
    var providerFilter: Set<String>? {
        let text = providers ?? ProcessInfo.processInfo.environment["OTTO_PROVIDERS"] ?? ""
        let names = text.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        return names.isEmpty ? nil : Set(names)
    }
}

/// Options that select what a plan covers.
struct PlanScopeOptions: ParsableArguments {
    @Option(name: .long, help: "Limit to this address (or prefix) and what it depends on. Repeatable.")
    var target: [String] = []

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
