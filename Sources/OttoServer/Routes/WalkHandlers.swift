import Hummingbird
import OttoCore

/// `/site/walk`: walk history and walkers, from the ``WalkService`` the CLI provides.
extension APIHandlers {
    /// How many walks `GET /site/walk/` lists.
    static let recentWalkLimit = 50

    /// The YAML site `name` (walks belong to sites defined in `sites/`), or 404.
    static func site(_ r: APIRequest) throws(APIError) -> SiteSummary {
        let name = try r.parameter("site")
        guard let site = r.environment.desired.snapshot.site(named: name) else {
            throw APIError.notFound("no site `\(name)` is defined in sites/")
        }
        return site
    }

    static func recentWalks(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let walks = try await call { try await r.environment.walks.recentWalks(limit: recentWalkLimit) }
        return Responses.json(.ok, .object([("walks", .array(walks.map(\.json)))]))
    }

    /// `{"site", "walk_ids": [...], "last": WalkReport | null, "walkers": [...]}`.
    static func siteWalks(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let site = try site(r)
        let walks = r.environment.walks
        let list = try await call { try await walks.walks(site: site.name) }
        let last = try await call { () async throws -> WalkReport? in
            guard let first = list.first else { return nil }
            return try await walks.walk(site: site.name, id: first.id)
        }
        let walkers = try await call { try await walks.walkers(site: site.name) }
        return Responses.json(.ok, .object([("site", .string(site.name)), ("walk_ids", .strings(list.map(\.id))),
                                           ("last", last?.json ?? .null), ("walkers", .array(walkers.map(\.json)))]))
    }

    static func oneWalk(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let site = try site(r)
        let id = try r.parameter("walkid")
        guard let report = try await call({ try await r.environment.walks.walk(site: site.name, id: id) }) else {
            throw APIError.notFound("site `\(site.name)` has no walk \(JSONQuoted(id))")
        }
        return Responses.json(.ok, report.json)
    }

    /// `PUT ?params=every=10m;depth=2;max_pages=200;allow=a.example,b.example;start=http://...`.
    static func scheduleWalks(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: ["params"])
        let site = try site(r)
        if let walk = site.walk {
            throw APIError.yamlOwned("the walk of site `\(site.name)`", at: walk.location)
        }
        let spec = try r.environment.desired.walkSpec(params: r.query["params"] ?? "", site: site.name, domain: site.domain)
        let walker = try await call { try await r.environment.walks.schedule(site: site.name, spec: spec) }
        return Responses.json(.ok, walker.json)
    }

    static func unscheduleWalks(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let site = try site(r)
        let removed = try await call { try await r.environment.walks.unschedule(site: site.name) }
        if removed > 0 { return Responses.noContent() }
        if let walk = site.walk { throw APIError.yamlOwned("the walk of site `\(site.name)`", at: walk.location) }
        throw APIError.notFound("site `\(site.name)` has no walkers scheduled over the API")
    }

    /// Runs a service call, mapping what it throws to an answer.
    static func call<T: Sendable>(_ body: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw APIError.from(error)
        }
    }
}
