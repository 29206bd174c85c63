import Foundation
import HTTPTypes
import OttoCore
import OttoServer
import OttoState
import OttoTestSupport
import Testing

/// `GET /v1/apps/{app}/releases`: the release ledger over the API, on both state backends.
@Suite struct ReleaseRouteTests {
    static let shop = """
        site: shop
        domain: shop.test
        provider: static
        machines:
          web: { count: 1 }
        apps:
          - { name: hello, on: web, version: "1.1.0", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 8080 }
          - { name: api, on: web, version: "3", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 9000 }
        """
    static let news = """
        site: news
        domain: news.test
        provider: local
        machines:
          app: {}
        apps:
          - { name: hello, on: app, version: "7", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 8080 }
        """

    static func fixture(_ backend: StoreBackend) async throws -> ServerFixture {
        try await ServerFixture.make(backend, sites: ["shop": shop, "news": news, "blog": TestProject.plainSite], files: ["apps/hello/server.py": "print()\n"])
    }

    static func append(_ store: any ReleaseLedger, _ site: String, _ app: String, _ version: String, at: TimeInterval,
                       finish: ReleaseResult? = nil) async throws {
        let r = try await store.appendRelease(NewRelease(site: site, app: app, version: version, digest: String(repeating: "c", count: 64),
                                                         actor: "api:ci", started: Date(timeIntervalSince1970: at),
                                                         hosts: ["\(site)-web-0"], reason: "deploy \(version)"))
        if let finish {
            try await store.finishRelease(site: site, app: app, number: r.number, result: finish,
                                          finished: Date(timeIntervalSince1970: at + 12), reason: nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func listsReleasesNewestFirst(_ backend: StoreBackend) async throws {
        let f = try await Self.fixture(backend)
        try await Self.append(f.store, "shop", "hello", "1.0.0", at: 1_000, finish: .succeeded)
        try await Self.append(f.store, "shop", "hello", "1.1.0", at: 2_000, finish: .rolledBack)
        try await Self.append(f.store, "news", "hello", "7", at: 3_000)
        try await Self.append(f.store, "shop", "api", "3", at: 4_000, finish: .failed)
        try await f.withClient { c in
            var r = try await c.get("/v1/apps/hello/releases?site=shop")
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(r.object["app"] as? String == "hello")
            var rows = r.object["releases"] as? [[String: Any]] ?? []
            #expect(rows.map { $0["number"] as? Int } == [2, 1])
            let newest = try #require(rows.first)
            #expect(Set(newest.keys) == ["site", "app", "number", "version", "digest", "actor", "started", "finished", "result", "hosts",
                                         "reason", "rollback_of"])
            #expect(newest["site"] as? String == "shop" && newest["version"] as? String == "1.1.0")
            #expect(newest["result"] as? String == "rolled_back" && newest["actor"] as? String == "api:ci")
            #expect(newest["started"] as? String == "1970-01-01T00:33:20.000Z" && newest["finished"] as? String == "1970-01-01T00:33:32.000Z")
            #expect(newest["hosts"] as? [String] == ["shop-web-0"] && newest["rollback_of"] is NSNull)
            // the same shape as `otto releases --json`: the ledger's own Codable type
            let decoded = try JSONDecoder().decode(ReleaseList.self, from: Data(r.text.utf8))
            #expect(decoded == ReleaseList(app: "hello", releases: try await f.store.releases(site: "shop", app: "hello", limit: 20)))

            r = try await c.get("/v1/apps/hello/releases")
            rows = r.object["releases"] as? [[String: Any]] ?? []
            #expect(rows.map { "\($0["site"] as? String ?? "")#\($0["number"] as? Int ?? 0)" } == ["news#1", "shop#2", "shop#1"])
            #expect(rows.first?["finished"] is NSNull && rows.first?["result"] as? String == "started")

            r = try await c.get("/v1/apps/hello/releases?limit=1")
            #expect((r.object["releases"] as? [[String: Any]])?.count == 1)
            r = try await c.get("/v1/apps/api/releases")
            #expect((r.object["releases"] as? [[String: Any]])?.first?["result"] as? String == "failed")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func unknownAppsSitesAndBadQueries(_ backend: StoreBackend) async throws {
        let f = try await Self.fixture(backend)
        try await f.withClient { c in
            var r = try await c.get("/v1/apps/helo/releases")
            #expect(r.status == .notFound && r.errorCode == "not_found")
            #expect(r.errorMessage == "no site declares an app `helo` (under `apps:` in sites/); did you mean `hello`?")
            r = try await c.get("/v1/apps/hello/releases?site=blog")
            #expect(r.status == .notFound && r.errorMessage == "site `blog` declares no app `hello`")
            r = try await c.get("/v1/apps/hello/releases?site=nosuch")
            #expect(r.status == .notFound && r.errorMessage?.hasPrefix("no site `nosuch` is defined in sites/") == true)
            r = try await c.get("/v1/apps/api/releases?site=news")
            #expect(r.status == .notFound)
            // declared but never released: an empty list
            r = try await c.get("/v1/apps/api/releases")
            #expect(r.status == .ok && (r.object["releases"] as? [Any])?.isEmpty == true)
            r = try await c.get("/v1/apps/hello/releases?limit=0")
            #expect(r.status == .badRequest && r.errorCode == "query.limit")
            r = try await c.get("/v1/apps/hello/releases?limit=1001")
            #expect(r.status == .badRequest && r.errorCode == "query.limit")
            r = try await c.get("/v1/apps/hello/releases?limit=many")
            #expect(r.status == .badRequest)
            r = try await c.get("/v1/apps/hello/releases?sites=shop")
            #expect(r.status == .badRequest && r.errorCode == "query.unknown")
            r = try await c.get("/v1/apps/hello/releases", as: .anonymous)
            #expect(r.status == .unauthorized)
            r = try await c.post("/v1/apps/hello/releases")
            #expect(r.status == .methodNotAllowed)
        }
    }
}
