import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// `otto walk` through the real binary, against a real nginx.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct WalkCLITests {
    static let site = [
        "index.html": #"<html><body><a href="/about.html">about</a> <a href="/missing.html">missing</a></body></html>"#,
        "about.html": #"<html><body><a href="/">home</a></body></html>"#,
    ]

    @Test func walksWhatTheStateKnowsPrintsTheTableRecordsHistoryAndFailsOnBrokenLinks() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let nginx = try await NginxServer.start(files: Self.site)
        defer { nginx.stop() }
        let p = try CLIProject(pdns: pdns)
        let base = "http://www.shop.test:\(nginx.port)"
        // shop.test resolves nowhere; otto's state will know it as 127.0.0.1 (and www as a CNAME to it) after the apply.
        try p.write("sites/shop.yml", """
            site: shop
            domain: shop.test
            dns:
              provider: powerdns
              records:
                - { name: "@", type: A, value: 127.0.0.1 }
                - { name: www, type: CNAME, value: shop.test. }
            walk: { depth: 2, start: "\(base)/" }
            """)
        let apply = try await p.otto("apply", "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")

        let walk = try await p.otto("walk", "shop")
        #expect(walk.status == 1, "\(walk.stdout)\(walk.stderr)")
        let out = walk.stdout
        #expect(out.contains("Pinned www.shop.test → 127.0.0.1 (dns_record.shop.@.A in otto's state)"), "\(out)")
        #expect(out.contains("STATUS     MS      SIZE  URL\n"))
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("200 ") && $0.hasSuffix("  \(base)/") })
        #expect(lines.contains { $0.hasPrefix("200 ") && $0.hasSuffix("  \(base)/about.html") })
        #expect(lines.contains { $0.hasPrefix("404 ") && $0.hasSuffix("  \(base)/missing.html") })
        #expect(out.contains("BROKEN LINKS (1)\n  \(base)/missing.html\n      404; found on: \(base)/\n"), "\(out)")
        #expect(out.contains("Walked \(base)/: 3 URLs in"))
        #expect(out.contains("1 broken; recorded as walk 1."))
        #expect(await p.stateCount("walks") == 1)
        #expect(await p.stateCount("walk_pages WHERE walk_id = 1") == 3)
        #expect(nginx.requests().contains("GET /missing.html 404"))

        // --json: the stored report.
        let json = try await p.otto("walk", "shop", "--json")
        #expect(json.status == 1)
        struct Report: Decodable {
            struct Broken: Decodable { var url: String; var status: Int?; var foundOn: [String] }
            struct Page: Decodable { var url: String; var status: Int?; var links: [String] }
            var id: Int
            var site: String
            var broken: [Broken]
            var pages: [Page]
            var resolve: [String]
        }
        let report = try JSONDecoder().decode(Report.self, from: Data(json.stdout.utf8))
        #expect(report.id == 2 && report.site == "shop")
        #expect(report.broken.map(\.url) == ["\(base)/missing.html"] && report.broken.first?.foundOn == ["\(base)/"])
        #expect(report.pages.first?.links == ["\(base)/about.html", "\(base)/missing.html"])
        #expect(report.resolve.contains("www.shop.test:\(nginx.port):127.0.0.1"))

        // Fixed: exit 0.
        try "<html>here now</html>".write(toFile: nginx.root + "/missing.html", atomically: true, encoding: .utf8)
        let fixed = try await p.otto("walk", "shop")
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        #expect(fixed.stdout.contains("No broken links."))
        // Options override the site's settings.
        let shallow = try await p.otto("walk", "shop", "--depth", "0", "--max-pages", "5")
        #expect(shallow.status == 0)
        #expect(shallow.stdout.contains(": 1 URL in"))
        #expect(await p.stateCount("walks") == 4)

        let unknown = try await p.otto("walk", "nosuch")
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("there is no site `nosuch` in sites/ (sites: shop)"))
        let badResolve = try await p.otto("walk", "shop", "--resolve", "shop.test:80")
        #expect(badResolve.status != 0 && badResolve.stderr.contains("HOST:PORT:ADDRESS"))
        #expect(try await p.otto("walk", "--help").stdout.contains("1 when the walk found broken links"))
    }

    @Test func fallsBackToTheWebMachineInTheState() async throws {
        let nginx = try await NginxServer.start(files: Self.site.merging(["missing.html": "<html></html>"]) { a, _ in a })
        defer { nginx.stop() }
        let p = try CLIProject(inventory: "hosts:\n  web1: { address: 127.0.0.1, groups: [web] }\n", environment: [:])
        try p.write("sites/shop.yml", """
            site: shop
            domain: shop.test
            provider: static
            machines:
              web: { count: 1 }
            nginx: { on: web }
            walk: { start: "http://shop.test:\(nginx.port)/" }
            """)
        // What an apply records for the machine (otto's state as an operator could edit it); the site has no DNS records.
        #expect(try await p.otto("state", "list").status == 0)
        let insert = try await runProcess(["sqlite3", p.dir + "/.otto/state.db", """
            INSERT INTO resources (address, kind, provider, provider_id, attributes, dependencies, updated_at)
            VALUES ('machine.shop.web[0]', 'machine', 'static', 'web1', '{"address":"127.0.0.1","ipv4":"127.0.0.1"}', '[]', 0)
            """])
        #expect(insert.status == 0, "\(insert.stderr)")
        let walk = try await p.otto("walk", "shop")
        #expect(walk.status == 0, "\(walk.stdout)\(walk.stderr)")
        #expect(walk.stdout.contains("Pinned shop.test → 127.0.0.1 (machine.shop.web[0] in otto's state)"))
        #expect(walk.stdout.contains("No broken links."))
    }
}
