import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// Walk history in the state database (SQLite's migration v4-walks, PostgreSQL's v2-walks-and-api-items), on both
/// backends.
@Suite struct WalkHistoryTests {
    static func report(site: String, pages: Int, broken: Int = 0, at seconds: Double = 1_800_000_000) -> WalkReport {
        let base = "http://\(site).test"
        var list = (0..<pages).map { i in
            WalkPage(url: "\(base)/p\(i).html", depth: min(i, 1), kind: .page, method: "GET", status: 200, timeMs: 1.25, size: 100 + i,
                     contentType: "text/html", links: i == 0 ? (1..<pages).map { "\(base)/p\($0).html" } : [])
        }
        for i in 0..<broken {
            list.append(WalkPage(url: "\(base)/gone\(i)", depth: 1, kind: .resource, method: "HEAD", status: 404, timeMs: 0.5, size: 0,
                                 redirects: [WalkRedirect(url: "\(base)/old\(i)", status: 301, location: "\(base)/gone\(i)")]))
        }
        list.append(WalkPage(url: "http://nope.invalid/", depth: 1, kind: .external, method: "HEAD", status: nil, timeMs: 0, size: 0,
                             error: WalkError(code: "dns", message: "Could not resolve host: nope.invalid")))
        let brokenLinks = list.filter(\.isBroken).map { WalkBrokenLink(url: $0.url, status: $0.status, error: $0.error, foundOn: ["\(base)/p0.html"]) }
        return WalkReport(site: site, start: base + "/", startedAt: Date(timeIntervalSince1970: seconds),
                          finishedAt: Date(timeIntervalSince1970: seconds + 0.5), depth: 2, maxPages: 100, pages: list, broken: brokenLinks,
                          truncated: pages > 3, requests: list.count + 1, connections: 2, resolve: ["\(site).test:80:127.0.0.1"])
    }

    @Test(arguments: StoreBackend.allCases)
    func recordsAndReadsBackWholeWalks(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any WalkHistoryStore
        #expect(try store.lastWalk(site: "shop") == nil)
        #expect(try store.walk(id: 1) == nil)
        let original = Self.report(site: "shop", pages: 4, broken: 2)
        let id = try store.recordWalk(original, keepLast: nil)
        var expected = original
        expected.id = id
        let read = try #require(try store.walk(id: id))
        #expect(read.pages == expected.pages)
        #expect(read.broken == expected.broken)
        #expect(abs(read.startedAt.timeIntervalSince(expected.startedAt)) < 1e-6)
        #expect(read.id == id && read.site == "shop" && read.truncated && read.requests == original.requests && read.resolve == original.resolve)
        #expect(try store.lastWalk(site: "shop")?.id == id)
        // A new process reads the same history.
        let reopened = try await fixture.reopen() as! any WalkHistoryStore
        #expect(try reopened.walk(id: id)?.pages.count == 7)
    }

    @Test(arguments: StoreBackend.allCases)
    func listsRecentWalksPerSiteAndAcrossSites(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any WalkHistoryStore
        var ids: [String: [Int64]] = [:]
        for i in 0..<3 {
            for site in ["shop", "blog"] {
                ids[site, default: []].append(try store.recordWalk(Self.report(site: site, pages: 2, broken: i, at: 1_800_000_000 + Double(i)), keepLast: nil))
            }
        }
        #expect(try store.walkIDs(site: "shop", limit: 10) == ids["shop"]!.reversed())
        #expect(try store.walkIDs(site: "shop", limit: 2) == Array(ids["shop"]!.reversed().prefix(2)))
        #expect(try store.walkIDs(site: "nope", limit: 10) == [])
        let recent = try store.recentWalks(site: nil, limit: 4)
        #expect(recent.map(\.id) == [ids["blog"]![2], ids["shop"]![2], ids["blog"]![1], ids["shop"]![1]])
        #expect(recent[0].pageCount == 5 && recent[0].brokenCount == 3 && recent[0].broken.count == 3)
        #expect(try store.recentWalks(site: "blog", limit: 10).map(\.site) == ["blog", "blog", "blog"])
        #expect(try store.lastWalk(site: "blog")?.id == ids["blog"]![2])
    }

    @Test(arguments: StoreBackend.allCases)
    func prunesToTheNewestWalksPerSiteWithTheirPages(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any WalkHistoryStore
        for _ in 0..<5 { _ = try store.recordWalk(Self.report(site: "shop", pages: 3), keepLast: nil) }
        for _ in 0..<2 { _ = try store.recordWalk(Self.report(site: "blog", pages: 3), keepLast: nil) }
        // Recording with keepLast prunes that site only, in the same transaction.
        let newest = try store.recordWalk(Self.report(site: "shop", pages: 3), keepLast: 3)
        #expect(try store.walkIDs(site: "shop", limit: 100).count == 3)
        #expect(try store.walkIDs(site: "shop", limit: 100).first == newest)
        #expect(try store.walkIDs(site: "blog", limit: 100).count == 2)
        #expect(try store.pruneWalks(keepLast: 1, site: nil) == 3)
        #expect(try store.walkIDs(site: "shop", limit: 100) == [newest])
        #expect(try store.walkIDs(site: "blog", limit: 100).count == 1)
        // The pages of pruned walks are gone too (ON DELETE CASCADE).
        #expect(try await fixture.integer("SELECT count(*) FROM walk_pages") == 8)
        #expect(try await fixture.integer("SELECT count(*) FROM walks") == 2)
        #expect(try store.pruneWalks(keepLast: 1, site: "shop") == 0)
    }
}
