import Foundation
import OttoCore
import OttoPlan

/// One difference a scheduled run found between what exists and the configuration.
public struct DriftItem: Sendable, Codable, Hashable {
    /// The resource.
    public var address: ResourceAddress
    /// What the plan wanted to do about it.
    public var action: Action
    /// The plan's reason (`.drift(["content_sha256"])`, `.deletedOutsideOtto`, ...).
    public var reason: ChangeReason
    /// The policy of the resource's site.
    public var policy: DriftPolicy
    /// True when this run applied the change and it succeeded.
    public var corrected: Bool
    /// The error, when applying it failed.
    public var error: String?

    /// True when the difference arose outside otto (not a configuration change otto has yet to apply).
    public var isDrift: Bool { reason.isDrift }
}

/// How one scheduled run ended.
public enum DriftOutcome: String, Sendable, Codable, Hashable {
    /// Refreshed and planned; every change it was allowed to apply succeeded (or there was nothing to do).
    case ok
    /// Loading the configuration, refreshing or applying failed; the service backs off.
    case failed
    /// Another otto held the state lock: nothing was done this time.
    case busy
}

/// The record of one scheduled refresh → plan → (policy) apply.
public struct DriftRun: Sendable, Codable, Hashable {
    /// The id of the run in the state's run history, when it was recorded there.
    public var runID: Int64?
    /// When it started.
    public var started: Date
    /// How long it took, in seconds.
    public var seconds: Double
    /// How it ended.
    public var outcome: DriftOutcome
    /// Every difference found, corrected or only reported.
    public var items: [DriftItem]
    /// What went wrong (config errors, provider failures, the lock holder), when anything did.
    public var message: String?
    /// The refresh: time and API calls per provider.
    public var refresh: RefreshSummary?
    /// The site the run covered, when it covered one site (replicas sharing a PostgreSQL state run sites one at a time).
    public var site: String?

    /// Differences that arose outside otto.
    public var driftFound: Int { items.filter(\.isDrift).count }
    /// Differences this run put back.
    public var corrected: Int { items.filter(\.corrected).count }
    /// One line for logs and the run history.
    public var summary: String {
        switch outcome {
        case .busy: return "skipped: \(message ?? "the state is locked")"
        case .failed where items.isEmpty: return "failed: \(message ?? "unknown error")"
        default:
            let reported = items.filter { $0.policy == .report }.count
            var text = "\(items.count) difference\(items.count == 1 ? "" : "s") (\(driftFound) drift), \(corrected) corrected"
            if reported > 0 { text += ", \(reported) reported only" }
            let failed = items.filter { $0.error != nil }.count
            if failed > 0 { text += ", \(failed) failed" }
            return text
        }
    }
}
