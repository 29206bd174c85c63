import Foundation
import OttoCore

/// When each site's scheduled drift run is due, kept in the state so that several `otto serve` replicas share the work
/// with no leader: each polls for due sites nobody holds, takes one (its lock), runs it, sets its next due time and
/// gives it back. Times are the database server's clock, never a replica's own.
public protocol SiteScheduleStore: Sendable {
    /// The database server's clock, in seconds since 1970.
    func databaseNow() async throws -> Double

    /// Of `sites`, those due now by the database's clock (never run, or their next due time has passed) whose lock no
    /// one holds, the most overdue first, at most `limit`; with each, the failures in a row of its last runs.
    func dueSites(_ sites: [String], limit: Int) async throws -> [(site: String, failures: Int)]

    /// Records how a run of `site` by `replica` ended and makes it due again `after` from the database's now; `failed`
    /// counts a failure in a row (else the count goes back to 0). Refused (`state.fenced`) when this store held the site
    /// and lost it: its new holder sets the schedule.
    func scheduleSite(_ site: String, after: Duration, replica: String, outcome: String, failed: Bool) async throws

    /// Every site's schedule, by site name.
    func siteSchedules() async throws -> [SiteSchedule]
}

/// One site's schedule, for the status page and the API.
public struct SiteSchedule: Sendable, Codable, Hashable {
    /// The site.
    public var site: String
    /// When its next scheduled run is due (database clock); nil before its first run.
    public var nextDue: Date?
    /// The replica (`HOST/PID`) that ran it last.
    public var lastReplica: String?
    /// When that run ended.
    public var lastRun: Date?
    /// How it ended (`ok`, `failed`).
    public var lastOutcome: String?
    /// Failed runs in a row.
    public var failures: Int
    /// The replica holding its lock now, if any.
    public var heldBy: String?

    /// Creates a schedule row.
    public init(site: String, nextDue: Date?, lastReplica: String?, lastRun: Date?, lastOutcome: String?, failures: Int, heldBy: String?) {
        self.site = site
        self.nextDue = nextDue
        self.lastReplica = lastReplica
        self.lastRun = lastRun
        self.lastOutcome = lastOutcome
        self.failures = failures
        self.heldBy = heldBy
    }
}

/// Whose turn it is to walk a site, when several `otto serve` replicas share one state: each keeps every walker, and
/// before a walk asks the state; one replica walks a site per interval, by the database's clock, never two at once.
public protocol WalkTurnStore: Sendable {
    /// Takes the walk of `site` for this process when it is due by the database's clock and nobody walks it: the
    /// scope `StateScope.walk(site)` is then held, and the site falls due again `every` from now. Otherwise
    /// `.notYet`, with when to ask again.
    func takeWalk(site: String, every: Duration, replica: String) async throws -> WalkTurnGrant

    /// Records how a walk taken with `takeWalk` ended (`ok`, `failed`) and gives its lock back.
    func finishWalk(site: String, lease: any StateLease, outcome: String) async
}

/// The answer of `WalkTurnStore.takeWalk`.
public enum WalkTurnGrant: Sendable {
    /// This process walks the site now; hand the lease to `finishWalk` when the walk ended.
    case granted(any StateLease)
    /// Another replica walks it, or walked it less than an interval ago: ask again after this long.
    case notYet(Duration)
}
