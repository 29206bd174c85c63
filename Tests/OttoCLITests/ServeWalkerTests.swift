import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Walkers scheduled over HTTP are kept in the state, so a restarted `otto serve` schedules them again.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct ServeWalkerTests {
    @Test func walkersMadeOverTheAPISurviveARestart() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try ServeCLITests.project(pdns)
        let first = try await ServeProcess.start(p, interval: "off")
        let put = try await first.send("PUT", "/site/walk/demo?params=every=10m;depth=1;max_pages=5")
        #expect(put.status == 200, "\(put.body)")
        #expect(await first.stop() == 0)

        let second = try await ServeProcess.start(p, interval: "off")
        let listed = try await second.get("/site/walk/demo/")
        #expect(listed.status == 200, "\(listed.body)")
        let walkers = try #require(try JSONSerialization.jsonObject(with: Data(listed.body.utf8)) as? [String: Any])["walkers"] as? [[String: Any]]
        let api = walkers?.filter { $0["source"] as? String == "api" } ?? []
        #expect(api.count == 1, "\(listed.body)")
        #expect(listed.body.contains("\"depth\":1"), "\(listed.body)")
        let deleted = try await second.send("DELETE", "/site/walk/demo")
        #expect(deleted.status == 204, "\(deleted.body)")
        #expect(await second.stop() == 0)

        let third = try await ServeProcess.start(p, interval: "off")
        defer { third.terminate() }
        let after = try await third.get("/site/walk/demo/")
        #expect(!after.body.contains("\"source\":\"api\""), "\(after.body)")
    }
}
