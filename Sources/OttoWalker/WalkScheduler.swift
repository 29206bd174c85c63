import Foundation
import OttoCore

/// Runs site walks on their interval, and keeps their results in a `WalkHistoryStore`.
///
/// Each site has at most one walker (its schedule: interval and `WalkConfiguration`), added or replaced with
/// `schedule` and removed with `remove`, at any time (from the site's `walk:` at start-up, from
/// `PUT/DELETE /site/walk/{site}` later). Guarantees:
/// - a site never has two walks at once: a walk still running when its site is replaced finishes (and is stored)
///   before one with the new settings starts; one running when its site is removed is cancelled and not stored,
///   and a walk of a site re-added meanwhile waits for it to end;
/// - at most `maxConcurrentWalks` walks run at once (the rest wait their turn, earliest due first);
/// - the next walk of a site starts `every` after the previous one started (right after it ended, when it took longer);
/// - every finished walk is recorded with `recordWalk(_:keepLast:)`, so each site keeps its newest `keepWalks`.
///   Store calls block, so they run on a dedicated dispatch queue, never on the cooperative pool.
///
/// Lifecycle: nothing runs until `run()` is awaited (typically a child task of `otto serve`); it returns after
/// `shutdown(cancelInFlight:)`, or when its task is cancelled (in-flight walks are then cancelled). Time comes from
/// the injected `WalkClock`.
public actor WalkScheduler {
    /// Runs one walk (default: `SiteWalker().walk`). Errors are recorded as the site's `lastError`.
    public typealias Walk = @Sendable (_ site: String, _ configuration: WalkConfiguration) async throws -> WalkReport

    private struct Slot {
        var every: Duration
        var configuration: WalkConfiguration
        var source: String
        var nextRun: Duration
        var task: Task<Void, Never>?
        var startedAt: Duration = .zero
        /// Changed by `schedule` while a walk runs: the walk ending does not move `nextRun`.
        var replacedWhileRunning = false
        var runs = 0
        var lastWalkID: Int64?
        var lastError: String?
    }

    private let history: any WalkHistoryStore
    private let keepWalks: Int
    private let maxConcurrentWalks: Int
    private let clock: any WalkClock
    private let walk: Walk
    private let turns: (any WalkTurns)?
    private let events: (@Sendable (WalkSchedulerEvent) -> Void)?
    private let storeQueue = DispatchQueue(label: "otto.walk-history")

    private var slots: [String: Slot] = [:]
    /// Walks of removed sites that have not ended yet.
    private var draining: [String: Task<Void, Never>] = [:]
    private var stopping = false
    private var runStarted = false
    private var wakeup: CheckedContinuation<Void, Never>?
    private var wakeToken = 0
    private var timer: Task<Void, Never>?

    /// Creates a scheduler.
    /// - Parameters:
    ///   - history: where finished walks are recorded.
    ///   - keepWalks: walks kept per site (older ones are pruned as new ones are recorded).
    ///   - maxConcurrentWalks: walks running at once, all sites together.
    ///   - clock: the time source (tests pass a manual one).
    ///   - events: told about every walk that ended or failed (called on the scheduler's actor; keep it short).
    ///   - turns: asked before each walk whether this process walks the site now (replicas of `otto serve` sharing a
    ///     state take turns); nil: every walk that falls due runs.
    ///   - walk: runs one walk.
    public init(history: any WalkHistoryStore, keepWalks: Int = WalkHistory.defaultKeep, maxConcurrentWalks: Int = 4,
                clock: any WalkClock = ContinuousWalkClock(), events: (@Sendable (WalkSchedulerEvent) -> Void)? = nil,
                turns: (any WalkTurns)? = nil,
                walk: @escaping Walk = { site, configuration in try await SiteWalker().walk(site: site, configuration: configuration) }) {
        self.history = history
        self.keepWalks = max(1, keepWalks)
        self.maxConcurrentWalks = max(1, maxConcurrentWalks)
        self.clock = clock
        self.events = events
        self.turns = turns
        self.walk = walk
    }

    // MARK: Walkers

    /// Adds the walker of `site`, or replaces its interval and configuration. The first walk (with the new settings)
    /// starts `firstRunIn` from now; for a site whose walk is running, once that walk ended.
    ///
    /// - Throws: `OttoError` `walk.params` when `every` is not positive or the start URL is not an absolute http(s)
    ///   URL; `walk.stopped` after `shutdown`.
    public func schedule(site: String, every: Duration, configuration: WalkConfiguration, source: String = "config",
                         firstRunIn: Duration = .zero) throws {
        guard !stopping else { throw OttoError("walk.stopped", "the walk scheduler is shutting down; \(site) was not scheduled", causeText: nil) }
        guard every > .zero else {
            throw OttoError("walk.params", "the walk interval of site \(site) must be more than 0", causeText: nil)
        }
        guard WalkURL(configuration.start) != nil else {
            throw OttoError("walk.params", "the walk of site \(site) cannot start from `\(configuration.start)`: it is not an absolute http or https URL",
                            causeText: nil)
        }
        let due = clock.now() + max(.zero, firstRunIn)
        if var slot = slots[site] {
            slot.every = every
            slot.configuration = configuration
            slot.source = source
            slot.nextRun = due
            slot.replacedWhileRunning = slot.task != nil
            slots[site] = slot
        } else {
            slots[site] = Slot(every: every, configuration: configuration, source: source, nextRun: due)
        }
        poke()
    }

    /// Removes the walker of `site`, cancelling its running walk (which is then not stored). Returns false when the
    /// site had no walker.
    @discardableResult
    public func remove(site: String) -> Bool {
        guard let slot = slots.removeValue(forKey: site) else { return false }
        if let task = slot.task {
            task.cancel()
            draining[site] = task
        }
        poke()
        return true
    }

    /// Starts a walk of `site` now (or as soon as its running walk ended and a walk slot is free); false when the
    /// site has no walker. With `turns`, the walk still needs its turn (another replica may have walked the site less
    /// than an interval ago).
    @discardableResult
    public func walkNow(site: String) -> Bool {
        guard slots[site] != nil else { return false }
        slots[site]!.nextRun = clock.now()
        if slots[site]!.task != nil { slots[site]!.replacedWhileRunning = true }
        poke()
        return true
    }

    /// Every walker, by site name.
    public func scheduled() -> [ScheduledWalk] {
        let now = clock.now()
        return slots.keys.sorted().map { site in
            let slot = slots[site]!
            return ScheduledWalk(site: site, every: slot.every, configuration: slot.configuration, source: slot.source,
                                 running: slot.task != nil, nextRunIn: slot.task == nil ? max(.zero, slot.nextRun - now) : nil,
                                 runs: slot.runs, lastWalkID: slot.lastWalkID, lastError: slot.lastError)
        }
    }

    // MARK: Running

    /// Runs walks as they fall due until `shutdown` is called (then waits for the walks in flight, or cancels them as
    /// asked) or the calling task is cancelled (then cancels the walks in flight). Call it once.
    public func run() async {
        guard !runStarted else { return }
        runStarted = true
        await withTaskCancellationHandler {
            while !stopping {
                startDueWalks()
                await sleepUntilDueOrPoked()
            }
            await waitForWalks()
        } onCancel: {
            Task { await self.shutdown(cancelInFlight: true) }
        }
    }

    /// Stops starting walks, and returns once no walk runs any more: walks in flight finish (and are stored), or,
    /// with `cancelInFlight`, are cancelled (and not stored). Later `schedule` calls fail with `walk.stopped`.
    public func shutdown(cancelInFlight: Bool = false) async {
        stopping = true
        if cancelInFlight {
            for slot in slots.values { slot.task?.cancel() }
            for task in draining.values { task.cancel() }
        }
        poke()
        await waitForWalks()
    }

    private func waitForWalks() async {
        while true {
            let tasks = slots.values.compactMap(\.task) + Array(draining.values)
            guard !tasks.isEmpty else { return }
            for task in tasks { await task.value }
        }
    }

    private func startDueWalks() {
        let now = clock.now()
        var running = slots.values.filter { $0.task != nil }.count
        let due = slots.filter { $0.value.task == nil && $0.value.nextRun <= now && draining[$0.key] == nil }
            .sorted { ($0.value.nextRun, $0.key) < ($1.value.nextRun, $1.key) }
        for (site, _) in due where running < maxConcurrentWalks {
            start(site, now: now)
            running += 1
        }
    }

    private func start(_ site: String, now: Duration) {
        guard var slot = slots[site] else { return }
        let configuration = slot.configuration
        let walk = self.walk
        let history = self.history
        let keep = self.keepWalks
        let queue = self.storeQueue
        let turns = self.turns
        let every = slot.every
        slot.startedAt = now
        slot.replacedWhileRunning = false
        slot.task = Task {
            var finish: (@Sendable (Bool) async -> Void)?
            if let turns {
                switch await turns.take(site: site, every: every) {
                case .mine(let done): finish = done
                case .notYet(let wait):
                    self.walkEnded(site: site, .skipped(retryIn: wait))
                    return
                }
            }
            let outcome: Result<WalkReport, any Error>
            do {
                var report = try await walk(site, configuration)
                if Task.isCancelled { throw CancellationError() }
                report.id = try await Self.record(report, in: history, keeping: keep, on: queue)
                outcome = .success(report)
            } catch {
                outcome = .failure(error)
            }
            if let finish { await finish((try? outcome.get()) != nil) }
            self.walkEnded(site: site, .walked(outcome))
        }
        slots[site] = slot
    }

    /// Runs the blocking store call on `queue` (not on the cooperative pool).
    private static func record(_ report: WalkReport, in history: any WalkHistoryStore, keeping keep: Int,
                               on queue: DispatchQueue) async throws -> Int64 {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try history.recordWalk(report, keepLast: keep) }) }
        }
    }

    /// How a walk's task ended: it walked (and recorded the walk, or failed), or `turns` said another process walks the
    /// site this time (ask again after `retryIn`).
    private enum Ending {
        case walked(Result<WalkReport, any Error>)
        case skipped(retryIn: Duration)
    }

    private func walkEnded(site: String, _ ending: Ending) {
        if let task = draining[site], slots[site]?.task != task {
            // A removed site's walk (the site may have been scheduled again meanwhile): nothing is recorded for it.
            draining[site] = nil
            poke()
            return
        }
        guard var slot = slots[site] else { return }
        slot.task = nil
        switch ending {
        case .walked(let outcome):
            slot.runs += 1
            switch outcome {
            case .success(let report):
                slot.lastWalkID = report.id
                slot.lastError = nil
                if let id = report.id { events?(.finished(report, id: id)) }
            case .failure(let error):
                if !(error is CancellationError) {
                    slot.lastError = "\(error)"
                    events?(.failed(site: site, error: "\(error)"))
                }
            }
            if !slot.replacedWhileRunning { slot.nextRun = max(slot.startedAt + slot.every, clock.now()) }
        case .skipped(let wait):
            if !slot.replacedWhileRunning { slot.nextRun = clock.now() + max(wait, .milliseconds(10)) }
        }
        slot.replacedWhileRunning = false
        slots[site] = slot
        poke()
    }

    /// Waits until the earliest walk falls due (when a walk slot is free) or `poke()` is called.
    private func sleepUntilDueOrPoked() async {
        let running = slots.values.filter { $0.task != nil }.count
        let deadline = running < maxConcurrentWalks
            ? slots.filter { $0.value.task == nil && draining[$0.key] == nil }.map(\.value.nextRun).min() : nil
        if let deadline, deadline <= clock.now() { return }
        wakeToken += 1
        let token = wakeToken
        await withCheckedContinuation { continuation in
            wakeup = continuation
            if let deadline {
                let clock = self.clock
                timer = Task {
                    try? await clock.sleep(until: deadline)
                    self.timerFired(token)
                }
            }
        }
    }

    private func timerFired(_ token: Int) {
        if token == wakeToken { poke() }
    }

    /// Wakes `run()` to look at the walkers again.
    private func poke() {
        timer?.cancel()
        timer = nil
        if let waiting = wakeup {
            wakeup = nil
            waiting.resume()
        }
    }
}
