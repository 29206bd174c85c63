import Foundation
import OttoCore
import OttoPlan
import OttoState
import Synchronization

/// What one run of the pipeline works on, loaded fresh for that run: the desired resources and how to make providers.
public struct ApplyInput: Sendable {
    /// The desired resources (sites expanded).
    public var resources: [Resource]
    /// Provider instances for the named providers (those the configuration, the state and pending creates use).
    public var providers: @Sendable (Set<String>) throws -> [String: any Provider]
    /// Turns the request's plan options into the ones planned with, once the state is read (e.g. `--providers` into
    /// targets). Default: unchanged.
    public var options: @Sendable (PlanOptions, StateSnapshot) throws -> PlanOptions
    /// HTTP requests made so far, by provider (read before and after the refresh to count its API calls).
    public var requestCounts: @Sendable () -> [String: Int]
    /// The environment planned (`--env`), written into each plan; nil for a project without environments.
    public var environment: String? = nil

    /// Creates an input.
    public init(resources: [Resource], providers: @escaping @Sendable (Set<String>) throws -> [String: any Provider],
                options: @escaping @Sendable (PlanOptions, StateSnapshot) throws -> PlanOptions = { options, _ in options },
                requestCounts: @escaping @Sendable () -> [String: Int] = { [:] }) {
        self.resources = resources
        self.providers = providers
        self.options = options
        self.requestCounts = requestCounts
    }
}

/// When the pipeline writes a run into the state's history.
public enum RunRecording: Sendable {
    /// Only when it applies something (the CLI, the API): a plan with nothing to do leaves no run.
    case whenApplying
    /// Every run, from the moment the locks are held, whatever happens next (scheduled drift runs).
    case always
}

/// One request to plan and apply.
public struct ApplyRequest: Sendable {
    /// What the run calls itself in locks and the run history (`otto apply`, `otto serve: apply`).
    public var command: String
    /// Who asked (the run history's user).
    public var user: String
    /// How to plan (ignored when `saved` is given).
    public var options: PlanOptions
    /// A plan saved earlier, applied exactly; refused when a scope it covers moved since.
    public var saved: Plan?
    /// Most actions in flight at once.
    public var parallelism: Int
    /// How long to wait for a lock another process holds; zero: fail at once naming the holder.
    public var lockTimeout: Duration
    /// When to record the run.
    public var recording: RunRecording
    /// Sees the plan before anything is applied and answers what to apply: the plan, part of it (a drift policy), or
    /// nil to stop (not confirmed). Runs with the locks held.
    public var review: @Sendable (Plan) async throws -> Plan?
    /// How the run reads in the history (outcome, summary); default: `ok`/`failed`/`interrupted` and the summary line.
    public var ending: @Sendable (ApplyResult) -> (outcome: String, summary: String)
    /// Set it to let in-flight actions finish and start nothing new.
    public var cancellation: CancellationFlag
    /// Progress of the apply; called from any thread.
    public var onEvent: @Sendable (ApplyEvent) -> Void
    /// Called once the run is over (with its result, or nil when it failed before one), while its locks are still held:
    /// what must happen before another holder may take them (a scheduled run sets the site's next due time).
    public var afterRun: (@Sendable (ApplyResult?) async -> Void)? = nil

    /// Creates a request.
    public init(command: String, user: String, options: PlanOptions = PlanOptions(), saved: Plan? = nil, parallelism: Int = 10,
                lockTimeout: Duration = .zero, recording: RunRecording = .whenApplying,
                review: @escaping @Sendable (Plan) async throws -> Plan? = { $0 },
                ending: @escaping @Sendable (ApplyResult) -> (outcome: String, summary: String) = ApplyRequest.defaultEnding,
                cancellation: CancellationFlag = CancellationFlag(), onEvent: @escaping @Sendable (ApplyEvent) -> Void = { _ in }) {
        self.command = command
        self.user = user
        self.options = options
        self.saved = saved
        self.parallelism = max(1, parallelism)
        self.lockTimeout = lockTimeout
        self.recording = recording
        self.review = review
        self.ending = ending
        self.cancellation = cancellation
        self.onEvent = onEvent
    }

    /// `ok`, `interrupted` or `failed`, and the summary's line.
    public static func defaultEnding(_ result: ApplyResult) -> (outcome: String, summary: String) {
        let s = result.summary
        return (s.ok ? "ok" : (s.interrupted ? "interrupted" : "failed"), s.line)
    }
}

/// What one run of the pipeline did.
public struct ApplyResult: Sendable {
    /// The plan made (or the saved plan).
    public var plan: Plan
    /// What was applied (the review's answer); nil when nothing was.
    public var applied: Plan?
    /// How the apply went (empty when nothing was applied).
    public var summary: ApplySummary
    /// The run's id in the state's history, when it was recorded.
    public var runID: Int64?
    /// The addresses the state held before the run.
    public var recorded: Set<ResourceAddress>
    /// The locks the run held.
    public var locks: [LockInfo]

    /// Creates a result.
    public init(plan: Plan, applied: Plan? = nil, summary: ApplySummary = ApplySummary(), runID: Int64? = nil,
                recorded: Set<ResourceAddress> = [], locks: [LockInfo] = []) {
        self.plan = plan
        self.applied = applied
        self.summary = summary
        self.runID = runID
        self.recorded = recorded
        self.locks = locks
    }
}

/// The one apply pipeline: lock → snapshot → refresh → plan → review → execute → record the run. `otto plan`,
/// `otto apply`/`destroy`, `POST /v1/plan`, `POST /v1/apply` and the drift service all run through it.
///
/// Locks: the scopes the run covers (`StateScope`: the sites of `PlanOptions.sites`, else every site of the
/// configuration and the state, and the account scope when something account-wide is there) are locked before the
/// state is read; a plan whose changes write a scope it did not lock takes that lock too before anything is applied.
/// Applies on different sites therefore run at the same time; on the same site the second fails at once naming the
/// holder, or waits up to `lockTimeout`.
public struct ApplyPipeline: Sendable {
    /// The state.
    public var store: any StateStore

    /// Creates a pipeline on `store`.
    public init(store: any StateStore) {
        self.store = store
    }

    /// Locks, reads the state, refreshes and plans; applies nothing and records no run.
    public func plan(_ input: ApplyInput, options: PlanOptions, command: String, lockTimeout: Duration = .zero) async throws -> Plan {
        let lease = try await store.lock(try await scopes(input, options: options), command: command, timeout: lockTimeout)
        do {
            let snap = try await store.snapshot()
            let (plan, _) = try await makePlan(input, options: options, snap: snap, locked: Set(lease.locks.map(\.scope)))
            await lease.release()
            return plan
        } catch {
            await lease.release()
            throw error
        }
    }

    /// Runs the whole pipeline for `request`. Throws `StateLockedError` when a scope is locked by another process (after
    /// `lockTimeout`), and the planning error when refresh or planning fails; a failed apply is in the result's summary.
    public func apply(_ input: ApplyInput, _ request: ApplyRequest) async throws -> ApplyResult {
        let clock = ContinuousClock()
        let deadline = clock.now + request.lockTimeout
        let wanted: Set<StateScope>
        if let saved = request.saved, !saved.stateSerials.isEmpty {
            wanted = Set(saved.stateSerials.keys.compactMap(StateScope.init(key:))).union(saved.scopes)
        } else if let saved = request.saved {
            // A plan saved by an otto without per-site serials: its changes do not say their sites, so lock everything.
            wanted = try await scopes(input, options: saved.options)
        } else {
            wanted = try await scopes(input, options: request.options)
        }
        var leases = [try await store.lock(wanted, command: request.command, timeout: request.lockTimeout)]
        // A lease that loses a lock (its PostgreSQL session ended) stops the apply: in-flight actions end, nothing new
        // starts; the new holder resolves what was in flight (pending creates, idempotency keys).
        let held = Mutex<[any StateLease]>(leases)
        let watcher = Task { [cancellation = request.cancellation] in
            while !Task.isCancelled {
                if held.withLock({ $0.contains { $0.isLost } }) { cancellation.cancel(); return }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        func releaseAll(_ result: ApplyResult?) async {
            watcher.cancel()
            if let afterRun = request.afterRun { await afterRun(result) }
            for lease in leases.reversed() { await lease.release() }
        }
        var runID: Int64?
        do {
            if request.recording == .always {
                runID = try? await store.startRun(command: request.command, user: request.user)
            }
            let snap = try await store.snapshot()
            let locked = Set(leases.flatMap { $0.locks.map(\.scope) })
            let plan: Plan
            var providers: [String: any Provider] = [:]
            if let saved = request.saved {
                try Self.check(saved, against: snap)
                plan = saved
            } else {
                (plan, providers) = try await makePlan(input, options: request.options, snap: snap, locked: locked)
            }
            // What the plan writes beyond what was locked (a change in a site the scope pulled in): locked now, in order.
            let missing = plan.scopesWritten.subtracting(locked)
            if !missing.isEmpty {
                let left = max(.zero, deadline - clock.now)
                leases.append(try await store.lock(missing, command: request.command, timeout: left))
                held.withLock { $0 = leases }
            }
            var result = ApplyResult(plan: plan, recorded: Set(snap.records.keys), locks: leases.flatMap(\.locks))
            if let chosen = try await request.review(plan) {
                if chosen.hasChanges || !chosen.drift.isEmpty || !chosen.abandonedCreates.isEmpty {
                    // The providers that refreshed (their sessions and connections are open) apply too.
                    let names = Set(chosen.changes.map(\.provider)).union(snap.records.values.map(\.provider))
                    let missing = names.subtracting(providers.keys)
                    if !missing.isEmpty { providers.merge(try input.providers(missing)) { a, _ in a } }
                    if request.recording == .whenApplying {
                        runID = try? await store.startRun(command: request.command, user: request.user)
                    }
                    let executor = Executor(providers: providers, parallelism: request.parallelism, state: store,
                                            cancellation: request.cancellation, onEvent: request.onEvent)
                    result.summary = await executor.apply(chosen, recorded: snap.records)
                }
                result.applied = chosen
            }
            result.runID = runID
            if let runID {
                var ending = request.ending(result)
                // A run whose lock was taken from it wrote nothing after that: its record says so, and overlapping the new
                // holder's run in time is then no double run.
                if await !Self.allHeld(leases) { ending = ("fenced", "fenced: lost the lock mid-run; " + ending.summary) }
                try? await store.finishRun(id: runID, outcome: ending.outcome, summary: ending.summary)
            }
            await releaseAll(result)
            return result
        } catch {
            if let runID {
                let fenced = await !Self.allHeld(leases)
                try? await store.finishRun(id: runID, outcome: fenced ? "fenced" : "failed", summary: "failed: \(error)")
            }
            await releaseAll(nil)
            throw error
        }
    }

    /// True when every lease still holds its locks (asked of their keeper, not only remembered).
    static func allHeld(_ leases: [any StateLease]) async -> Bool {
        for lease in leases where await !lease.verify() { return false }
        return true
    }

    /// The scopes a run with `options` covers: the named sites, or every site of the configuration and the state (and
    /// the account scope when something account-wide is in either).
    func scopes(_ input: ApplyInput, options: PlanOptions) async throws -> Set<StateScope> {
        if !options.sites.isEmpty { return Set(options.sites.map(StateScope.site)) }
        return Set(runs: input.resources.lazy.map(\.scope)).union(try await store.scopes())
    }

    /// Refreshes and plans against `snap`, recording the serial of every locked scope the plan covers; returns the plan
    /// and the providers that refreshed it.
    func makePlan(_ input: ApplyInput, options: PlanOptions, snap: StateSnapshot, locked: Set<StateScope>) async throws
        -> (Plan, [String: any Provider]) {
        let options = try input.options(options, snap)
        let names = Set(input.resources.map(\.provider)).union(snap.records.values.map(\.provider)).union(snap.pending.values.map(\.provider))
        let providers = try input.providers(names)
        let engine = Engine(providers: providers)
        let handlers = try await store.pendingHandlers()
        let before = input.requestCounts()
        var plan = try await engine.plan(desired: input.resources, state: snap.records, lineage: snap.lineage, serial: snap.serial,
                                         options: options, pendingHandlers: handlers, pendingCreates: snap.pending)
            .withAPICalls(since: before, now: input.requestCounts())
        for scope in locked.union(plan.scopes) { plan.stateSerials[scope.key] = snap.serial(of: scope) }
        plan.environment = input.environment
        return (plan, providers)
    }

    /// Refuses a saved plan made against another state, or when a scope it covers moved since.
    static func check(_ saved: Plan, against snap: StateSnapshot) throws {
        guard saved.stateLineage == snap.lineage else {
            throw OttoError("plan.stale", "the plan was made against a different state (lineage \(saved.stateLineage), this state is \(snap.lineage)); run `otto plan` again")
        }
        if saved.stateSerials.isEmpty {
            guard saved.stateSerial == snap.serial else {
                throw OttoError("plan.stale", "the state changed since the plan was made (serial \(saved.stateSerial), now \(snap.serial)); run `otto plan` again")
            }
            return
        }
        for (key, serial) in saved.stateSerials.sorted(by: { $0.key < $1.key }) {
            guard let scope = StateScope(key: key) else { continue }
            let now = snap.serial(of: scope)
            guard now == serial else {
                throw OttoError("plan.stale", "the state changed since the plan was made (\(scope): serial \(serial), now \(now)); run `otto plan` again")
            }
        }
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
