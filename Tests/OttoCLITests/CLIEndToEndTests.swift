import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Through the real binary against a real PowerDNS started for each test.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct CLIEndToEndTests {
    @Test func applyConvergesDriftIsCorrectedAndDestroyRemovesOnlyOurs() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        // A zone someone else manages, on the same server: otto must never touch it.
        #expect(try await p.api("POST", "/api/v1/servers/localhost/zones", #"{"name":"other.test.","kind":"Native","nameservers":[]}"#).stdout.hasSuffix("201"))

        let apply = try await p.otto("apply", "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("6 created"))
        #expect(try await pdns.dig("demo.test", "A").sorted() == ["10.213.0.10", "10.213.0.11"])
        #expect(try await pdns.dig("www.demo.test", "CNAME") == ["demo.test."])
        #expect(try await pdns.dig("demo.test", "MX") == ["10 mail.demo.test."])
        #expect(try await pdns.dig("demo.test", "TXT") == ["\"v=spf1 -all\""])
        #expect(try await pdns.dig("v6.demo.test", "AAAA") == ["2001:db8::1"])

        // Converged: a second plan has nothing to do.
        var plan = try await p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(plan.stdout.contains("No changes"))
        // Bulk observation: the zone list and one read of the zone serve the zone and all its records.
        #expect(plan.stdout.contains("with 2 API calls (powerdns: 2)"), "\(plan.stdout)")

        // An edit in YAML is an update, and applies.
        try p.write("sites/demo.yml", siteYAML(wwwTarget: "web.demo.test."))
        plan = try await p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("~ dns_record.demo.www.CNAME"))
        #expect(plan.stdout.contains("records: [\"demo.test.\"] → [\"web.demo.test.\"]"))
        #expect(plan.stdout.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete"))
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        #expect(try await pdns.dig("www.demo.test", "CNAME") == ["web.demo.test."])

        // A change behind otto's back is drift, and is put back.
        let patch = #"{"rrsets":[{"name":"demo.test.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"10.213.0.99","disabled":false}]}]}"#
        #expect(try await p.api("PATCH", "/api/v1/servers/localhost/zones/demo.test.", patch).stdout.hasSuffix("204"))
        plan = try await p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("dns_record.demo.@.A"))
        #expect(plan.stdout.contains("changed outside otto"))
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        #expect(try await pdns.dig("demo.test", "A").sorted() == ["10.213.0.10", "10.213.0.11"])
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)

        // A record deleted behind otto's back is recreated.
        let del = #"{"rrsets":[{"name":"v6.demo.test.","type":"AAAA","changetype":"DELETE"}]}"#
        #expect(try await p.api("PATCH", "/api/v1/servers/localhost/zones/demo.test.", del).stdout.hasSuffix("204"))
        plan = try await p.otto("plan")
        #expect(plan.stdout.contains("+ dns_record.demo.v6.AAAA"))
        #expect(plan.stdout.contains("deleted outside otto"))
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        #expect(try await pdns.dig("v6.demo.test", "AAAA") == ["2001:db8::1"])

        // Destroy removes what otto made and nothing else.
        let destroy = try await p.otto("destroy", "--auto-approve")
        #expect(destroy.status == 0, "\(destroy.stdout)\n\(destroy.stderr)")
        #expect(destroy.stdout.contains("6 deleted"))
        let zones = try await p.api("GET", "/api/v1/servers/localhost/zones").stdout
        #expect(!zones.contains("\"demo.test.\""))
        #expect(zones.contains("\"other.test.\""))
        #expect(try await p.otto("state", "list").stdout.isEmpty)
    }

    @Test func applyWithoutTerminalRefusesWithoutAutoApprove() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        let r = try await p.otto("apply")
        #expect(r.status == 1)
        #expect(r.stderr.contains("--auto-approve"))
        #expect(try await pdns.dig("demo.test", "A").isEmpty)
    }

    @Test func savedPlanIsAppliedExactlyAndRefusedOnceStale() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        #expect(try await p.otto("plan", "-out", p.dir + "/first.plan").status == 0)
        #expect(try await p.otto("plan", "-out", p.dir + "/second.plan").status == 0)
        // The YAML changes after the plan was saved: the saved plan still applies exactly what it said.
        try p.write("sites/demo.yml", siteYAML(wwwTarget: "changed.demo.test."))
        let first = try await p.otto("apply", p.dir + "/first.plan")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try await pdns.dig("www.demo.test", "CNAME") == ["demo.test."])
        // The state moved on: the other saved plan is refused and changes nothing.
        let second = try await p.otto("apply", p.dir + "/second.plan")
        #expect(second.status == 1)
        #expect(second.stderr.contains("the state changed since the plan was made"))
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 2)
    }

    @Test func concurrentApplyFailsAtOnceNamingTheHolder() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML(extra: 600))
        let first = try await p.start("apply", "--auto-approve", "--parallelism", "1")
        defer { first.kill(SIGKILL) }
        try await p.waitForState("locks", atLeast: 1, seconds: 5)
        #expect(await p.stateCount("locks") == 1)
        let t0 = Date()
        let second = try await p.otto("apply", "--auto-approve")
        #expect(Date().timeIntervalSince(t0) < 5)
        #expect(second.status == 1)
        #expect(second.stderr.contains("locked by `otto apply`"))
        #expect(second.stderr.contains("pid \(first.pid)"))
        #expect(await first.waitForExit() == 0)
    }

    @Test func applyKilledMidRunLeavesCorrectStateAndRecovers() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML(extra: 800))
        let child = try await p.start("apply", "--auto-approve", "--parallelism", "2")
        try await p.waitForState("resources", atLeast: 30)
        child.kill(SIGKILL)
        await child.waitForExit()
        let recorded = await p.stateCount("resources")
        #expect(recorded >= 30 && recorded < 806, "killed too late to test anything: \(recorded)")

        // The state reopens, and everything it records really exists.
        let listed = try await p.otto("state", "list")
        #expect(listed.status == 0)
        let addresses = listed.stdout.split(separator: "\n").map(String.init)
        #expect(addresses.count == recorded)
        let zone = try await p.api("GET", "/api/v1/servers/localhost/zones/demo.test.").stdout
        for a in addresses where a.hasPrefix("dns_record.demo.h") {
            let host = a.split(separator: ".")[2]
            #expect(zone.contains("\"name\": \"\(host).demo.test.\"") || zone.contains("\"name\":\"\(host).demo.test.\""), "\(a) is in state but not in PowerDNS")
        }

        // The dead holder's lock died with it (only its row is left): the next apply needs no force-unlock and converges.
        #expect(await p.stateCount("locks") >= 1)
        let again = try await p.otto("apply", "--auto-approve")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(await p.stateCount("resources") == 806)
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)
    }

    @Test func badConfigurationIsReportedWithPositionsAndChangesNothing() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", """
            site: demo
            domain: demo.test
            dns:
              provider: powerdns
              records:
                - { name: www, type: CNAME, valeu: demo.test. }
                - { name: api, type: A, value: 300.1.1.1 }
            """)
        let r = try await p.otto("plan")
        #expect(r.status == 1)
        #expect(r.stderr.contains("sites/demo.yml:6:"))
        #expect(r.stderr.contains("sites/demo.yml:7:"))
        #expect(!r.stderr.contains("Fatal error"))
        #expect(await p.stateCount("resources") <= 0)
    }
}
