import Foundation
import OttoCore
import OttoPlan
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Carries out a plan: a walk of its dependency graph with bounded parallelism (global and per provider),
/// keeping going past failures (dependents are skipped, independent branches finish), deleting in reverse
/// dependency order, and committing each resource's result to state as it completes.
public struct Executor: Sendable {
    /// Provider instances by name.
    public var providers: [String: any Provider]
    /// Most actions in flight at once across all providers.
    public var parallelism: Int
    /// Where results are committed.
    public var state: any ApplyStateWriter
    /// Progress callback; called from any thread.
    public var onEvent: @Sendable (ApplyEvent) -> Void
    /// Set it (Ctrl-C) to let in-flight actions finish and start nothing new.
    public var cancellation: CancellationFlag

    /// Creates an executor.
    public init(providers: [String: any Provider], parallelism: Int = 10, state: any ApplyStateWriter,
                cancellation: CancellationFlag = CancellationFlag(), onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in }) {
        self.providers = providers
        self.parallelism = max(1, parallelism)
        self.state = state
        self.cancellation = cancellation
        self.onEvent = onEvent
    }

    private struct Node: Sendable {
        let change: ResourceChange
        var prerequisites: Int = 0
        var dependents: [Int] = []
    }

    /// Applies `plan`. `recorded` is the state the plan's refresh is compared against (for provider names and
    /// dependencies of refreshed records).
    public func apply(_ plan: Plan, recorded: [ResourceAddress: ResourceRecord]) async -> ApplySummary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = ApplySummary()
        let writer = StateWriteQueue(writer: state)

        // 1. What refresh found goes to state first (resources gone, attributes changed, existing ones adopted).
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
                                                attributes: now.attributes, dependencies: r.dependencies.map(\.address)))
            } else if let c = byAddress[d.address], c.action == .delete {
                // Made by an interrupted run and no longer wanted: recorded first, so its delete is tracked like any other.
                refreshed.append(ResourceRecord(address: d.address, provider: c.provider, providerID: now.providerID,
                                                attributes: now.attributes, dependencies: c.dependencies))
            }
        }
        // Creates an interrupted run started that never happened: nothing to adopt, the pending entry goes.
        gone.append(contentsOf: plan.abandonedCreates)
        if !refreshed.isEmpty || !gone.isEmpty {
            do { try await writer.refreshed(refreshed, removing: gone) } catch {
                onEvent(.failed(ResourceAddress(kind: "state", name: "refresh"), .update, message: "could not write refreshed state: \(error)"))
            }
        }

        // 2. The graph of actionable changes.
        var nodes = plan.actionable.map { Node(change: $0) }
        var index: [ResourceAddress: Int] = [:]
        for (i, n) in nodes.enumerated() { index[n.change.address] = i; summary.actions[n.change.address] = n.change.action }
        for i in nodes.indices {
            let c = nodes[i].change
            for dep in c.dependencies {
                guard let j = index[dep] else { continue }
                if c.action == .delete {
                    // I depend on `dep`: if both go, I go first, so `dep` waits for me.
                    if nodes[j].change.action == .delete { nodes[j].prerequisites += 1; nodes[i].dependents.append(j) }
                } else if nodes[j].change.action != .delete {
                    nodes[i].prerequisites += 1; nodes[j].dependents.append(i)
                }
            }
        }

        // Values of everything known so far, for resolving references at apply time.
        var values: [ResourceAddress: [String: Value]] = [:]
        for c in plan.changes { if let b = c.before { values[c.address] = b.attributes } }

        var ready: [String: [Int]] = [:]
        var readyHead: [String: Int] = [:]
        var providerOrder: [String] = []
        func enqueue(_ i: Int) {
            let p = nodes[i].change.provider
            if ready[p] == nil { ready[p] = []; readyHead[p] = 0; providerOrder.append(p) }
            ready[p]!.append(i)
        }
        for i in nodes.indices where nodes[i].prerequisites == 0 { enqueue(i) }

        var running = 0
        var runningPer: [String: Int] = [:]
        var outcomes = [ApplyOutcome?](repeating: nil, count: nodes.count)

        func skipDependents(of i: Int, root: ResourceAddress) {
            var stack = nodes[i].dependents
            while let j = stack.popLast() {
                guard outcomes[j] == nil else { continue }
                outcomes[j] = .skipped(because: root)
                onEvent(.skipped(nodes[j].change.address, nodes[j].change.action, because: root))
                stack.append(contentsOf: nodes[j].dependents)
            }
        }

        await withTaskGroup(of: (Int, Result<ObservedResource?, ExecutionError>, Double).self) { group in
            func launchReady() {
                guard !cancellation.isCancelled else { return }
                var progressed = true
                while progressed && running < parallelism {
                    progressed = false
                    for p in providerOrder where running < parallelism {
                        let limit = max(1, providers[p]?.concurrencyLimit ?? 1)
                        while !cancellation.isCancelled, running < parallelism, (runningPer[p] ?? 0) < limit, readyHead[p]! < ready[p]!.count {
                            let i = ready[p]![readyHead[p]!]
                            readyHead[p]! += 1
                            guard outcomes[i] == nil else { continue }
                            running += 1
                            runningPer[p, default: 0] += 1
                            progressed = true
                            var change = nodes[i].change
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
                }
            }
            launchReady()
            while let (i, result, seconds) = await group.next() {
                let change = nodes[i].change
                running -= 1
                runningPer[change.provider, default: 1] -= 1
                switch result {
                case .success(let observed):
                    outcomes[i] = .succeeded
                    if let observed { values[change.address] = observed.attributes } else { values[change.address] = nil }
                    onEvent(.finished(change.address, change.action, seconds: seconds))
                    for j in nodes[i].dependents {
                        nodes[j].prerequisites -= 1
                        if nodes[j].prerequisites == 0 && outcomes[j] == nil { enqueue(j) }
                    }
                case .failure(let error):
                    outcomes[i] = .failed(error.message)
                    onEvent(.failed(change.address, change.action, message: error.message))
                    skipDependents(of: i, root: change.address)
                }
                launchReady()
            }
        }

        for (i, n) in nodes.enumerated() {
            if let o = outcomes[i] { summary.outcomes[n.change.address] = o; continue }
            summary.outcomes[n.change.address] = .interrupted
            onEvent(.interrupted(n.change.address, n.change.action))
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
        let elapsed = clock.now - started
        summary.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let w = writer.time.withLock { $0 }
        summary.stateWriteSeconds = Double(w.components.seconds) + Double(w.components.attoseconds) / 1e18
        summary.stateTransactions = writer.transactions.withLock { $0 }
        let cpu = writer.cpuTime.withLock { $0 }
        summary.stateWriteCPUSeconds = Double(cpu.components.seconds) + Double(cpu.components.attoseconds) / 1e18
        return summary
    }

    /// Runs handlers, at most `parallelism` at once; a handler that succeeds leaves the pending list.
    private func runHandlers(_ handlers: [Handler], writer: StateWriteQueue) async -> [(Handler, String?)] {
        await withTaskGroup(of: (Handler, String?).self) { group in
            var results: [(Handler, String?)] = []
            var next = 0
            func launch() {
                let h = handlers[next]
                next += 1
                onEvent(.handlerStarted(h))
                group.addTask {
                    guard let provider = providers[h.provider] else {
                        return (h, "no provider named `\(h.provider)` is configured")
                    }
                    do {
                        try await provider.run(h)
                        try await writer.handlerRan(h.id)
                        return (h, nil)
                    } catch {
                        return (h, String(describing: error))
                    }
                }
            }
            while next < handlers.count && next < parallelism { launch() }
            while let r = await group.next() {
                results.append(r)
                onEvent(.handlerFinished(r.0, failure: r.1))
                if next < handlers.count { launch() }
            }
            return results
        }
    }

    /// Replaces the references in `change.after` with values from `values`; returns the ones it could not resolve.
    private func resolveReferences(in change: inout ResourceChange, from values: [ResourceAddress: [String: Value]]) -> [String] {
        guard var resource = change.after, resource.attributes.values.contains(where: { !$0.isFullyKnown }) else { return [] }
        var unresolved: [String] = []
        resource.attributes = resource.attributes.mapValues { v in
            v.resolving { ref in
                let found = values[ref.address]?[ref.attribute]
                if found == nil { unresolved.append(ref.description) }
                return found
            }
        }
        change.after = resource
        return unresolved
    }

    /// One action: provider calls, then the state write. Returns what now exists (nil after a delete).
    private func execute(_ change: ResourceChange, writer: StateWriteQueue) async -> Result<ObservedResource?, ExecutionError> {
        guard let provider = providers[change.provider] else {
            return .failure(ExecutionError("no provider named `\(change.provider)` is configured (inventory/)"))
        }
        do {
            if change.action == .update, let before = change.before, let after = change.after, !change.changes.isEmpty {
                // The plan could not know these values (a reference to what another change computes); now that they are
                // known, an update that changes nothing is not sent.
                let schema = provider.schema(for: change.address.kind)
                let unchanged = change.changes.allSatisfy {
                    Planner.same(after.attributes[$0.name], before.attributes[$0.name], unordered: schema?.unordered.contains($0.name) ?? false)
                }
                if unchanged { return .success(before) }
            }
            switch change.action {
            case .noop:
                return .success(change.before)
            case .delete:
                try await provider.delete(change.address, current: change.before!)
                try await writer.deleted(change.address)
                return .success(nil)
            case .create, .update, .replace:
                let resource = change.after!
                let observed: ObservedResource
                switch change.action {
                case .create:
                    observed = try await create(resource, on: provider, writer: writer)
                case .update:
                    observed = try await provider.update(resource, current: change.before!, changed: change.changes.map(\.name))
                default:
                    if change.replaceOrder == .createThenDelete {
                        observed = try await create(resource, on: provider, writer: writer)
                        try await writer.applied(record(resource, observed), handlers: provider.handlers(for: resource))
                        do { try await provider.delete(change.address, current: change.before!) } catch {
                            return .failure(ExecutionError("the replacement was created, but deleting the old one (\(change.before!.providerID)) failed: \(message(error))"))
                        }
                        return .success(observed)
                    }
                    try await provider.delete(change.address, current: change.before!)
                    try await writer.deleted(change.address)
                    observed = try await create(resource, on: provider, writer: writer)
                }
                try await writer.applied(record(resource, observed), handlers: provider.handlers(for: resource))
                return .success(observed)
            }
        } catch {
            return .failure(ExecutionError(message(error)))
        }
    }

    /// Creates `resource`; for a `keyedCreate` kind, first records a pending create with a fresh idempotency key,
    /// durably, so that whatever the provider makes can be found again if the response or this process is lost.
    private func create(_ resource: Resource, on provider: any Provider, writer: StateWriteQueue) async throws -> ObservedResource {
        guard provider.schema(for: resource.kind)?.keyedCreate == true else { return try await provider.create(resource) }
        let pending = PendingCreate(address: resource.address, provider: resource.provider, key: PendingCreate.newKey(),
                                    attributes: resource.attributes, dependencies: resource.dependencies.map(\.address),
                                    since: Date().timeIntervalSince1970)
        try await writer.pending(pending)
        return try await provider.create(resource, idempotencyKey: pending.key)
    }

    private func record(_ r: Resource, _ o: ObservedResource) -> ResourceRecord {
        ResourceRecord(address: r.address, provider: r.provider, providerID: o.providerID, attributes: o.attributes,
                       dependencies: r.dependencies.map(\.address))
    }

    private func message(_ error: any Error) -> String { String(describing: error) }
}

/// A failed action's message (the provider's own words).
struct ExecutionError: Error, Sendable {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Commits results off the cooperative pool with group commit: writes that arrive while a commit is running are
/// committed together in the next transaction. Each caller resumes only once its own write is durable, so the
/// guarantee is the same as one transaction per resource, at a fraction of the cost when results come in bursts.
final class StateWriteQueue: Sendable {
    enum Op: Sendable {
        case put(ResourceRecord, [Handler])
        case remove(ResourceAddress)
    }
    private struct Pending {
        var ops: [(Op, CheckedContinuation<Void, any Error>)] = []
        var draining = false
    }

    let writer: any ApplyStateWriter
    /// Total time spent in state writes.
    let time = Mutex<Duration>(.zero)
    /// CPU time of state writes (the part of `time` spent running, not waiting for a core).
    let cpuTime = Mutex<Duration>(.zero)
    /// Number of transactions committed.
    let transactions = Mutex(0)
    private let pending = Mutex(Pending())
    private let queue = DispatchQueue(label: "otto.state-writes")

    init(writer: any ApplyStateWriter) {
        self.writer = writer
    }

    func applied(_ r: ResourceRecord, handlers: [Handler] = []) async throws {
        try await submit(.put(r, handlers))
        if !handlers.isEmpty { triggered.withLock { for h in handlers { $0[h.id] = h } } }
    }
    /// Handlers recorded by this apply's changes, by id.
    let triggered = Mutex<[String: Handler]>([:])

    func handlerRan(_ id: String) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                do { try writer.recordHandlerRan(id); cont.resume() } catch { cont.resume(throwing: error) }
            }
        }
    }
    func deleted(_ a: ResourceAddress) async throws { try await submit(.remove(a)) }

    /// A pending create: its own transaction, durable when this returns (the provider is called only after it).
    func pending(_ p: PendingCreate) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                do { try timed { try writer.recordPendingCreate(p) }; cont.resume() } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// Refresh results: one transaction of their own.
    func refreshed(_ r: [ResourceRecord], removing: [ResourceAddress]) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in
                do { try timed { try writer.recordBatch(r, removing: removing, handlers: []) }; cont.resume() } catch { cont.resume(throwing: error) }
            }
        }
    }

    private func submit(_ op: Op) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            let startDrain = pending.withLock { p -> Bool in
                p.ops.append((op, cont))
                if p.draining { return false }
                p.draining = true
                return true
            }
            if startDrain { queue.async { [self] in drain() } }
        }
    }

    /// Before a commit starts, it waits until results stop arriving (no new one for `quietMicroseconds`, at most
    /// `maxWaitMicroseconds` in all), like PostgreSQL's `commit_delay`: results that complete in a burst (one
    /// PowerDNS PATCH finishes many records) then share one transaction.
    static let quietMicroseconds: UInt32 = 100
    static let maxWaitMicroseconds: UInt32 = 2_000

    private func waitForQuiet() {
        var waited: UInt32 = 0
        var seen = pending.withLock { $0.ops.count }
        while waited < Self.maxWaitMicroseconds {
            usleep(Self.quietMicroseconds)
            waited += Self.quietMicroseconds
            let now = pending.withLock { $0.ops.count }
            if now == seen { return }
            seen = now
        }
    }

    private func drain() {
        while true {
            waitForQuiet()
            let batch = pending.withLock { p -> [(Op, CheckedContinuation<Void, any Error>)] in
                let b = p.ops
                p.ops = []
                if b.isEmpty { p.draining = false }
                return b
            }
            if batch.isEmpty { return }
            if batch.count == 1 {
                let (op, cont) = batch[0]
                do { try timed { try write(op) }; cont.resume() } catch { cont.resume(throwing: error) }
                continue
            }
            // Later writes to the same address win (a resource is written by one action at a time anyway).
            var last: [ResourceAddress: Op] = [:]
            var handlers: [Handler] = []
            for (op, _) in batch {
                switch op {
                case .put(let r, let h): last[r.address] = op; handlers.append(contentsOf: h)
                case .remove(let a): last[a] = op
                }
            }
            var puts: [ResourceRecord] = []
            var removes: [ResourceAddress] = []
            for op in last.values {
                switch op {
                case .put(let r, _): puts.append(r)
                case .remove(let a): removes.append(a)
                }
            }
            do {
                try timed { try writer.recordBatch(puts, removing: removes, handlers: handlers) }
                batch.forEach { $0.1.resume() }
            } catch {
                // The batch failed as a whole: write one by one so each action gets its own error.
                for (op, cont) in batch {
                    do { try timed { try write(op) }; cont.resume() } catch { cont.resume(throwing: error) }
                }
            }
        }
    }

    private func write(_ op: Op) throws {
        switch op {
        case .put(let r, let h): try writer.recordApplied(r, handlers: h)
        case .remove(let a): try writer.recordDeleted(a)
        }
    }

    private func timed(_ body: () throws -> Void) rethrows {
        let t0 = ContinuousClock.now
        let c0 = Self.threadCPUTime()
        defer {
            let d = ContinuousClock.now - t0
            let c = Self.threadCPUTime() - c0
            time.withLock { $0 += d }
            cpuTime.withLock { $0 += c }
            transactions.withLock { $0 += 1 }
        }
        try body()
    }

    /// CPU time this thread has used: wall time minus the time the writer waited for a core.
    private static func threadCPUTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }
}
