import Foundation
import OttoConfig
import OttoCore
import OttoPlan
import OttoState

/// One scheduled run: take the state lock (or skip when another otto holds it), refresh and plan everything, apply
/// the changes of sites whose policy is `correct`, record the run in the state's history.
public struct Reconciler: Sendable {
    /// Most actions in flight at once.
    public var parallelism: Int
    /// What the run calls itself in the lock and the run history.
    public var command: String

    /// Creates a reconciler.
    public init(parallelism: Int = 10, command: String = "otto serve (scheduled run)") {
        self.parallelism = max(1, parallelism)
        self.command = command
    }

    /// Runs once. Never throws: every failure is the run's outcome and message.
    public func run(_ input: ReconcileInput, user: String = "otto", onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in })
        async -> DriftRun {
        await reconcile(input, user: user, onEvent: onEvent).run
    }

    /// Runs once and also returns the plan it made (for the status page). Never throws.
    public func reconcile(_ input: ReconcileInput, user: String = "otto", onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in })
        async -> ReconcileResult {
        let started = Date()
        let clock = ContinuousClock()
        let t0 = clock.now
        func elapsed() -> Double {
            let d = clock.now - t0
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        let store = input.store
        let lock: LockInfo
        do {
            lock = try await Self.offPool { try store.acquireLock(command: command) }
        } catch let locked as StateLockedError {
            return ReconcileResult(run: DriftRun(started: started, seconds: elapsed(), outcome: .busy, items: [], message: locked.description))
        } catch {
            return ReconcileResult(run: DriftRun(started: started, seconds: elapsed(), outcome: .failed, items: [], message: "\(error)"))
        }
        defer { try? store.releaseLock(id: lock.id) }
        let runID = try? await Self.offPool { try store.startRun(command: command, user: user) }
        var result = await plannedAndApplied(input, onEvent: onEvent)
        result.run.runID = runID
        result.run.started = started
        result.run.seconds = elapsed()
        if let runID {
            let outcome = result.run.outcome.rawValue
            let summary = result.run.summary
            try? await Self.offPool { try store.finishRun(id: runID, outcome: outcome, summary: summary) }
        }
        return result
    }

    private func plannedAndApplied(_ input: ReconcileInput, onEvent: @escaping @Sendable (ApplyEvent) -> Void) async -> ReconcileResult {
        let store = input.store
        let plan: Plan
        let snap: StateSnapshot
        do {
            snap = try await Self.offPool { try store.snapshot() }
            let handlers = try await Self.offPool { try store.pendingHandlers() }
            let before = input.requestCounts()
            plan = try await Engine(providers: input.providers).plan(
                desired: input.resources, state: snap.records, lineage: snap.lineage, serial: snap.serial,
                options: PlanOptions(), pendingHandlers: handlers, pendingCreates: snap.pending)
                .withAPICalls(since: before, now: input.requestCounts())
        } catch {
            return ReconcileResult(run: DriftRun(started: Date(), seconds: 0, outcome: .failed, items: [], message: "\(error)"))
        }
        var items = plan.actionable.map { c in
            DriftItem(address: c.address, action: c.action, reason: c.reason, policy: input.policy(c.address), corrected: false, error: nil)
        }
        // Only what the policy allows is applied; refreshed state (plan.drift) is recorded for every site.
        var allowed = plan
        allowed.changes = plan.changes.filter { $0.action == .noop || input.policy($0.address) == .correct }
        let needsApply = allowed.hasChanges || !plan.drift.isEmpty || !plan.abandonedCreates.isEmpty
        guard needsApply else {
            return ReconcileResult(run: DriftRun(started: Date(), seconds: 0, outcome: .ok, items: items, refresh: plan.refresh),
                                   plan: plan, recorded: Set(snap.records.keys))
        }
        let executor = Executor(providers: input.providers, parallelism: parallelism, state: input.writer, onEvent: onEvent)
        let summary = await executor.apply(allowed, recorded: snap.records)
        for i in items.indices {
            switch summary.outcomes[items[i].address] {
            case .succeeded?: items[i].corrected = true
            case .failed(let message)?: items[i].error = message
            case .skipped(let because)?: items[i].error = "skipped: \(because) failed"
            case .interrupted?: items[i].error = "not started (shutting down)"
            case nil: break
            }
        }
        let failures = items.compactMap(\.error)
        let run = DriftRun(started: Date(), seconds: 0, outcome: summary.ok ? .ok : .failed, items: items,
                           message: failures.isEmpty ? nil : failures.joined(separator: "\n"), refresh: plan.refresh)
        return ReconcileResult(run: run, plan: plan, recorded: Set(snap.records.keys))
    }

    /// Runs blocking state calls on a dispatch queue, off Swift's cooperative pool.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// One run and what it saw.
public struct ReconcileResult: Sendable {
    /// The run.
    public var run: DriftRun
    /// The plan it made, when it got that far (what existed before anything was applied).
    public var plan: Plan?
    /// What the state held before the run.
    public var recorded: Set<ResourceAddress>

    /// Creates a result.
    public init(run: DriftRun, plan: Plan? = nil, recorded: Set<ResourceAddress> = []) {
        self.run = run
        self.plan = plan
        self.recorded = recorded
    }
}

extension Plan {
    /// The plan with its refresh's API calls filled in from two readings of the client's request counts.
    public func withAPICalls(since before: [String: Int], now: [String: Int]) -> Plan {
        var plan = self
        for (label, count) in now where !label.isEmpty && count > (before[label] ?? 0) {
            plan.refresh?.apiCalls[label] = count - (before[label] ?? 0)
        }
        return plan
    }
}
