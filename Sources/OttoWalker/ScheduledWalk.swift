import OttoCore

/// A site's walker as `WalkScheduler.scheduled()` reports it.
public struct ScheduledWalk: Sendable, Hashable {
    /// The site.
    public var site: String
    /// Time between the starts of two walks.
    public var every: Duration
    /// What each walk crawls.
    public var configuration: WalkConfiguration
    /// Who scheduled it: `config` (the site's `walk:`) or `api` (`PUT /site/walk/{site}`), as given to `schedule`.
    public var source: String
    /// True while a walk of the site runs.
    public var running: Bool
    /// Time until the next walk starts (zero when it is due, nil while one runs).
    public var nextRunIn: Duration?
    /// Walks finished since it was scheduled (failed ones included).
    public var runs: Int
    /// The history id of its last stored walk.
    public var lastWalkID: Int64?
    /// Why its last walk failed or could not be stored, when it did.
    public var lastError: String?
}

/// What the scheduler reports as walks end (for logs and metrics).
public enum WalkSchedulerEvent: Sendable {
    /// A walk ended and was stored under `id`.
    case finished(WalkReport, id: Int64)
    /// A walk of `site` could not run or could not be stored.
    case failed(site: String, error: String)
}
