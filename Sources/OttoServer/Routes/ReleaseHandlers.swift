import OttoCore

/// `/v1/apps/{app}/releases`: the release ledger, read from the state the CLI provides.
extension APIHandlers {
    /// How many releases `GET /v1/apps/{app}/releases` lists without `limit`.
    static let defaultReleaseLimit = 20

    /// `{"app", "releases": [Release, ...]}`, newest first: of the site `site` names, or of every site declaring the app.
    /// 404 when no YAML site declares it (or `site` does not); 400 `query.limit` for a limit outside 1...1000.
    func appReleases(_ input: Operations.appReleases.Input) async throws -> Operations.appReleases.Output {
        let app = input.path.app
        let limit = input.query.limit ?? Self.defaultReleaseLimit
        guard (1...1000).contains(limit) else {
            throw APIError.badRequest("query.limit", "limit must be from 1 to 1000, got \(limit)")
        }
        let sites = try desired.snapshot.releaseSites(app: app, site: input.query.site)
        let ledger = environment.releases
        let rows = try await Self.call { try await ledger.releases(site: sites.count == 1 ? sites[0] : nil, app: app, limit: limit) }
        return .ok(.init(body: .json(ReleaseList(app: app, releases: rows))))
    }
}
