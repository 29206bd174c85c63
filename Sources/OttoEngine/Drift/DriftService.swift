import Foundation
import Logging
import OttoCore
import ServiceLifecycle

/// The recent scheduled runs, newest first, for the status page and the API.
public actor DriftHistory {
    private var runs: [DriftRun] = []
    private let capacity: Int

    /// Keeps the last `capacity` runs.
    public init(capacity: Int = 50) { self.capacity = max(1, capacity) }

    /// Adds a run.
    public func add(_ run: DriftRun) {
        runs.insert(run, at: 0)
        if runs.count > capacity { runs.removeLast(runs.count - capacity) }
    }

    /// The recent runs, newest first.
    public func recent() -> [DriftRun] { runs }
}

/// Scheduled drift correction: every `interval` (± `jitter`), a `Reconciler` run on freshly loaded input. While runs
/// fail (a provider down, a broken configuration) the wait doubles up to `maxBackoff`; a run that found the state
/// locked is skipped without backing off. Runs never overlap (one loop, and the state lock against other ottos). On
/// graceful shutdown the run in flight finishes (an apply is never cut short) and no new one starts.
public struct DriftService: Service {
    /// Time between runs.
    public var interval: Duration
    /// Fraction of `interval` each wait varies by, at random (0.1: ±10 %), so many ottos do not run in step.
    public var jitter: Double
    /// Longest wait while runs fail.
    public var maxBackoff: Duration
    private let load: @Sendable () async throws -> ReconcileInput
    private let reconciler: Reconciler
    private let history: DriftHistory
    private let metrics: DriftMetrics
    private let logger: Logger
    private let sleep: @Sendable (Duration) async throws -> Void
    private let onRun: @Sendable (ReconcileResult) async -> Void

    /// Creates the service. `load` builds each run's input (configuration, providers, state); `onRun` sees each run with
    /// its plan (the status page); `sleep` waits between runs (tests pass a fast one).
    public init(interval: Duration, jitter: Double = 0.1, maxBackoff: Duration = .seconds(3600), reconciler: Reconciler = Reconciler(),
                history: DriftHistory, metrics: DriftMetrics, logger: Logger,
                load: @escaping @Sendable () async throws -> ReconcileInput,
                onRun: @escaping @Sendable (ReconcileResult) async -> Void = { _ in },
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.onRun = onRun
        self.interval = interval
        self.jitter = min(max(jitter, 0), 0.5)
        self.maxBackoff = maxBackoff
        self.load = load
        self.reconciler = reconciler
        self.history = history
        self.metrics = metrics
        self.logger = logger
        self.sleep = sleep
    }

    /// Runs until graceful shutdown (or cancellation).
    public func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let result = await runOnce()
            let run = result.run
            await history.add(run)
            await onRun(result)
            switch run.outcome {
            case .failed: failures += 1
            case .ok: failures = 0
            case .busy: break
            }
            metrics.record(run, consecutiveFailures: failures)
            log(run, failures: failures)
            let wait = Self.wait(after: failures, interval: interval, maxBackoff: maxBackoff, jitter: jitter)
            do {
                try await cancelWhenGracefulShutdown { try await sleep(wait) }
            } catch {
                break  // shutting down, or cancelled
            }
        }
    }

    /// One run with freshly loaded input; a load that fails is a failed run.
    func runOnce() async -> ReconcileResult {
        let input: ReconcileInput
        do {
            input = try await load()
        } catch {
            return ReconcileResult(run: DriftRun(started: Date(), seconds: 0, outcome: .failed, items: [], message: "\(error)"))
        }
        return await reconciler.reconcile(input)
    }

    /// The wait before the next run: `interval` after a success (or a skipped run), doubling with each consecutive
    /// failure up to `maxBackoff`; then ± `jitter`.
    static func wait(after failures: Int, interval: Duration, maxBackoff: Duration, jitter: Double) -> Duration {
        var base = interval
        if failures > 0 { base = min(maxBackoff, interval * (1 << min(failures, 20))) }
        let factor = 1 + Double.random(in: -jitter...jitter)
        let seconds = Double(base.components.seconds) + Double(base.components.attoseconds) / 1e18
        return .milliseconds(Int(max(0.01, seconds * factor) * 1000))
    }

    private func log(_ run: DriftRun, failures: Int) {
        var metadata: Logger.Metadata = [
            "outcome": "\(run.outcome.rawValue)", "seconds": "\(String(format: "%.2f", run.seconds))",
            "differences": "\(run.items.count)", "drift": "\(run.driftFound)", "corrected": "\(run.corrected)",
        ]
        if let id = run.runID { metadata["run"] = "\(id)" }
        if failures > 0 { metadata["consecutive_failures"] = "\(failures)" }
        for item in run.items where item.isDrift {
            logger.info("drift", metadata: ["address": "\(item.address)", "reason": "\(item.reason)",
                                            "policy": "\(item.policy.rawValue)", "corrected": "\(item.corrected)"])
        }
        switch run.outcome {
        case .ok: logger.info("scheduled run: \(run.summary)", metadata: metadata)
        case .busy: logger.notice("scheduled run skipped: \(run.message ?? "")", metadata: metadata)
        case .failed:
            metadata["error"] = "\(run.message ?? "")"
            logger.error("scheduled run failed: \(run.summary)", metadata: metadata)
        }
    }
}
