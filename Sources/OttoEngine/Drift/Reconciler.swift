import Foundation
import OttoCore
import OttoPlan
import OttoState

/// One scheduled run through the apply pipeline: take the locks (or skip when another otto holds one), refresh and plan
/// everything, apply the changes of sites whose policy is `correct`, record the run in the state's history.
public struct Reconciler: Sendable {
    /// Most actions in flight at once.
    public var parallelism: Int
    /// What the run calls itself in the locks and the run history.
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

    /// Runs once and also returns the plan it made (for the status page). Never throws. With `sites`, only those sites
    /// (and what they need) are planned and locked; `afterRun` is called while the locks are still held.
    public func reconcile(_ input: ReconcileInput, user: String = "otto", sites: [String] = [],
                          afterRun: (@Sendable (ApplyResult?) async -> Void)? = nil,
                          onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in }) async -> ReconcileResult {
        let started = Date()
        let clock = ContinuousClock()
        let t0 = clock.now
        func elapsed() -> Double { Executor.seconds(clock.now - t0) }
        let policy = input.policy
        var request = ApplyRequest(
            command: command, user: user, options: PlanOptions(sites: sites), parallelism: parallelism, recording: .always,
            review: { plan in
                // Only what the policy allows is applied. What refresh found is recorded for sites that correct; a site
                // that only reports keeps its state as it was, so the same drift is reported (as drift) by every run
                // until a person applies it.
                var allowed = plan
                allowed.changes = plan.changes.filter { $0.action == .noop || policy($0.address) == .correct }
                allowed.drift = plan.drift.filter { policy($0.address) == .correct }
                return allowed
            },
            ending: { result in
                let run = Self.driftRun(result, policy: policy, started: started)
                return (run.outcome.rawValue, run.summary)
            },
            onEvent: onEvent)
        request.afterRun = afterRun
        do {
            let result = try await ApplyPipeline(store: input.store).apply(input.apply, request)
            var run = Self.driftRun(result, policy: policy, started: started)
            run.runID = result.runID
            run.seconds = elapsed()
            return ReconcileResult(run: run, plan: result.plan, recorded: result.recorded)
        } catch let locked as StateLockedError {
            return ReconcileResult(run: DriftRun(started: started, seconds: elapsed(), outcome: .busy, items: [], message: locked.description))
        } catch {
            return ReconcileResult(run: DriftRun(started: started, seconds: elapsed(), outcome: .failed, items: [], message: "\(error)"))
        }
    }

    /// The run's record from what the pipeline did: every actionable change of the plan, corrected or only reported.
    static func driftRun(_ result: ApplyResult, policy: @Sendable (ResourceAddress) -> DriftPolicy, started: Date) -> DriftRun {
        let plan = result.plan
        var items = plan.actionable.map { c in
            DriftItem(address: c.address, action: c.action, reason: c.reason, policy: policy(c.address), corrected: false, error: nil)
        }
        for i in items.indices {
            switch result.summary.outcomes[items[i].address] {
            case .succeeded?: items[i].corrected = true
            case .failed(let message)?: items[i].error = message
            case .skipped(let because)?: items[i].error = "skipped: \(because) failed"
            case .interrupted?: items[i].error = "not started (shutting down)"
            case nil: break
            }
        }
        let failures = items.compactMap(\.error)
        let ok = result.summary.ok
        return DriftRun(started: started, seconds: 0, outcome: ok ? .ok : .failed, items: items,
                        message: failures.isEmpty ? nil : failures.joined(separator: "\n"), refresh: plan.refresh)
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
