import OttoCore

/// `/site/walk`: walk history and walkers, from the ``WalkService`` the CLI provides.
extension APIHandlers {
    /// How many walks `GET /site/walk/` lists.
    static let recentWalkLimit = 50

    /// The YAML site `name` (walks belong to sites defined in `sites/`), or 404.
    func site(_ name: String) throws(APIError) -> SiteSummary {
        guard let site = desired.snapshot.site(named: name) else {
            throw APIError.notFound("no site `\(name)` is defined in sites/")
        }
        return site
    }

    func recentWalks(_ input: Operations.recentWalks.Input) async throws -> Operations.recentWalks.Output {
        let walks = try await Self.call { try await environment.walks.recentWalks(limit: Self.recentWalkLimit) }
        return .ok(.init(body: .json(.object([("walks", .array(walks.map(\.json)))]))))
    }

    /// `{"site", "walk_ids": [...], "last": WalkReport | null, "walkers": [...]}`.
    func siteWalks(_ input: Operations.siteWalks.Input) async throws -> Operations.siteWalks.Output {
        let site = try site(input.path.site)
        let walks = environment.walks
        let list = try await Self.call { try await walks.walks(site: site.name) }
        let last = try await Self.call { () async throws -> WalkReport? in
            guard let first = list.first else { return nil }
            return try await walks.walk(site: site.name, id: first.id)
        }
        let walkers = try await Self.call { try await walks.walkers(site: site.name) }
        return .ok(.init(body: .json(.object([("site", .string(site.name)), ("walk_ids", .strings(list.map(\.id))),
                                              ("last", last?.json ?? .null), ("walkers", .array(walkers.map(\.json)))]))))
    }

    func getWalk(_ input: Operations.getWalk.Input) async throws -> Operations.getWalk.Output {
        let site = try site(input.path.site)
        let id = input.path.walkid
        guard let report = try await Self.call({ try await environment.walks.walk(site: site.name, id: id) }) else {
            throw APIError.notFound("site `\(site.name)` has no walk \(JSONQuoted(id))")
        }
        return .ok(.init(body: .json(report.json)))
    }

    /// `PUT ?params=every=10m;depth=2;max_pages=200;allow=a.example,b.example;start=http://...`.
    func scheduleWalks(_ input: Operations.scheduleWalks.Input) async throws -> Operations.scheduleWalks.Output {
        let site = try site(input.path.site)
        if let walk = site.walk {
            throw APIError.yamlOwned("the walk of site `\(site.name)`", at: walk.location)
        }
        let spec = try desired.walkSpec(params: input.query.params ?? "", site: site.name, domain: site.domain)
        let walker = try await Self.call { try await environment.walks.schedule(site: site.name, spec: spec) }
        return .ok(.init(body: .json(walker.json)))
    }

    func unscheduleWalks(_ input: Operations.unscheduleWalks.Input) async throws -> Operations.unscheduleWalks.Output {
        let site = try site(input.path.site)
        let removed = try await Self.call { try await environment.walks.unschedule(site: site.name) }
        if removed > 0 { return .noContent(.init()) }
        if let walk = site.walk { throw APIError.yamlOwned("the walk of site `\(site.name)`", at: walk.location) }
        throw APIError.notFound("site `\(site.name)` has no walkers scheduled over the API")
    }
}
