import Foundation
import OttoTestSupport
import Testing

/// Through the real binary against a real PowerDNS started for each test.
@Suite(.serialized) struct CLIEndToEndTests {
    @Test func applyConvergesDriftIsCorrectedAndDestroyRemovesOnlyOurs() throws {
        let pdns = try PowerDNSServer()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        // A zone someone else manages, on the same server: otto must never touch it.
        #expect(try p.api("POST", "/api/v1/servers/localhost/zones", #"{"name":"other.test.","kind":"Native","nameservers":[]}"#).stdout.hasSuffix("201"))

        let apply = try p.otto("apply", "--auto-approve")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(apply.stdout.contains("6 created"))
        #expect(try pdns.dig("demo.test", "A").sorted() == ["10.213.0.10", "10.213.0.11"])
        #expect(try pdns.dig("www.demo.test", "CNAME") == ["demo.test."])
        #expect(try pdns.dig("demo.test", "MX") == ["10 mail.demo.test."])
        #expect(try pdns.dig("demo.test", "TXT") == ["\"v=spf1 -all\""])
        #expect(try pdns.dig("v6.demo.test", "AAAA") == ["2001:db8::1"])

        // Converged: a second plan has nothing to do.
        var plan = try p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(plan.stdout.contains("No changes"))
        // Bulk observation: the zone list and one read of the zone serve the zone and all its records.
        #expect(plan.stdout.contains("with 2 API calls (powerdns: 2)"), "\(plan.stdout)")

        // An edit in YAML is an update, and applies.
        try p.write("sites/demo.yml", siteYAML(wwwTarget: "web.demo.test."))
        plan = try p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("~ dns_record.demo.www.CNAME"))
        #expect(plan.stdout.contains("records: [\"demo.test.\"] → [\"web.demo.test.\"]"))
        #expect(plan.stdout.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete"))
        #expect(try p.otto("apply", "--auto-approve").status == 0)
        #expect(try pdns.dig("www.demo.test", "CNAME") == ["web.demo.test."])

        // A change behind otto's back is drift, and is put back.
        let patch = #"{"rrsets":[{"name":"demo.test.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"10.213.0.99","disabled":false}]}]}"#
        #expect(try p.api("PATCH", "/api/v1/servers/localhost/zones/demo.test.", patch).stdout.hasSuffix("204"))
        plan = try p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("dns_record.demo.@.A"))
        #expect(plan.stdout.contains("changed outside otto"))
        #expect(try p.otto("apply", "--auto-approve").status == 0)
        #expect(try pdns.dig("demo.test", "A").sorted() == ["10.213.0.10", "10.213.0.11"])
        #expect(try p.otto("plan", "--detailed-exitcode").status == 0)

        // A record deleted behind otto's back is recreated.
        let del = #"{"rrsets":[{"name":"v6.demo.test.","type":"AAAA","changetype":"DELETE"}]}"#
        #expect(try p.api("PATCH", "/api/v1/servers/localhost/zones/demo.test.", del).stdout.hasSuffix("204"))
        plan = try p.otto("plan")
        #expect(plan.stdout.contains("+ dns_record.demo.v6.AAAA"))
        #expect(plan.stdout.contains("deleted outside otto"))
        #expect(try p.otto("apply", "--auto-approve").status == 0)
        #expect(try pdns.dig("v6.demo.test", "AAAA") == ["2001:db8::1"])

        // Destroy removes what otto made and nothing else.
        let destroy = try p.otto("destroy", "--auto-approve")
        #expect(destroy.status == 0, "\(destroy.stdout)\n\(destroy.stderr)")
        #expect(destroy.stdout.contains("6 deleted"))
        let zones = try p.api("GET", "/api/v1/servers/localhost/zones").stdout
        #expect(!zones.contains("\"demo.test.\""))
        #expect(zones.contains("\"other.test.\""))
        #expect(try p.otto("state", "list").stdout.isEmpty)
    }

    @Test func applyWithoutTerminalRefusesWithoutAutoApprove() throws {
        let pdns = try PowerDNSServer()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        let r = try p.otto("apply")
        #expect(r.status == 1)
        #expect(r.stderr.contains("--auto-approve"))
        #expect(try pdns.dig("demo.test", "A").isEmpty)
    }

    @Test func savedPlanIsAppliedExactlyAndRefusedOnceStale() throws {
        let pdns = try PowerDNSServer()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML())
        #expect(try p.otto("plan", "-out", p.dir + "/first.plan").status == 0)
        #expect(try p.otto("plan", "-out", p.dir + "/second.plan").status == 0)
        // The YAML changes after the plan was saved: the saved plan still applies exactly what it said.
        try p.write("sites/demo.yml", siteYAML(wwwTarget: "changed.demo.test."))
        let first = try p.otto("apply", p.dir + "/first.plan")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try pdns.dig("www.demo.test", "CNAME") == ["demo.test."])
        // The state moved on: the other saved plan is refused and changes nothing.
        let second = try p.otto("apply", p.dir + "/second.plan")
        #expect(second.status == 1)
        #expect(second.stderr.contains("the state changed since the plan was made"))
        #expect(try p.otto("plan", "--detailed-exitcode").status == 2)
    }

    @Test func concurrentApplyFailsAtOnceNamingTheHolder() async throws {
        let pdns = try PowerDNSServer()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML(extra: 600))
        let first = try p.start("apply", "--auto-approve", "--parallelism", "1")
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) }; first.waitUntilExit() }
        try await p.waitForState("locks", atLeast: 1, seconds: 5)
        #expect(p.stateCount("locks") == 1)
        let t0 = Date()
        let second = try p.otto("apply", "--auto-approve")
        #expect(Date().timeIntervalSince(t0) < 5)
        #expect(second.status == 1)
        #expect(second.stderr.contains("locked by `otto apply`"))
        #expect(second.stderr.contains("pid \(first.processIdentifier)"))
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
    }

    @Test func applyKilledMidRunLeavesCorrectStateAndRecovers() async throws {
        let pdns = try PowerDNSServer()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML(extra: 800))
        let child = try p.start("apply", "--auto-approve", "--parallelism", "2")
        try await p.waitForState("resources", atLeast: 30)
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        let recorded = p.stateCount("resources")
        #expect(recorded >= 30 && recorded < 806, "killed too late to test anything: \(recorded)")

        // The state reopens, and everything it records really exists.
        let listed = try p.otto("state", "list")
        #expect(listed.status == 0)
        let addresses = listed.stdout.split(separator: "\n").map(String.init)
        #expect(addresses.count == recorded)
        let zone = try p.api("GET", "/api/v1/servers/localhost/zones/demo.test.").stdout
        for a in addresses where a.hasPrefix("dns_record.demo.h") {
            let host = a.split(separator: ".")[2]
            #expect(zone.contains("\"name\": \"\(host).demo.test.\"") || zone.contains("\"name\":\"\(host).demo.test.\""), "\(a) is in state but not in PowerDNS")
        }

        // The dead holder's lock died with it (only its row is left): the next apply needs no force-unlock and converges.
        #expect(p.stateCount("locks") >= 1)
        let again = try p.otto("apply", "--auto-approve")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(p.stateCount("resources") == 806)
        #expect(try p.otto("plan", "--detailed-exitcode").status == 0)
    }

    @Test func badConfigurationIsReportedWithPositionsAndChangesNothing() throws {
        let pdns = try PowerDNSServer()
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
        let r = try p.otto("plan")
        #expect(r.status == 1)
        #expect(r.stderr.contains("sites/demo.yml:6:"))
        #expect(r.stderr.contains("sites/demo.yml:7:"))
        #expect(!r.stderr.contains("Fatal error"))
        #expect(p.stateCount("resources") <= 0)
    }
}
