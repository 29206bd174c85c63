import Foundation
import OttoCore
import OttoPlan
import OttoState
import Synchronization

/// Carries out a plan: a walk of its dependency graph with bounded parallelism (global and per provider),
/// keeping going past failures (dependents are skipped, independent branches finish), deleting in reverse
/// dependency order, and committing each resource's result to state as it completes.
///
/// The concerns live apart: `ReadyGraph` (what may start), `Executor+Actions` (one change's provider calls and state
/// write), `Executor+Handlers` (reloads after the changes), `StateWriteQueue` (group commit).
public struct Executor: Sendable {
    /// Provider instances by name.
    public var providers: [String: any Provider]
    /// Most actions in flight at once across all providers.
    public var parallelism: Int
    /// Where results are committed.
    public var state: any StateWriter
    /// Progress callback; called from any thread.
    public var onEvent: @Sendable (ApplyEvent) -> Void
    /// Set it (Ctrl-C) to let in-flight actions finish and start nothing new.
    public var cancellation: CancellationFlag

    /// Creates an executor.
    public init(providers: [String: any Provider], parallelism: Int = 10, state: any StateWriter,
                cancellation: CancellationFlag = CancellationFlag(), onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in }) {
        self.providers = providers
        self.parallelism = max(1, parallelism)
        self.state = state
        self.cancellation = cancellation
        self.onEvent = onEvent
    }

    /// Applies `plan`. `recorded` is the state the plan's refresh is compared against (for provider names, sites and
    /// dependencies of refreshed records).
    public func apply(_ plan: Plan, recorded: [ResourceAddress: ResourceRecord]) async -> ApplySummary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = ApplySummary()
        let writer = StateWriteQueue(writer: state)

        // 1. What refresh found goes to state first (resources gone, attributes changed, existing ones adopted).
        await recordRefresh(plan, recorded: recorded, writer: writer)

        // 2. The actionable changes, in dependency order.
        var graph = ReadyGraph(plan.actionable)
        for i in 0..<graph.count { summary.actions[graph.change(i).address] = graph.change(i).action }

        // Values of everything known so far, for resolving references at apply time.
        var values: [ResourceAddress: [String: Value]] = [:]
        for c in plan.changes { if let b = c.before { values[c.address] = b.attributes } }

        await withTaskGroup(of: (Int, Result<ObservedResource?, ExecutionError>, Double).self) { group in
            func launchReady() {
                guard !cancellation.isCancelled else { return }
                let providers = self.providers
                let cancellation = self.cancellation
                graph.start(parallelism: parallelism, limit: { providers[$0]?.concurrencyLimit ?? 1 },
                            stop: { cancellation.isCancelled }) { i, planned in
                    var change = planned
                    // References resolve now, from what the dependencies (all finished) produced; capturing
                    // `values` itself in the task would copy the whole dictionary on the next completion.
                    let unresolved = resolveReferences(in: &change, from: values)
                    onEvent(.started(change.address, change.action))
                    group.addTask { [change] in
                        let t0 = ContinuousClock.now
                        let result = unresolved.isEmpty
                            ? await execute(change, writer: writer)
                            : .failure(ExecutionError("cannot resolve \(unresolved.joined(separator: ", ")): the referenced resource has no such attribute"))
                        let d = ContinuousClock.now - t0
                        return (i, result, Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
                    }
                }
            }
            launchReady()
            while let (i, result, seconds) = await group.next() {
                let change = graph.change(i)
                switch result {
                case .success(let observed):
                    values[change.address] = observed?.attributes
                    onEvent(.finished(change.address, change.action, seconds: seconds))
                    graph.succeeded(i)
                case .failure(let error):
                    onEvent(.failed(change.address, change.action, message: error.message))
                    for j in graph.failed(i, message: error.message) {
                        onEvent(.skipped(graph.change(j).address, graph.change(j).action, because: change.address))
                    }
                }
                launchReady()
            }
        }

        for i in 0..<graph.count {
            let address = graph.change(i).address
            if let o = graph.outcomes[i] { summary.outcomes[address] = o; continue }
            summary.outcomes[address] = .interrupted
            onEvent(.interrupted(address, graph.change(i).action))
        }

        // 3. Handlers: those left pending by earlier runs and those this run's changes triggered, once each.
        var handlers: [String: Handler] = [:]
        for h in plan.handlers { handlers[h.id] = h }
        for (id, h) in writer.triggered.withLock({ $0 }) { handlers[id] = h }
        if !cancellation.isCancelled && !handlers.isEmpty {
            let results = await runHandlers(handlers.values.sorted { $0.id < $1.id }, writer: writer)
            summary.handlersRun = results.filter { $0.1 == nil }.count
            summary.handlersFailed = results.filter { $0.1 != nil }.count
        } else {
            summary.handlersPending = handlers.count
        }
        summary.interrupted = cancellation.isCancelled
        summary.seconds = Self.seconds(clock.now - started)
        summary.stateWriteSeconds = Self.seconds(writer.wallTime)
        summary.stateTransactions = writer.transactions.withLock { $0 }
        summary.stateWriteCPUSeconds = Self.seconds(writer.cpuTime)
        return summary
    }

    /// Writes what the plan's refresh found, in one transaction: records whose resource changed or is gone, resources
    /// found by their pending create's key (adopted), and pending creates that never happened (dropped).
    private func recordRefresh(_ plan: Plan, recorded: [ResourceAddress: ResourceRecord], writer: StateWriteQueue) async {
        let byAddress = Dictionary(plan.changes.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
        var refreshed: [ResourceRecord] = []
        var gone: [ResourceAddress] = []
        for d in plan.drift {
            guard let now = d.observed else {
                if recorded[d.address] != nil { gone.append(d.address) }
                continue
            }
            if var rec = recorded[d.address] {
                rec.providerID = now.providerID
                rec.attributes = now.attributes
                refreshed.append(rec)
            } else if let r = byAddress[d.address]?.after {
                refreshed.append(ResourceRecord(address: d.address, provider: r.provider, providerID: now.providerID,
                                                attributes: now.attributes, dependencies: r.dependencies.map(\.address), site: r.site))
            } else if let c = byAddress[d.address], c.action == .delete {
                // Made by an interrupted run and no longer wanted: recorded first, so its delete is tracked like any other.
                refreshed.append(ResourceRecord(address: d.address, provider: c.provider, providerID: now.providerID,
                                                attributes: now.attributes, dependencies: c.dependencies, site: c.site))
            }
        }
        // Creates an interrupted run started that never happened: nothing to adopt, the pending entry goes.
        gone.append(contentsOf: plan.abandonedCreates)
        guard !refreshed.isEmpty || !gone.isEmpty else { return }
        do { try await writer.refreshed(refreshed, removing: gone) } catch {
            onEvent(.failed(ResourceAddress(kind: "state", name: "refresh"), .update, message: "could not write refreshed state: \(error)"))
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// A failed action's message (the provider's own words).
struct ExecutionError: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}
