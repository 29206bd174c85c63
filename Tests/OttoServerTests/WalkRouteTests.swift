import Foundation
import HTTPTypes
import OttoServer
import Testing

@Suite struct WalkRouteTests {
    static func report(_ id: String, site: String, at: TimeInterval) -> WalkReport {
        WalkReport(summary: WalkSummary(id: id, site: site, startedAt: Date(timeIntervalSince1970: at),
                                        finishedAt: Date(timeIntervalSince1970: at + 2), pages: 2, broken: 1, seconds: 2),
                   pages: [WalkPage(url: "http://blog.test/", status: 200, milliseconds: 3.5, bytes: 512, links: ["http://blog.test/x"]),
                           WalkPage(url: "http://blog.test/x", status: 404, milliseconds: 1, bytes: 0)],
                   brokenLinks: [BrokenLink(url: "http://blog.test/x", status: 404, foundOn: ["http://blog.test/"])])
    }

    @Test func history() async throws {
        let f = try ServerFixture()
        f.walks.add(Self.report("w1", site: "blog", at: 1000))
        f.walks.add(Self.report("w2", site: "blog", at: 2000))
        try await f.withClient { c in
            var r = try await c.get("/site/walk/")
            #expect(r.status == .ok)
            #expect((r.object["walks"] as? [[String: Any]])?.map { $0["id"] as? String } == ["w2", "w1"])
            r = try await c.get("/site/walk/blog/")
            #expect(r.status == .ok)
            #expect(r.object["walk_ids"] as? [String] == ["w2", "w1"])
            #expect((r.object["last"] as? [String: Any])?["id"] as? String == "w2")
            r = try await c.get("/site/walk/blog/w1")
            #expect(r.status == .ok)
            #expect((r.object["pages"] as? [[String: Any]])?.count == 2)
            #expect((r.object["broken_links"] as? [[String: Any]])?.first?["found_on"] as? [String] == ["http://blog.test/"])
            r = try await c.get("/site/walk/blog/w9")
            #expect(r.status == .notFound)
            r = try await c.get("/site/walk/nosuch/")
            #expect(r.status == .notFound)
            r = try await c.get("/site/walk/shop/")
            #expect(r.object["last"] is NSNull)
        }
    }

    @Test func scheduleAndUnschedule() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.put("/site/walk/blog?params=every%3D10m%3Bdepth%3D2%3Ballow%3Dcdn.blog.test,img.blog.test")
            #expect(r.status == .ok)
            #expect(r.object["every"] as? String == "10m")
            #expect(r.object["depth"] as? Int == 2)
            #expect(r.object["max_pages"] as? Int == 1000)
            #expect(r.object["allow"] as? [String] == ["cdn.blog.test", "img.blog.test"])
            #expect(r.object["start"] as? String == "http://blog.test/")
            r = try await c.get("/site/walk/blog/")
            #expect((r.object["walkers"] as? [[String: Any]])?.count == 1)
            r = try await c.delete("/site/walk/blog")
            #expect(r.status == .noContent)
            r = try await c.delete("/site/walk/blog")
            #expect(r.status == .notFound)
            r = try await c.put("/site/walk/shop?params=every%3D1m")
            #expect(r.status == .conflict)
            #expect(r.errorMessage?.contains("sites/shop.yml:10:7") == true)
            r = try await c.delete("/site/walk/shop")
            #expect(r.status == .conflict)
            r = try await c.put("/site/walk/nosuch?params=every%3D1m")
            #expect(r.status == .notFound)
        }
    }

    @Test func badParams() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.put("/site/walk/blog?params=every%3Dsoon")
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("invalid duration \"soon\"") == true)
            r = try await c.put("/site/walk/blog?params=deep%3D3")
            #expect(r.errorMessage?.contains("unknown key `deep` in walk") == true, "\(r.text)")
            r = try await c.put("/site/walk/blog?params=depth%3D-1")
            #expect(r.errorMessage?.contains("depth must be at least 0") == true)
            r = try await c.put("/site/walk/blog?params=every%3D9999999999999999d9999999999h")
            #expect(r.status == .unprocessableContent)
            r = try await c.put("/site/walk/blog?params=depth")
            #expect(r.status == .unprocessableContent)
        }
    }
}
