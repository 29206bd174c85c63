import Foundation

/// How a release ended (or that it has not yet).
public enum ReleaseResult: String, Sendable, Hashable, Codable, CaseIterable {
    /// Appended, not finished yet (a deploy in progress, or one whose process died).
    case started
    /// Every machine runs it and it passed its checks: it serves.
    case succeeded
    /// It never took traffic (its health check never passed, a step failed): the previous release kept serving.
    case failed
    /// It took traffic, then traffic was moved back to the previous release (automatic rollback).
    case rolledBack = "rolled_back"
}

/// What a deploy gives to start a release: the ledger adds the number, the start result and nothing else.
public struct NewRelease: Sendable, Hashable {
    /// The site declaring the app.
    public var site: String
    /// The app's name.
    public var app: String
    /// The version being released.
    public var version: String
    /// The sha256 (lowercase hex) of the bundle.
    public var digest: String
    /// Who released it: `user@host` for the CLI, `api:<token name>` over the API.
    public var actor: String
    /// When it started.
    public var started: Date
    /// The machines it goes to, by name.
    public var hosts: [String]
    /// Why (`version 1.2.0 in sites/demo.yml`, `otto rollback`, ...); may be empty.
    public var reason: String
    /// The release this one rolls back to, for a rollback (a rollback is a new release: history is never rewritten).
    public var rollbackOf: Int?

    /// Creates the start of a release.
    public init(site: String, app: String, version: String, digest: String, actor: String, started: Date = Date(),
                hosts: [String], reason: String = "", rollbackOf: Int? = nil) {
        self.site = site
        self.app = app
        self.version = version
        self.digest = digest
        self.actor = actor
        self.started = started
        self.hosts = hosts
        self.reason = reason
        self.rollbackOf = rollbackOf
    }
}

/// One row of the release ledger: a release of an app of a site, numbered from 1 per (site, app).
///
/// JSON (`otto releases --json` and `GET /v1/apps/{app}/releases`, the `Release` of openapi.yaml), every key written:
/// `{"site", "app", "number", "version", "digest", "actor", "started", "finished", "result", "hosts", "reason",
/// "rollback_of"}`, times in ISO 8601 UTC with milliseconds, `finished` and `rollback_of` null when they do not apply.
public struct ReleaseRecord: Sendable, Hashable, Codable {
    /// The site declaring the app.
    public var site: String
    /// The app's name.
    public var app: String
    /// The release number, from 1 per (site, app), without gaps.
    public var number: Int
    /// The version released.
    public var version: String
    /// The sha256 (lowercase hex) of the bundle.
    public var digest: String
    /// Who released it (`user@host`, `api:<token name>`).
    public var actor: String
    /// When it started.
    public var started: Date
    /// When it finished; nil while `result` is `started`.
    public var finished: Date?
    /// How it ended.
    public var result: ReleaseResult
    /// The machines it went to, by name.
    public var hosts: [String]
    /// Why it was made, then why it ended as it did when the finish gave a reason.
    public var reason: String
    /// The release it rolled back to, for a rollback.
    public var rollbackOf: Int?

    /// Creates a record.
    public init(site: String, app: String, number: Int, version: String, digest: String, actor: String, started: Date,
                finished: Date? = nil, result: ReleaseResult = .started, hosts: [String], reason: String = "",
                rollbackOf: Int? = nil) {
        self.site = site
        self.app = app
        self.number = number
        self.version = version
        self.digest = digest
        self.actor = actor
        self.started = started
        self.finished = finished
        self.result = result
        self.hosts = hosts
        self.reason = reason
        self.rollbackOf = rollbackOf
    }

    /// How long it took (nil while it runs).
    public var duration: TimeInterval? { finished.map { $0.timeIntervalSince(started) } }

    enum CodingKeys: String, CodingKey {
        case site, app, number, version, digest, actor, started, finished, result, hosts, reason
        case rollbackOf = "rollback_of"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(site, forKey: .site)
        try c.encode(app, forKey: .app)
        try c.encode(number, forKey: .number)
        try c.encode(version, forKey: .version)
        try c.encode(digest, forKey: .digest)
        try c.encode(actor, forKey: .actor)
        try c.encode(ISO8601.string(started), forKey: .started)
        if let finished { try c.encode(ISO8601.string(finished), forKey: .finished) } else { try c.encodeNil(forKey: .finished) }
        try c.encode(result, forKey: .result)
        try c.encode(hosts, forKey: .hosts)
        try c.encode(reason, forKey: .reason)
        if let rollbackOf { try c.encode(rollbackOf, forKey: .rollbackOf) } else { try c.encodeNil(forKey: .rollbackOf) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let d = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return d
        }
        site = try c.decode(String.self, forKey: .site)
        app = try c.decode(String.self, forKey: .app)
        number = try c.decode(Int.self, forKey: .number)
        version = try c.decode(String.self, forKey: .version)
        digest = try c.decode(String.self, forKey: .digest)
        actor = try c.decode(String.self, forKey: .actor)
        guard let s = try date(.started) else {
            throw DecodingError.keyNotFound(CodingKeys.started, .init(codingPath: c.codingPath, debugDescription: "started is null"))
        }
        started = s
        finished = try date(.finished)
        result = try c.decode(ReleaseResult.self, forKey: .result)
        hosts = try c.decode([String].self, forKey: .hosts)
        reason = try c.decode(String.self, forKey: .reason)
        rollbackOf = try c.decodeIfPresent(Int.self, forKey: .rollbackOf)
    }
}

/// The releases of one app, newest first: what `otto releases APP --json` prints and `GET /v1/apps/{app}/releases`
/// answers (`ReleaseList` in openapi.yaml): `{"app", "releases": [Release, ...]}`.
public struct ReleaseList: Sendable, Hashable, Codable {
    /// The app's name.
    public var app: String
    /// Its releases (of one site, or of every site declaring it), newest first.
    public var releases: [ReleaseRecord]

    /// Creates a list.
    public init(app: String, releases: [ReleaseRecord]) {
        self.app = app
        self.releases = releases
    }
}

/// The release ledger: append-only rows, one per release of an app of a site (the state database implements it:
/// `SQLiteStateStore`, `PostgresStateStore`).
///
/// Every call is async and never blocks Swift's cooperative pool. Errors are `OttoError`s: `state.read` /
/// `state.write` when the database fails, `state.release` when a finish is refused (no such release, finished already,
/// or `started` given as the result).
public protocol ReleaseLedger: Sendable {
    /// Appends a release with the next number of its (site, app), from 1, allocated in the same transaction as the
    /// insert (concurrent appenders, in this process or another, never get the same number); its result is `started`.
    func appendRelease(_ release: NewRelease) async throws -> ReleaseRecord

    /// Sets how release `number` of (`site`, `app`) ended: `finished`, `result` (not `started`) and `reason` (replacing
    /// the start's reason when not nil), once. Finishing a release a second time fails with `state.release`.
    @discardableResult
    func finishRelease(site: String, app: String, number: Int, result: ReleaseResult, finished: Date, reason: String?) async throws
        -> ReleaseRecord

    /// The newest `limit` releases of `app` newest first: of one site (by number), or of every site when `site` is nil
    /// (by start time).
    func releases(site: String?, app: String, limit: Int) async throws -> [ReleaseRecord]

    /// The release of (`site`, `app`) with the highest number whose result is `result` (any result when nil); nil
    /// when there is none.
    func latestRelease(site: String, app: String, result: ReleaseResult?) async throws -> ReleaseRecord?
}

extension ReleaseLedger {
    /// The newest release of (`site`, `app`), whatever its result.
    public func latestRelease(site: String, app: String) async throws -> ReleaseRecord? {
        try await latestRelease(site: site, app: app, result: nil)
    }
}
