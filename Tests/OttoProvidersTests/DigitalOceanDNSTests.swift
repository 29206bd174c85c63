import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Domains and records through the provider against the fake DigitalOcean.
@Suite struct DigitalOceanDNSTests {
    @Test func zoneCreateObserveNameserversDelete() async throws {
        try await DigitalOceanHarness.run { h in
            let provider = h.provider
            let schema = provider.testSchema("dns_zone")
            let zone = DO.zone()
            let found1 = try await provider.observe(kind: "dns_zone", [DO.request(zone)])
            #expect(found1.isEmpty)
            let created = try await provider.create(zone)
            #expect(created.providerID == "demo.test")
            #expect(created.attributes["name"] == "demo.test.")
            #expect(created.attributes["kind"] == "Native")
            #expect(created.attributes["nameservers"] == .list(["ns1.digitalocean.com.", "ns2.digitalocean.com.", "ns3.digitalocean.com."]))
            #expect(DO.differences(zone, created, schema: schema) == [])
            await h.fake.resetCounts()
            let observed = try await provider.observe(kind: "dns_zone", [DO.request(zone)])
            #expect(observed[zone.address] == created)
            let counts = await h.fake.requestCounts()
            #expect(counts == ["GET /v2/domains": 1], "the apex NS records come from the zone file of the list")

            // Nameservers set by the site: the apex NS records become them.
            let delegated = DO.zone(nameservers: ["ns2.example.net.", "ns1.example.net."])
            #expect(DO.differences(delegated, created, schema: schema) == ["nameservers"])
            let updated = try await provider.update(delegated, current: created, changed: ["nameservers"])
            #expect(DO.differences(delegated, updated, schema: schema) == [])
            let again = try await provider.observe(kind: "dns_zone", [DO.request(delegated, id: "demo.test")])
            #expect(again[delegated.address] == updated)
            let ns = await h.fake.recordLines("demo.test").filter { $0.contains(" NS ") }
            #expect(ns == ["@ 1800 NS ns1.example.net", "@ 1800 NS ns2.example.net"])

            // Creating a zone that exists adopts it.
            let adopted = try await provider.create(delegated)
            #expect(adopted == updated)

            try await provider.delete(zone.address, current: updated)
            try await provider.delete(zone.address, current: updated)
            let found2 = try await provider.observe(kind: "dns_zone", [DO.request(zone)])
            #expect(found2.isEmpty)
        }
    }

    @Test func rrSetsOfEveryTypeRoundTrip() async throws {
        try await DigitalOceanHarness.run { h in
            let provider = h.provider
            let schema = provider.testSchema("dns_record")
            _ = try await provider.create(DO.zone())
            let long = String(repeating: "k", count: 300)
            let records = [
                DO.record("demo.test.", "A", ["192.0.2.11", "192.0.2.10"], ttl: 60),
                DO.record("web.demo.test.", "AAAA", ["2001:db8::10", "2001:db8::11"]),
                DO.record("www.demo.test.", "CNAME", ["web.demo.test."]),
                DO.record("alias.demo.test.", "CNAME", ["demo.test."]),
                DO.record("demo.test.", "MX", ["20 mail2.demo.test.", "10 mail.example.net."]),
                DO.record("demo.test.", "TXT", ["\"v=spf1 -all\"", "\"say \\\"hi\\\" \\\\ there\"", DNSText.quote(long)]),
                DO.record("sub.demo.test.", "NS", ["ns1.elsewhere.test.", "ns2.elsewhere.test."]),
                DO.record("_sip._tcp.demo.test.", "SRV", ["10 5 5060 sip.demo.test.", "20 0 5061 sip2.demo.test."], ttl: 3600),
                DO.record("*.demo.test.", "A", ["192.0.2.50"]),
            ]
            let found3 = try await provider.observe(kind: "dns_record", records.map { DO.request($0) })
            #expect(found3.isEmpty)
            var created: [ResourceAddress: ObservedResource] = [:]
            try await withThrowingTaskGroup(of: (ResourceAddress, ObservedResource).self) { group in
                for resource in records { group.addTask { (resource.address, try await provider.create(resource)) } }
                for try await (address, observed) in group { created[address] = observed }
            }
            for resource in records {
                #expect(DO.differences(resource, created[resource.address]!, schema: schema) == [], "\(resource.address)")
            }
            await h.fake.resetCounts()
            let observed = try await provider.observe(kind: "dns_record", records.map { DO.request($0) })
            #expect(observed.count == records.count)
            for resource in records {
                // What create returned is what observation finds: a second plan has no diff and no drift.
                #expect(observed[resource.address] == created[resource.address], "\(resource.address)")
            }
            let counts = await h.fake.requestCounts()
            #expect(counts == ["GET /v2/domains/{domain_name}/records": 1], "one list per zone")
            // Stored the way DigitalOcean stores them.
            let lines = await h.fake.recordLines("demo.test")
            #expect(lines.contains("@ 300 MX 10 mail.example.net"), "\(lines)")
            #expect(lines.contains("_sip._tcp 3600 SRV 10 5 5060 sip.demo.test"), "\(lines)")
            #expect(lines.contains("@ 300 TXT v=spf1 -all"), "\(lines)")
            #expect(lines.contains("@ 300 TXT say \"hi\" \\ there"), "\(lines)")
            #expect(lines.contains("@ 300 TXT " + long), "a long TXT is one record, joined")
        }
    }

    @Test func rrSetUpdateAndDelete() async throws {
        try await DigitalOceanHarness.run { h in
            let provider = h.provider
            let schema = provider.testSchema("dns_record")
            _ = try await provider.create(DO.zone())
            let before = DO.record("web.demo.test.", "A", ["192.0.2.1", "192.0.2.2", "192.0.2.3"])
            let created = try await provider.create(before)
            let after = DO.record("web.demo.test.", "A", ["192.0.2.2", "192.0.2.4"], ttl: 120)
            #expect(DO.differences(after, created, schema: schema) == ["records", "ttl"])
            await h.fake.resetCounts()
            let updated = try await provider.update(after, current: created, changed: ["records", "ttl"])
            #expect(DO.differences(after, updated, schema: schema) == [])
            let counts = await h.fake.requestCounts()
            // One list, then: 192.0.2.2 kept (TTL fixed), 192.0.2.1 rewritten into 192.0.2.4, 192.0.2.3 deleted.
            #expect(counts == ["GET /v2/domains/{domain_name}/records": 1, "PUT /v2/domains/{domain_name}/records/{domain_record_id}": 2,
                                    "DELETE /v2/domains/{domain_name}/records/{domain_record_id}": 1])
            let observed = try await provider.observe(kind: "dns_record", [DO.request(after)])
            #expect(observed[after.address] == updated)
            let lines = await h.fake.recordLines("demo.test").filter { $0.hasPrefix("web ") }
            #expect(lines == ["web 120 A 192.0.2.2", "web 120 A 192.0.2.4"])

            // A CNAME value change is a rewrite in place.
            let cname = try await provider.create(DO.record("www.demo.test.", "CNAME", ["web.demo.test."]))
            let moved = DO.record("www.demo.test.", "CNAME", ["other.example.net."])
            let changed = try await provider.update(moved, current: cname, changed: ["records"])
            #expect(changed.attributes["records"] == .list(["other.example.net."]))

            // Delete, twice; an rrset of a domain already gone is fine too.
            try await provider.delete(after.address, current: updated)
            try await provider.delete(after.address, current: updated)
            let found4 = try await provider.observe(kind: "dns_record", [DO.request(after)])
            #expect(found4[after.address] == nil)
            try await provider.delete(DO.zone().address, current: ObservedResource(providerID: "demo.test", attributes: [:]))
            try await provider.delete(moved.address, current: changed)
        }
    }

    @Test func aRecordCreatedTwiceAfterALostAnswerIsNotDuplicated() async throws {
        try await DigitalOceanHarness.run { h in
            _ = try await h.provider.create(DO.zone())
            // What a retried POST whose answer was lost leaves behind: the same value twice.
            for _ in 0..<2 {
                let response = await h.fake.handle(FakeHTTPRequest(
                    method: "POST", path: "/v2/domains/demo.test/records", headers: ["Authorization": "Bearer \(h.token)"],
                    body: Array(#"{"type":"A","name":"web","data":"192.0.2.7","ttl":300}"#.utf8)))
                #expect(response.status == 201)
            }
            let desired = DO.record("web.demo.test.", "A", ["192.0.2.7"])
            let observed = try await h.provider.observe(kind: "dns_record", [DO.request(desired)])
            #expect(observed[desired.address]?.attributes["records"] == .list(["192.0.2.7", "192.0.2.7"]))
            _ = try await h.provider.update(desired, current: observed[desired.address]!, changed: ["records"])
            let lines = await h.fake.recordLines("demo.test").filter { $0.hasPrefix("web ") }
            #expect(lines == ["web 300 A 192.0.2.7"])
        }
    }

    @Test func unrelatedDomainsAreNeverTouched() async throws {
        try await DigitalOceanHarness.run { h in
            await h.fake.seedDomain("other.test", records: [(name: "www", type: "A", data: "198.51.100.9")])
            let zone = try await h.provider.create(DO.zone())
            _ = try await h.provider.create(DO.record("www.demo.test.", "A", ["192.0.2.9"]))
            let observed = try await h.provider.observe(kind: "dns_zone", [DO.request(DO.zone())])
            #expect(observed.count == 1)
            try await h.provider.delete(DO.zone().address, current: zone)
            let domains = await h.fake.domainNames()
            #expect(domains == ["other.test"])
            let lines = await h.fake.recordLines("other.test")
            #expect(lines.contains("www 1800 A 198.51.100.9"))
        }
    }

    @Test func recordErrorsNameTheResource() async throws {
        try await DigitalOceanHarness.run { h in
            let missingZone = await errorText { _ = try await h.provider.create(DO.record("www.demo.test.", "A", ["192.0.2.1"])) }
            #expect(missingZone.contains("domain demo.test does not exist"), "\(missingZone)")
            _ = try await h.provider.create(DO.zone())
            let badValue = await errorText { _ = try await h.provider.create(DO.record("www.demo.test.", "A", ["not-an-ip"])) }
            #expect(badValue.contains("dns_record.demo.www.A"), "\(badValue)")
            // DigitalOcean's own refusal, with its message: a CNAME beside another record.
            _ = try await h.provider.create(DO.record("www.demo.test.", "A", ["192.0.2.1"]))
            let refused = await errorText { _ = try await h.provider.create(DO.record("www.demo.test.", "CNAME", ["web.demo.test."])) }
            #expect(refused.contains("DigitalOcean refused to create CNAME www.demo.test. in domain demo.test"), "\(refused)")
            #expect(refused.contains("HTTP 422: CNAME records cannot share a name with other records"), "\(refused)")
            #expect(!refused.contains(h.token))
        }
    }
}

/// TXT presentation for tests (what the configuration reader makes of a text).
enum DNSText {
    static func quote(_ text: String) -> String {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: 255).map { "\"" + String(decoding: bytes[$0..<min($0 + 255, bytes.count)], as: UTF8.self) + "\"" }
            .joined(separator: " ")
    }
}
