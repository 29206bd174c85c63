import CoreMetrics
import Foundation
import OttoCore


/// The drift-correction service's metrics, through swift-metrics (Prometheus names in `otto serve`):
/// `otto_drift_found_total`, `otto_drift_corrected_total`, `otto_drift_reported_total`, `otto_runs_total{outcome}`,
/// `otto_run_duration_seconds`, `otto_last_success_timestamp_seconds`, `otto_consecutive_failures`.
public struct DriftMetrics: Sendable {
    private let found: Counter
    private let corrected: Counter
    private let reported: Counter
    private let runsOK: Counter
    private let runsFailed: Counter
    private let runsBusy: Counter
    private let duration: CoreMetrics.Timer
    private let lastSuccess: Gauge
    private let failures: Gauge

    /// Creates the metrics with `factory` (the process's bootstrapped one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        found = Counter(label: "otto_drift_found_total", dimensions: [], factory: factory)
        corrected = Counter(label: "otto_drift_corrected_total", dimensions: [], factory: factory)
        reported = Counter(label: "otto_drift_reported_total", dimensions: [], factory: factory)
        runsOK = Counter(label: "otto_runs_total", dimensions: [("outcome", "ok")], factory: factory)
        runsFailed = Counter(label: "otto_runs_total", dimensions: [("outcome", "failed")], factory: factory)
        runsBusy = Counter(label: "otto_runs_total", dimensions: [("outcome", "busy")], factory: factory)
        duration = CoreMetrics.Timer(label: "otto_run_duration_seconds", dimensions: [], factory: factory)
        lastSuccess = Gauge(label: "otto_last_success_timestamp_seconds", dimensions: [], factory: factory)
        failures = Gauge(label: "otto_consecutive_failures", dimensions: [], factory: factory)
    }

    /// Records one run; `consecutiveFailures` is the count after it.
    public func record(_ run: DriftRun, consecutiveFailures: Int) {
        switch run.outcome {
        case .ok: runsOK.increment()
        case .failed: runsFailed.increment()
        case .busy: runsBusy.increment()
        }
        guard run.outcome != .busy else { return }
        found.increment(by: run.driftFound)
        corrected.increment(by: run.items.filter { $0.isDrift && $0.corrected }.count)
        reported.increment(by: run.items.filter { $0.isDrift && $0.policy == .report }.count)
        duration.recordNanoseconds(Int64(run.seconds * 1e9))
        if run.outcome == .ok { lastSuccess.record(run.started.addingTimeInterval(run.seconds).timeIntervalSince1970) }
        failures.record(consecutiveFailures)
    }
}
