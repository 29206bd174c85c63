import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// Route53 hosted zones and records against a real moto_server.
@Suite(.tags(.moto), .endToEnd) struct AWSRoute53Tests {
    static let zone = "demo.test."

    func zoneResource(_ name: String = zone, nameservers: [String]? = nil) -> Resource {
        var attributes: [String: Value] = ["name": .string(name), "kind": "Native"]
        if let nameservers { attributes["nameservers"] = .list(nameservers.map(Value.string)) }
        return Resource(address: ResourceAddress(kind: "dns_zone", name: "demo"), provider: "aws", attributes: attributes)
    }

    func record(_ name: String, _ type: String, _ records: [String], ttl: Int = 300, zone: String = zone) -> Resource {
        Resource(address: ResourceAddress(kind: "dns_record", name: "demo.\(name).\(type)"), provider: "aws", attributes: [
            "zone": .string(zone), "name": .string(name), "type": .string(type), "ttl": .int(ttl),
            "records": .list(records.map(Value.string)),
        ])
    }

    func createZoneOutside(_ server: MotoServer, _ name: String, reference: String) async throws -> String {
        let answer = try await server.awsCurl(service: "route53", path: "/2013-04-01/hostedzone", xml: """
            <?xml version="1.0" encoding="UTF-8"?><CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">\
            <Name>\(name)</Name><CallerReference>\(reference)</CallerReference></CreateHostedZoneRequest>
            """)
        let id = try #require(AWSTest.values("Id", in: answer).first { $0.hasPrefix("/hostedzone/") }, "CreateHostedZone answered: \(answer)")
        return String(id.dropFirst("/hostedzone/".count))
    }

    func upsertOutside(_ server: MotoServer, zoneID: String, name: String, type: String, ttl: Int, values: [String]) async throws {
        let records = values.map { "<ResourceRecord><Value>\($0)</Value></ResourceRecord>" }.joined()
        let answer = try await server.awsCurl(service: "route53", path: "/2013-04-01/hostedzone/\(zoneID)/rrset", xml: """
            <?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">\
            <ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>\(name)</Name><Type>\(type)</Type>\
            <TTL>\(ttl)</TTL><ResourceRecords>\(records)</ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch>\
            </ChangeResourceRecordSetsRequest>
            """)
        #expect(answer.contains("ChangeInfo"), "UPSERT answered: \(answer)")
    }

    func zones(_ server: MotoServer) async throws -> [String] {
        AWSTest.values("CallerReference", in: try await server.awsCurl(service: "route53", method: "GET", path: "/2013-04-01/hostedzone"))
    }

    @Test func zoneLifecycleAndNameservers() async throws {
        try await AWSTest.withMoto { server, provider in
            let zone = zoneResource()
            #expect(try await provider.observe(kind: "dns_zone", [AWSTest.request(zone)]).isEmpty)
            let created = try await provider.create(zone, idempotencyKey: "00112233445566778899")
            #expect(!created.providerID.isEmpty && !created.providerID.contains("/"))
            #expect(AWSTest.noDiff(created, zone, provider))
            let delegation = try #require(created.attributes["delegation_set"]?.listValue)
            #expect(delegation.count == 4)
            #expect(delegation.allSatisfy { $0.stringValue?.hasSuffix(".") == true })
            #expect(created.attributes["nameservers"] == created.attributes["delegation_set"])
            #expect(try await zones(server) == ["00112233445566778899"])

            // Found by id, by pending key (CallerReference) and by name, with the same attributes.
            for request in [AWSTest.request(zone, id: created.providerID), AWSTest.request(zone, pendingKey: "00112233445566778899"),
                            AWSTest.request(zone)] {
                let found = try await provider.observe(kind: "dns_zone", [request])
                #expect(found[zone.address]?.providerID == created.providerID)
                #expect(found[zone.address]?.attributes == created.attributes)
            }

            // Nameservers listed in the site: the apex NS rrset follows them.
            let vanity = zoneResource(nameservers: ["ns2.demo.test.", "ns1.demo.test."])
            let updated = try await provider.update(vanity, current: created, changed: ["nameservers"])
            #expect(AWSTest.noDiff(updated, vanity, provider))
            let observed = try await provider.observe(kind: "dns_zone", [AWSTest.request(vanity, id: created.providerID)])
            #expect(AWSTest.noDiff(observed[zone.address], vanity, provider))
            #expect(observed[zone.address]?.attributes["delegation_set"] == created.attributes["delegation_set"])

            try await provider.delete(zone.address, current: created)
            try await provider.delete(zone.address, current: created)
            #expect(try await provider.observe(kind: "dns_zone", [AWSTest.request(zone, id: created.providerID)]).isEmpty)
            #expect(try await provider.observe(kind: "dns_zone", [AWSTest.request(zone)]).isEmpty)
        }
    }

    @Test func zoneCreatedWithNameserversAndFoundByPendingKey() async throws {
        try await AWSTest.withMoto { server, provider in
            let zone = zoneResource("other.test.", nameservers: ["ns1.other.test.", "ns2.other.test."])
            let created = try await provider.create(zone, idempotencyKey: "99887766554433221100")
            #expect(AWSTest.noDiff(created, zone, provider))
            #expect(AWSTest.noDiff(try await provider.observe(kind: "dns_zone", [AWSTest.request(zone)])[zone.address], zone, provider))

            // A zone made by a CreateHostedZone whose answer was lost is found through its CallerReference.
            let id = try await createZoneOutside(server, "lost.test.", reference: "0a0a0a0a0a0a0a0a0a0a")
            let request = ObserveRequest(address: "dns_zone.lost", providerID: nil, attributes: ["name": "renamed.test."],
                                         pendingKey: "0a0a0a0a0a0a0a0a0a0a")
            #expect(try await provider.observe(kind: "dns_zone", [request])[request.address]?.providerID == id)
        }
    }

    @Test func lostCreateHostedZoneAnswerMakesNoDuplicate() async throws {
        try await AWSTest.withMoto { server, _ in
            let proxy = try await FaultProxy.start(target: server.endpoint)
            defer { proxy.stop() }
            let provider = AWSTest.provider(endpoint: proxy.endpoint)
            try await proxy.inject("lose", matching: "POST /2013-04-01/hostedzone\n")
            let created = try await provider.create(zoneResource(), idempotencyKey: "abcabcabcabcabcabcab")
            #expect(try await proxy.hits() == 1)
            #expect(try await zones(server) == ["abcabcabcabcabcabcab"])
            #expect(created.attributes["name"] == "demo.test.")
            #expect(created.attributes["delegation_set"]?.listValue?.count == 4)
        }
    }

    @Test func everyRecordTypeRoundTripsInFewBatches() async throws {
        try await AWSTest.withMoto { _, provider in
            _ = try await provider.create(zoneResource())
            let records = [
                record("demo.test.", "MX", ["20 mail2.demo.test.", "10 mail.demo.test."]),
                record("web.demo.test.", "A", ["192.0.2.11", "192.0.2.10"], ttl: 60),
                record("web.demo.test.", "AAAA", ["2001:db8::10", "2001:db8::1:0:0:1"]),
                record("www.demo.test.", "CNAME", ["web.demo.test."]),
                record("demo.test.", "TXT", ["\"v=spf1 -all\"", "\"caf\\195\\169 \\\"quoted\\\"\""]),
                record("sub.demo.test.", "NS", ["ns1.elsewhere.test.", "ns2.elsewhere.test."]),
                record("_sip._tcp.demo.test.", "SRV", ["10 5 5060 sip.demo.test."]),
                record("*.demo.test.", "A", ["192.0.2.99"]),
            ]
            let before = provider.route53ChangeCount
            try await withThrowingTaskGroup(of: ObservedResource.self) { group in
                for resource in records { group.addTask { try await provider.create(resource) } }
                for try await created in group { #expect(created.providerID.hasPrefix("demo.test.|")) }
            }
            #expect(provider.route53ChangeCount - before <= 3)
            let observed = try await provider.observe(kind: "dns_record", records.map { AWSTest.request($0) })
            #expect(observed.count == records.count)
            for resource in records {
                #expect(AWSTest.noDiff(observed[resource.address], resource, provider), "\(resource.address): \(String(describing: observed[resource.address]))")
                #expect(observed[resource.address]?.providerID
                    == "demo.test.|\(resource.attributes["name"]!.stringValue!)|\(resource.attributes["type"]!.stringValue!)")
            }
        }
    }

    @Test func updateDriftAndDelete() async throws {
        try await AWSTest.withMoto { server, provider in
            let zone = try await provider.create(zoneResource())
            let original = record("api.demo.test.", "A", ["192.0.2.1"])
            let created = try await provider.create(original)
            let changed = record("api.demo.test.", "A", ["192.0.2.3", "192.0.2.2"], ttl: 120)
            let updated = try await provider.update(changed, current: created, changed: ["records", "ttl"])
            #expect(AWSTest.noDiff(updated, changed, provider))
            let afterUpdate = try await provider.observe(kind: "dns_record", [AWSTest.request(changed)])
            #expect(AWSTest.noDiff(afterUpdate[changed.address], changed, provider))

            // Someone changes it behind otto's back: observation shows the drift.
            try await upsertOutside(server, zoneID: zone.providerID, name: "api.demo.test.", type: "A", ttl: 30, values: ["198.51.100.7"])
            let drifted = try #require(try await provider.observe(kind: "dns_record", [AWSTest.request(changed)])[changed.address])
            #expect(drifted.attributes["records"] == ["198.51.100.7"])
            #expect(drifted.attributes["ttl"] == 30)

            // Orphan lookup by providerID only; delete with stale values still deletes (read again, then deleted).
            let orphan = ObserveRequest(address: changed.address, providerID: "demo.test.|api.demo.test.|A", attributes: [:])
            #expect(try await provider.observe(kind: "dns_record", [orphan])[changed.address] != nil)
            try await provider.delete(changed.address, current: updated)
            #expect(try await provider.observe(kind: "dns_record", [AWSTest.request(changed)]).isEmpty)
            try await provider.delete(changed.address, current: drifted)  // already gone: fine
        }
    }

    @Test func badRecordFailsAloneWithRoute53Message() async throws {
        try await AWSTest.withMoto { _, provider in
            _ = try await provider.create(zoneResource())
            let good = (0..<20).map { record("ok\($0).demo.test.", "A", ["192.0.2.\($0 + 1)"]) }
            let bad = record("www.elsewhere.test.", "A", ["192.0.2.200"])
            let results = await withTaskGroup(of: (ResourceAddress, Result<ObservedResource, any Error>).self) { group in
                for resource in good + [bad] {
                    group.addTask {
                        do { return (resource.address, .success(try await provider.create(resource))) } catch { return (resource.address, .failure(error)) }
                    }
                }
                return await group.reduce(into: [ResourceAddress: Result<ObservedResource, any Error>]()) { $0[$1.0] = $1.1 }
            }
            for resource in good {
                if case .failure(let error) = results[resource.address] { Issue.record("\(resource.address) failed: \(error)") }
            }
            guard case .failure(let failure) = results[bad.address] else {
                Issue.record("the bad record was accepted")
                return
            }
            let error = try #require(failure as? OttoError)
            #expect(error.code == "provider.aws.api")
            #expect(error.message.contains("AWS refused to create A www.elsewhere.test. in zone demo.test."))
            #expect(error.message.contains("InvalidChangeBatch"))
            #expect(!AWSTest.text(error).contains(AWSTest.secret))
            #expect(try await provider.observe(kind: "dns_record", good.map { AWSTest.request($0) }).count == good.count)
        }
    }

    @Test func recordsAndZonesPage() async throws {
        try await AWSTest.withMoto { server, provider in
            _ = try await provider.create(zoneResource())
            let records = (0..<350).map { record("host\($0).demo.test.", "A", ["10.0.\($0 / 256).\($0 % 256)"]) }
            let before = provider.route53ChangeCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for resource in records { group.addTask { _ = try await provider.create(resource) } }
                try await group.waitForAll()
            }
            #expect(provider.route53ChangeCount - before <= 4)
            let observed = try await provider.observe(kind: "dns_record", records.map { AWSTest.request($0) })
            #expect(observed.count == 350)  // two pages of 300

            for index in 0..<105 { _ = try await createZoneOutside(server, "z\(index).test.", reference: "outside-\(index)") }
            let last = zoneResource("z104.test.")
            #expect(try await provider.observe(kind: "dns_zone", [AWSTest.request(last)])[last.address] != nil)  // past page one
        }
    }

    @Test func zonesAndRecordsOttoDidNotMakeAreLeftAlone() async throws {
        try await AWSTest.withMoto { server, provider in
            let created = try await provider.create(zoneResource())
            try await upsertOutside(server, zoneID: created.providerID, name: "manual.demo.test.", type: "TXT", ttl: 60, values: ["\"by hand\""])
            let unrelated = try await createZoneOutside(server, "unrelated.test.", reference: "unrelated")
            // otto's records are deleted first; the one made by hand keeps the zone, and the error names it.
            let error = await #expect(throws: OttoError.self) { try await provider.delete("dns_zone.demo", current: created) }
            #expect(error?.code == "provider.aws.zone_not_empty")
            #expect(error?.message.contains("manual.demo.test. TXT") == true)
            let manual = record("manual.demo.test.", "TXT", ["\"by hand\""], ttl: 60)
            #expect(AWSTest.noDiff(try await provider.observe(kind: "dns_record", [AWSTest.request(manual)])[manual.address], manual, provider))
            #expect(try await zones(server).contains("unrelated"))
            _ = unrelated

            // Two public zones of one name, neither otto's: otto refuses to guess.
            _ = try await createZoneOutside(server, "twice.test.", reference: "twice-1")
            _ = try await createZoneOutside(server, "twice.test.", reference: "twice-2")
            let twice = zoneResource("twice.test.")
            let ambiguous = await #expect(throws: OttoError.self) { try await provider.observe(kind: "dns_zone", [AWSTest.request(twice)]) }
            #expect(ambiguous?.code == "provider.aws.ambiguous")
        }
    }

    @Test func recordCreatesInAFreshProcessShareOneZoneLookup() async throws {
        try await AWSTest.withMoto { server, provider in
            _ = try await provider.create(zoneResource())
            let fresh = AWSTest.provider(endpoint: server.endpoint)  // nothing cached: as after `otto apply PLANFILE`
            let records = (0..<50).map { record("n\($0).demo.test.", "A", ["192.0.2.\($0 + 1)"]) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for resource in records { group.addTask { _ = try await fresh.create(resource) } }
                try await group.waitForAll()
            }
            let calls = fresh.client.http.requestCounts["aws"] ?? 0
            #expect(calls - fresh.route53ChangeCount <= 2)  // the zone list, shared by all 50
            #expect(fresh.route53ChangeCount <= 3)
            #expect(try await provider.observe(kind: "dns_record", records.map { AWSTest.request($0) }).count == 50)
        }
    }

    @Test func route53ThrottlingIsRetried() async throws {
        try await AWSTest.withMoto { server, _ in
            let proxy = try await FaultProxy.start(target: server.endpoint)
            defer { proxy.stop() }
            let provider = AWSTest.provider(endpoint: proxy.endpoint)
            let throttled = #"<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"#
            try await proxy.inject("respond", matching: "GET /2013-04-01/hostedzone?", count: 2, status: 400, body: throttled)
            #expect(try await provider.observe(kind: "dns_zone", [AWSTest.request(zoneResource())]).isEmpty)
            #expect(try await proxy.hits() == 2)

            try await proxy.inject("respond", matching: "GET /2013-04-01/hostedzone?", count: 100, status: 400, body: throttled)
            let error = await #expect(throws: OttoError.self) { try await provider.observe(kind: "dns_zone", [AWSTest.request(zoneResource())]) }
            #expect(error?.code == "provider.aws.throttled")
            #expect(error?.message.contains("Throttling: Rate exceeded") == true)
        }
    }

    @Test func recordInAMissingZoneNamesTheZone() async throws {
        try await AWSTest.withMoto { _, provider in
            let www = record("www.nowhere.test.", "A", ["192.0.2.80"], zone: "nowhere.test.")
            #expect(try await provider.observe(kind: "dns_record", [AWSTest.request(www)]).isEmpty)
            let error = await #expect(throws: OttoError.self) { try await provider.create(www) }
            #expect(error?.code == "provider.aws.zone_missing")
            #expect(error?.message.contains("nowhere.test.") == true)
            try await provider.delete(www.address, current: ObservedResource(providerID: "nowhere.test.|www.nowhere.test.|A", attributes: [:]))
        }
    }
}
