import Foundation
import OttoCore
import OttoState
import OttoTestSupport
import OttoTestTags
import Testing

/// `otto releases APP`: the release ledger on the command line, on a state whose rows the test writes through the store.
@Suite struct ReleasesCLITests {
    static func project() throws -> CLIProject {
        let p = try CLIProject(inventory: "providers: {}\n", environment: [:])
        try p.write("apps/hello/server.py", "print('hello')\n")
        try p.write("sites/demo.yml", """
            site: demo
            domain: demo.test
            provider: local
            machines:
              web: { count: 2 }
            apps:
              - { name: hello, on: web, version: "1.2.0", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 8080 }
              - { name: quiet, on: web, version: "1", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 9000 }
            """)
        try p.write("sites/shop.yml", """
            site: shop
            domain: shop.test
            provider: local
            machines:
              web: {}
            apps:
              - { name: hello, on: web, version: "9", bundle: apps/hello, run: { exec: "python3 server.py" }, port: 8080 }
            """)
        return p
    }

    static func rows(_ p: CLIProject) async throws {
        let store = try SQLiteStateStore(path: p.dir + "/.otto/state.db")
        let digest = "0123456789abcdef" + String(repeating: "e", count: 48)
        func append(_ site: String, _ version: String, at: TimeInterval, _ result: ReleaseResult?, after: TimeInterval = 0,
                    reason: String? = nil, rollbackOf: Int? = nil) async throws {
            let r = try await store.appendRelease(NewRelease(site: site, app: "hello", version: version, digest: digest, actor: "ops@laptop",
                                                             started: Date(timeIntervalSince1970: at), hosts: ["\(site)-web-0", "\(site)-web-1"],
                                                             reason: "version \(version)", rollbackOf: rollbackOf))
            if let result {
                try await store.finishRelease(site: site, app: "hello", number: r.number, result: result,
                                              finished: Date(timeIntervalSince1970: at + after), reason: reason)
            }
        }
        try await append("demo", "1.0.0", at: 1_764_756_000, .succeeded, after: 42.5)
        try await append("demo", "1.1.0", at: 1_764_759_600, .rolledBack, after: 125, reason: "5xx rate 0.20 > 0.01")
        try await append("demo", "1.0.0", at: 1_764_759_730, .succeeded, after: 0.85, rollbackOf: 1)
        try await append("demo", "1.2.0", at: 1_764_763_200, nil)
        try await append("shop", "9", at: 1_764_766_800, .failed, after: 65)
    }

    @Test func tableNewestFirst() async throws {
        let p = try Self.project()
        try await Self.rows(p)
        let r = try await p.otto("releases", "hello", "--site", "demo")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
            #  VERSION  DIGEST        RESULT       STARTED                  DURATION  ACTOR       HOSTS                  REASON
            4  1.2.0    0123456789ab  started      2025-12-03 12:00:00 UTC  -         ops@laptop  demo-web-0,demo-web-1  version 1.2.0
            3  1.0.0    0123456789ab  succeeded    2025-12-03 11:02:10 UTC  850ms     ops@laptop  demo-web-0,demo-web-1  version 1.0.0
            2  1.1.0    0123456789ab  rolled_back  2025-12-03 11:00:00 UTC  2m05s     ops@laptop  demo-web-0,demo-web-1  5xx rate 0.20 > 0.01
            1  1.0.0    0123456789ab  succeeded    2025-12-03 10:00:00 UTC  42.5s     ops@laptop  demo-web-0,demo-web-1  version 1.0.0

            """)
        let limited = try await p.otto("releases", "hello", "--site", "demo", "--limit", "1")
        #expect(limited.stdout.split(separator: "\n").count == 2)
        // without --site: every site declaring the app, with a SITE column
        let all = try await p.otto("releases", "hello")
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == 6)
        #expect(lines.first?.hasPrefix("SITE  #  VERSION") == true)
        #expect(lines.dropFirst().first?.hasPrefix("shop  1  9 ") == true)
        #expect(lines.dropFirst().first?.contains("failed") == true && lines.dropFirst().first?.contains("1m05s") == true)
        let quiet = try await p.otto("releases", "quiet")
        #expect(quiet.status == 0 && quiet.stdout == "No releases of app quiet yet.\n")
    }

    @Test func jsonIsTheAPIShape() async throws {
        let p = try Self.project()
        try await Self.rows(p)
        let r = try await p.otto("releases", "hello", "--site", "demo", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        // exactly the ledger's rows in their one JSON shape (times to the millisecond)
        let store = try SQLiteStateStore(path: p.dir + "/.otto/state.db")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let expected = try encoder.encode(ReleaseList(app: "hello", releases: try await store.releases(site: "demo", app: "hello", limit: 20)))
        #expect(r.stdout == String(decoding: expected, as: UTF8.self) + "\n")
        let list = try JSONDecoder().decode(ReleaseList.self, from: Data(r.stdout.utf8))
        #expect(list.releases.map(\.version) == ["1.2.0", "1.0.0", "1.1.0", "1.0.0"])
        #expect(list.releases.map(\.result) == [.started, .succeeded, .rolledBack, .succeeded])
        #expect(list.releases.map(\.number) == [4, 3, 2, 1])
        #expect(list.releases[1].rollbackOf == 1 && list.releases[0].finished == nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let first = try #require((object["releases"] as? [[String: Any]])?.first)
        #expect(first["finished"] is NSNull && first["rollback_of"] is NSNull && first["started"] as? String == "2025-12-03T12:00:00.000Z")
    }

    /// `otto serve`'s status page: each app with its current, previous and latest release; the API answers the same rows.
    @Test(.tags(.liveServer)) func statusPageAndAPIShowReleases() async throws {
        let p = try Self.project()
        try await Self.rows(p)
        let serve = try await ServeProcess.start(p, interval: "off")
        defer { serve.terminate() }
        let page = try await serve.get("/")
        #expect(page.status == 200)
        let apps = try #require(page.body.components(separatedBy: "<section id=\"apps\">").dropFirst().first?.components(separatedBy: "</section>").first,
                                "\(page.body.prefix(2000))")
        // current: the newest that succeeded (#3), previous: the one that succeeded before it (#1, not the rolled back
        // #2), latest: the deploy in progress (#4)
        #expect(apps.contains("demo/hello</td><td>1.0.0 <span class=\"muted\">#3</span> <span class=\"badge ok\">succeeded</span><br><span class=\"muted\">2025-12-03 11:02:10 UTC</span></td>"
                              + "<td>1.0.0 <span class=\"muted\">#1</span> <span class=\"badge ok\">succeeded</span><br><span class=\"muted\">2025-12-03 10:00:00 UTC</span></td>"
                              + "<td>1.2.0 <span class=\"muted\">#4</span> <span class=\"badge warn\">started</span>"), "\(apps)")
        // a site whose only release failed: nothing serves
        #expect(apps.contains("shop/hello</td><td class=\"muted\">none</td><td class=\"muted\">none</td><td>9 <span class=\"muted\">#1</span> <span class=\"badge bad\">failed</span>"), "\(apps)")
        #expect(apps.contains("demo/quiet</td><td class=\"muted\">none</td><td class=\"muted\">none</td><td class=\"muted\">none</td>"), "\(apps)")
        let api = try await serve.get("/v1/apps/hello/releases?site=demo&limit=2")
        #expect(api.status == 200)
        let list = try JSONDecoder().decode(ReleaseList.self, from: Data(api.body.utf8))
        #expect(list.releases.map(\.number) == [4, 3])
        #expect(await serve.stop() == 0, "\(serve.log.suffix(2000))")
    }

    @Test func unknownAppOrSiteFails() async throws {
        let p = try Self.project()
        var r = try await p.otto("releases", "helo")
        #expect(r.status == 1)
        #expect(r.stderr.contains("no site declares an app `helo` (under `apps:` in sites/); did you mean `hello`?"), "\(r.stderr)")
        r = try await p.otto("releases", "quiet", "--site", "shop")
        #expect(r.status == 1 && r.stderr.contains("site `shop` declares no app `quiet`"), "\(r.stderr)")
        r = try await p.otto("releases", "hello", "--site", "shpo")
        #expect(r.status == 1 && r.stderr.contains("no site `shpo` is defined in sites/; did you mean `shop`?"), "\(r.stderr)")
        r = try await p.otto("releases", "hello", "--limit", "0")
        #expect(r.status != 0 && r.stderr.contains("--limit must be from 1 to 1000"), "\(r.stderr)")
    }

    /// `otto rollback` and `otto release` refuse what cannot be gone back to, with the reason, and write no pin.
    @Test func rollbackAndReleaseRefuseWithReasons() async throws {
        let p = try Self.project()
        try await Self.rows(p)
        // demo/hello: #1 1.0.0 succeeded, #2 1.1.0 rolled back, #3 1.0.0 succeeded (serving), #4 1.2.0 started
        var r = try await p.otto("rollback", "hello", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("app hello is declared by sites demo, shop; pass --site"), "\(r.stderr)")
        r = try await p.otto("rollback", "hello", "--site", "demo", "--to", "2", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("release 2 of app hello (1.1.0) rolled back: only a release that succeeded can be gone back to"), "\(r.stderr)")
        r = try await p.otto("rollback", "hello", "--site", "demo", "--to", "1", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("release 1 of app hello is the build serving now (release 3, 1.0.0)"), "\(r.stderr)")
        r = try await p.otto("rollback", "hello", "--site", "demo", "--to", "7", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("app hello has no release 7; `otto releases hello` lists them"), "\(r.stderr)")
        r = try await p.otto("rollback", "hello", "--site", "demo", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("has no earlier release that succeeded with another version or build than release 3 (1.0.0)"), "\(r.stderr)")
        r = try await p.otto("rollback", "hello", "--site", "shop", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("app hello has no release that succeeded yet"), "\(r.stderr)")
        r = try await p.otto("release", "hello", "1.1.0", "--site", "demo", "--auto-approve")
        #expect(r.status == 1 && r.stderr.contains("version 1.1.0 of app hello never succeeded here (the site says 1.2.0)"), "\(r.stderr)")
        // nothing was pinned
        let store = try SQLiteStateStore(path: p.dir + "/.otto/state.db")
        #expect(try store.apiItems().isEmpty)
    }
}
