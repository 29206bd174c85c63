/// Where finished site walks are kept, per site (the state database implements it: `SQLiteStateStore`, `PostgresStateStore`).
///
/// Every call is synchronous and may block on disk or on another process's transaction, so long-running callers
/// (the walk scheduler, the HTTP server) run it off Swift's cooperative thread pool. Errors are `OttoError`s with
/// codes `state.read` / `state.write` / `state.corrupt`.
public protocol WalkHistoryStore: AnyObject, Sendable {
    /// Stores a finished walk in one transaction and returns its id (increasing). When `keepLast` is given, the
    /// site's older walks beyond the newest `keepLast` are deleted in the same transaction.
    func recordWalk(_ report: WalkReport, keepLast: Int?) throws -> Int64

    /// The newest walks without their pages, newest first: of one site, or of every site when `site` is nil.
    func recentWalks(site: String?, limit: Int) throws -> [WalkSummary]

    /// The ids of a site's walks, newest first.
    func walkIDs(site: String, limit: Int) throws -> [Int64]

    /// A site's newest walk with its pages, or nil when it has none.
    func lastWalk(site: String) throws -> WalkReport?

    /// One walk with its pages, or nil when there is no walk `id`.
    func walk(id: Int64) throws -> WalkReport?

    /// Keeps the newest `keepLast` walks of `site` (of every site when nil) and deletes the rest; returns how
    /// many walks were deleted.
    @discardableResult
    func pruneWalks(keepLast: Int, site: String?) throws -> Int
}

/// History defaults.
public enum WalkHistory {
    /// Walks kept per site unless told otherwise.
    public static let defaultKeep = 50
}

/// Where walkers scheduled over HTTP (`PUT /site/walk/{site}/walker`) are kept, so they survive a restart of
/// `otto serve` (the state database implements it). Calls block on disk or the network: run them off the cooperative pool.
public protocol WalkerStore: Sendable {
    /// Every stored walker, by site.
    func storedWalkers() throws -> [String: WalkSpec]
    /// Stores (or replaces) the walker of `site`.
    func storeWalker(site: String, _ spec: WalkSpec) throws
    /// Forgets the walker of `site` (nothing when there is none).
    func removeStoredWalker(site: String) throws
}

extension WalkSpec {
    /// Where a walker made over HTTP is said to come from.
    public static func apiLocation(site: String) -> SourceLocation {
        SourceLocation(file: "api:/site/walk/\(site)", line: 1, column: 1)
    }
}
