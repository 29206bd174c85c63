import CoreMetrics
import Foundation
import Logging
import OttoCore
import OttoState
import ServiceLifecycle

/// Scheduled drift correction shared by several `otto serve` replicas on one state, with no leader.
///
/// Every `poll`, a replica asks the state which sites are due by the database's clock and not locked by anyone
/// (`SiteScheduleStore.dueSites`), takes the most overdue one's lock (another replica may have taken it first: then it
/// asks again), runs refresh → plan → policy apply for that site only, sets the site's next due time (`interval` ±
/// `jitter`, doubling while its runs fail, up to `maxBackoff`) while still holding the lock, and gives it back. A replica
/// that dies frees its locks with its session, so its sites, still due, are taken by another replica at its next poll;
/// one that hangs or is cut off loses them after the lock session timeout and is fenced (`PostgresStateStore`).
public struct SiteDriftService: Service {
    /// Time between runs of one site.
    public var interval: Duration
    /// Fraction of `interval` each wait varies by, at random.
    public var jitter: Double
    /// Longest wait while a site's runs fail.
    public var maxBackoff: Duration
    /// How often an idle replica asks for due sites.
    public var poll: Duration
    /// This replica's name in the schedule (`HOST/PID`).
    public var replica: String
    private let schedule: any SiteScheduleStore
    private let load: @Sendable () async throws -> ReconcileInput
    private let reconciler: Reconciler
    private let history: DriftHistory
    private let metrics: DriftMetrics
    private let logger: Logger
    private let onRun: @Sendable (ReconcileResult) async -> Void

    /// Creates the service on `schedule` (the state's own store).
    public init(interval: Duration, jitter: Double = 0.1, maxBackoff: Duration = .seconds(3600), poll: Duration = .seconds(1),
                replica: String, schedule: any SiteScheduleStore, reconciler: Reconciler = Reconciler(), history: DriftHistory,
                metrics: DriftMetrics, logger: Logger, load: @escaping @Sendable () async throws -> ReconcileInput,
                onRun: @escaping @Sendable (ReconcileResult) async -> Void = { _ in }) {
        self.interval = interval
        self.jitter = min(max(jitter, 0), 0.5)
        self.maxBackoff = maxBackoff
        self.poll = poll
        self.replica = replica
        self.schedule = schedule
        self.load = load
        self.reconciler = reconciler
        self.history = history
        self.metrics = metrics
        self.logger = logger
        self.onRun = onRun
    }

    /// Runs until graceful shutdown (or cancellation); a run in flight finishes first.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let ran = await runNextDueSite()
            if ran { continue }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: poll) }
            } catch {
                break
            }
        }
    }

    /// Runs one due site, if there is one this replica can take; true when it ran one (so it asks again at once).
    func runNextDueSite() async -> Bool {
        let input: ReconcileInput
        let due: [(site: String, failures: Int)]
        do {
            input = try await load()
            let sites = Set(input.resources.compactMap(\.site)).union(try await input.store.scopes().compactMap {
                if case .site(let name) = $0 { return name } else { return nil }
            })
            due = try await schedule.dueSites(sites.sorted(), limit: 1)
        } catch {
            logger.error("scheduled runs: cannot read the configuration or the schedule: \(error)")
            return false
        }
        guard let next = due.first else { return false }
        let (interval, maxBackoff, jitter, replica, schedule, logger) = (interval, maxBackoff, jitter, replica, schedule, logger)
        let result = await reconciler.reconcile(input, sites: [next.site], afterRun: { result in
            let ok = result?.summary.ok ?? false
            let failures = ok ? 0 : next.failures + 1
            let wait = DriftService.wait(after: failures, interval: interval, maxBackoff: maxBackoff, jitter: jitter)
            do {
                try await schedule.scheduleSite(next.site, after: wait, replica: replica, outcome: ok ? "ok" : "failed", failed: !ok)
            } catch {
                logger.warning("could not set the next run of site \(next.site): \(error)")
            }
        })
        var run = result.run
        run.site = next.site
        // Another replica (or a person's apply) took it, or a scope the run needed, first: wait a poll before asking again,
        // so a scope held elsewhere does not make this loop spin.
        if run.outcome == .busy { return false }
        await history.add(run)
        await onRun(ReconcileResult(run: run, plan: result.plan, recorded: result.recorded))
        metrics.record(run, consecutiveFailures: run.outcome == .failed ? next.failures + 1 : 0)
        var metadata: Logger.Metadata = ["site": "\(next.site)", "outcome": "\(run.outcome.rawValue)",
                                         "seconds": "\(String(format: "%.2f", run.seconds))", "replica": "\(replica)"]
        if let id = run.runID { metadata["run"] = "\(id)" }
        if run.outcome == .failed {
            metadata["error"] = "\(run.message ?? "")"
            logger.error("scheduled run of site \(next.site) failed: \(run.summary)", metadata: metadata)
        } else {
            logger.info("scheduled run of site \(next.site): \(run.summary)", metadata: metadata)
        }
        return true
    }
}

/// The lock figures of a replica sharing a PostgreSQL state, for `/metrics`: `otto_sites_held`,
/// `otto_lock_handovers_total`, `otto_fenced_writes_total`, `otto_lock_sessions_lost_total`.
public struct LockMetrics: Sendable {
    private let held: Gauge
    private let handovers: Counter
    private let fenced: Counter
    private let lost: Counter

    /// Creates the metrics with `factory` (the process's bootstrapped one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        held = Gauge(label: "otto_sites_held", dimensions: [], factory: factory)
        handovers = Counter(label: "otto_lock_handovers_total", dimensions: [], factory: factory)
        fenced = Counter(label: "otto_fenced_writes_total", dimensions: [], factory: factory)
        lost = Counter(label: "otto_lock_sessions_lost_total", dimensions: [], factory: factory)
    }

    /// Records the store's figures: `held` now, and how much each count grew since `previous`.
    public func record(held now: Int, _ figures: PostgresLockCounters, since previous: PostgresLockCounters) {
        held.record(now)
        handovers.increment(by: max(0, figures.handovers - previous.handovers))
        fenced.increment(by: max(0, figures.fencedWrites - previous.fencedWrites))
        lost.increment(by: max(0, figures.sessionsLost - previous.sessionsLost))
    }
}
