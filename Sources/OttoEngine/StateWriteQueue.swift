import OttoCore
import OttoState
import Synchronization

/// Commits the executor's results with group commit: writes that arrive while a commit is running are committed together
/// in the next transaction. Each caller resumes only once its own write is durable, so the guarantee is the same as one
/// transaction per resource, at a fraction of the cost when results come in bursts. The commits run on the store's own
/// threads (`StateWriter` is async); this queue only gathers and waits.
final class StateWriteQueue: Sendable {
    enum Op: Sendable {
        case put(ResourceRecord, [Handler])
        case remove(ResourceAddress)
    }
    private struct Pending {
        var ops: [(Op, CheckedContinuation<Void, any Error>)] = []
        var draining = false
    }

    let writer: any StateWriter
    /// Wall time from each write's call to its return.
    let time = Mutex<Duration>(.zero)
    /// Number of transactions committed.
    let transactions = Mutex(0)
    /// Handlers recorded by this apply's changes, by id.
    let triggered = Mutex<[String: Handler]>([:])
    private let pending = Mutex(Pending())
    private let statisticsAtStart: StateWriteStatistics

    init(writer: any StateWriter) {
        self.writer = writer
        statisticsAtStart = writer.statistics
    }

    /// CPU time the writer's threads spent in this queue's commits (zero for a writer that does not count).
    var cpuTime: Duration { writer.statistics.cpuTime - statisticsAtStart.cpuTime }

    /// Wall time of this queue's commits: inside the transactions when the writer counts it (what a commit costs),
    /// else from the call to its return (which includes the wait to be scheduled again).
    var wallTime: Duration {
        let counted = writer.statistics.wallTime - statisticsAtStart.wallTime
        return counted > .zero ? counted : time.withLock { $0 }
    }

    /// A created, updated or replaced resource and the handlers its change triggered.
    func applied(_ r: ResourceRecord, handlers: [Handler] = []) async throws {
        try await submit(.put(r, handlers))
        if !handlers.isEmpty { triggered.withLock { for h in handlers { $0[h.id] = h } } }
    }

    /// A deleted resource.
    func deleted(_ a: ResourceAddress) async throws { try await submit(.remove(a)) }

    /// A handler that ran.
    func handlerRan(_ id: String) async throws { try await writer.handlerRan(id: id) }

    /// A pending create: its own transaction, durable when this returns (the provider is called only after it).
    func pending(_ p: PendingCreate) async throws {
        try await timed { try await writer.putPending(p) }
    }

    /// Refresh results: one transaction of their own.
    func refreshed(_ r: [ResourceRecord], removing: [ResourceAddress]) async throws {
        try await timed { try await writer.put(r, removing: removing, handlers: []) }
    }

    private func submit(_ op: Op) async throws {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<Void, any Error>) in
            let startDrain = pending.withLock { p -> Bool in
                p.ops.append((op, cont))
                if p.draining { return false }
                p.draining = true
                return true
            }
            if startDrain { Task { await drain() } }
        }
    }

    /// Before a commit starts, it waits until results stop arriving (no new one for `quiet`, at most `maxWait` in all),
    /// like PostgreSQL's `commit_delay`: results that complete in a burst (one PowerDNS PATCH finishes many records)
    /// then share one transaction.
    static let quiet: Duration = .microseconds(100)
    static let maxWait: Duration = .milliseconds(2)

    private func waitForQuiet() async {
        var waited: Duration = .zero
        var seen = pending.withLock { $0.ops.count }
        while waited < Self.maxWait {
            try? await Task.sleep(for: Self.quiet)
            waited += Self.quiet
            let now = pending.withLock { $0.ops.count }
            if now == seen { return }
            seen = now
        }
    }

    private func drain() async {
        while true {
            await waitForQuiet()
            let batch = pending.withLock { p -> [(Op, CheckedContinuation<Void, any Error>)] in
                let b = p.ops
                p.ops = []
                if b.isEmpty { p.draining = false }
                return b
            }
            if batch.isEmpty { return }
            if batch.count == 1 {
                let (op, cont) = batch[0]
                do { try await timed { try await write(op) }; cont.resume() } catch { cont.resume(throwing: error) }
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
                try await timed { try await writer.put(puts, removing: removes, handlers: handlers) }
                batch.forEach { $0.1.resume() }
            } catch {
                // The batch failed as a whole: write one by one so each action gets its own error.
                for (op, cont) in batch {
                    do { try await timed { try await write(op) }; cont.resume() } catch { cont.resume(throwing: error) }
                }
            }
        }
    }

    private func write(_ op: Op) async throws {
        switch op {
        case .put(let r, let h): try await writer.put([r], removing: [], handlers: h)
        case .remove(let a): try await writer.put([], removing: [a], handlers: [])
        }
    }

    private func timed(_ body: () async throws -> Void) async rethrows {
        let t0 = ContinuousClock.now
        defer {
            let d = ContinuousClock.now - t0
            time.withLock { $0 += d }
            transactions.withLock { $0 += 1 }
        }
        try await body()
    }
}
