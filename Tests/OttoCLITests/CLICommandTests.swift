import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// The smaller commands, through the real binary.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct CLICommandTests {
    @Test func interruptLetsInFlightFinishAndRecordsThem() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML(extra: 800))
        let child = try await p.start("apply", "--auto-approve", "--parallelism", "2")
        try await p.waitForState("resources", atLeast: 20)
        child.kill(SIGINT)
        #expect(await child.waitForExit() == 1)
        let recorded = await p.stateCount("resources")
        #expect(recorded >= 20 && recorded < 806)
        #expect(await p.stateCount("locks") == 0)                   // a clean stop releases the lock
        #expect(await p.stateCount("runs WHERE outcome = 'interrupted'") == 1)
        // Everything recorded exists, so the next plan creates only the rest.
        let plan = try await p.otto("plan")
        #expect(plan.stdout.contains("Plan: \(806 - recorded) to create, 0 to update, 0 to replace, 0 to delete; \(recorded) unchanged."), "\(plan.stdout.suffix(300))")
    }

    @Test func stateImportAdoptsAndRmForgets() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        #expect(try await p.api("POST", "/api/v1/servers/localhost/zones", #"{"name":"demo.test.","kind":"Native","nameservers":[]}"#).stdout.hasSuffix("201"))
        let wrong = try await p.otto("state", "import", "dns_zone.demo", "nope.test.")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("no dns_zone with id nope.test."))
        let ok = try await p.otto("state", "import", "dns_zone.demo", "demo.test.")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try await p.otto("state", "list").stdout == "dns_zone.demo\n")
        let show = try await p.otto("state", "show", "dns_zone.demo").stdout
        #expect(show.contains("provider id: demo.test."))
        #expect(show.contains("name = \"demo.test.\""))
        #expect(try await p.otto("state", "import", "dns_zone.demo", "demo.test.").stderr.contains("already in the state"))
        // The imported zone is not created again; the records are.
        let plan = try await p.otto("plan").stdout
        #expect(plan.contains("Plan: 5 to create"))
        #expect(!plan.contains("+ dns_zone.demo"))
        #expect(try await p.otto("state", "rm", "dns_zone.demo").status == 0)
        #expect(try await p.otto("state", "list").stdout.isEmpty)
        #expect(try await p.api("GET", "/api/v1/servers/localhost/zones/demo.test.").stdout.hasSuffix("200"))
    }

    @Test func validateReportsCycleWithEveryEdge() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", """
            site: demo
            domain: demo.test
            dns:
              provider: powerdns
              records:
                - { name: a, type: A, value: 10.213.0.1, depends_on: [dns_record.demo.b.A] }
                - { name: b, type: A, value: 10.213.0.2, depends_on: [dns_record.demo.a.A] }
            """)
        let r = try await p.otto("validate")
        #expect(r.status == 1)
        #expect(r.stderr.contains("dependency cycle: dns_record.demo.a.A → dns_record.demo.b.A → dns_record.demo.a.A"))
        #expect(r.stderr.contains("sites/demo.yml:6:"))
        #expect(r.stderr.contains("sites/demo.yml:7:"))
        let graph = try await p.otto("graph")
        #expect(graph.status == 1)
    }

    @Test func graphAndJSONPlan() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        let dot = try await p.otto("graph").stdout
        #expect(dot.contains("\"dns_record.demo.www.CNAME\" -> \"dns_zone.demo\";"))
        let json = try await p.otto("plan", "--json").stdout
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let changes = try #require(obj["changes"] as? [[String: Any]])
        #expect(changes.count == 6)
        #expect(changes.allSatisfy { $0["action"] as? String == "create" })
        #expect(!json.contains(pdns.apiKey))
        // The API's shapes (docs/api.md): a Plan, then one RunEvent per line and the RunOutcome as "summary".
        #expect((obj["counts"] as? [String: Int])?["create"] == 6 && obj["has_changes"] as? Bool == true)
        let apply = try await p.otto("apply", "--auto-approve", "--json")
        #expect(apply.status == 0, "\(apply.stderr)")
        let lines = try apply.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let events = lines.dropLast()
        #expect(events.map { $0["seq"] as? Int } == (1...events.count).map { $0 })
        #expect(events.filter { $0["type"] as? String == "finished" }.count == 6)
        #expect(events.allSatisfy { Set($0.keys) == ["seq", "at", "type", "address", "action", "message", "seconds"] })
        let summary = try #require(lines.last)
        #expect(summary["type"] as? String == "summary" && summary["created"] as? Int == 6 && summary["ok"] as? Bool == true)
    }
}

@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct ProviderFilterTests {
    @Test func providersLimitTheRunAndNothingOutsideIsTakenForAnOrphan() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        // A static host that does not answer (nothing listens on loopback port 1).
        try p.write("inventory/hosts.yml", "hosts:\n  ghost: { address: 127.0.0.1, port: 1, groups: [boxes] }\n")
        try p.write("sites/s.yml", "site: s\ndomain: s.test\nprovider: static\nmachines:\n  boxes: { count: 1 }\n"
                    + "files: [ { on: boxes, path: /tmp/otto-never-written, content: x } ]\n")
        let plan = try await p.otto("plan", "--providers", "powerdns")
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("Plan: 6 to create") && !plan.stdout.contains("machine.s") && !plan.stdout.contains("file.s"))
        let apply = try await p.otto("apply", "--auto-approve", "--providers", "powerdns")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(try await pdns.dig("www.demo.test", "CNAME") == ["demo.test."])
        // Without the filter the unreachable static host fails its part.
        #expect(try await p.otto("apply", "--auto-approve").status == 1)
        // The DNS site leaves the configuration: a run limited to `static` must not delete its records.
        try FileManager.default.removeItem(atPath: p.dir + "/sites/demo.yml")
        let other = try await p.otto("plan", "--providers", "static")
        #expect(!other.stdout.contains("dns_"), "\(other.stdout)")
        #expect(try await p.otto("plan", "--providers", "nosuch").stderr.contains("no provider named `nosuch`"))
    }
}
