import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

@Suite(.tags(.powerDNS), .endToEnd) struct PowerDNSProviderTests {
    static let zone = "demo.test."

    func withPowerDNS(_ body: (PowerDNSServer, PowerDNSProvider) async throws -> Void) async throws {
        let server = try await PowerDNSServer.start()
        defer { server.stop() }
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(20))))
        let provider = PowerDNSProvider(name: "powerdns", baseURL: server.apiURL, apiKey: server.apiKey, concurrency: 64, client: client)
        try await body(server, provider)
    }

    func zoneResource(_ name: String = zone, nameservers: [String] = ["ns1.demo.test.", "ns2.demo.test."]) -> Resource {
        Resource(address: ResourceAddress(kind: "dns_zone", name: "demo"), provider: "powerdns", attributes: [
            "name": .string(name), "kind": .string("Native"), "nameservers": .list(nameservers.map(Value.string)),
        ])
    }

    func record(_ name: String, _ type: String, _ records: [String], ttl: Int = 300, zone: String = zone) -> Resource {
        Resource(address: ResourceAddress(kind: "dns_record", name: "demo.\(name).\(type)"), provider: "powerdns", attributes: [
            "zone": .string(zone), "name": .string(name), "type": .string(type), "ttl": .int(ttl),
            "records": .list(records.map(Value.string)),
        ])
    }

    func request(_ resource: Resource, id: String? = nil) -> ObserveRequest {
        ObserveRequest(address: resource.address, providerID: id, attributes: resource.attributes)
    }

    /// The attributes as the planner compares them: unordered lists sorted.
    func normalized(_ attributes: [String: Value], unordered: Set<String>) -> [String: Value] {
        var out = attributes
        for key in unordered {
            if let list = attributes[key]?.listValue { out[key] = .list(list.sorted { $0.description < $1.description }) }
        }
        return out
    }

    func curl(_ server: PowerDNSServer, _ method: String, _ path: String, _ body: String) async throws -> ProcessResult {
        try await runProcess(["curl", "-s", "-X", method, "-H", "X-API-Key: \(server.apiKey)", "-H", "Content-Type: application/json",
                        "--data-binary", body, "\(server.apiURL)/api/v1/servers/localhost\(path)"])
    }

    @Test func zoneAndEveryRecordTypeRoundTrip() async throws {
        try await withPowerDNS { server, provider in
            let zone = zoneResource()
            #expect(try await provider.observe(kind: "dns_zone", [request(zone)]).isEmpty)
            let createdZone = try await provider.create(zone)
            #expect(createdZone.providerID == "demo.test.")
            #expect(createdZone.attributes == zone.attributes)

            let records = [
                record("demo.test.", "MX", ["20 mail2.demo.test.", "10 mail.demo.test."]),
                record("web.demo.test.", "A", ["192.0.2.11", "192.0.2.10"], ttl: 60),
                record("web.demo.test.", "AAAA", ["2001:db8::10"]),
                record("www.demo.test.", "CNAME", ["web.demo.test."]),
                record("demo.test.", "TXT", ["\"v=spf1 -all\"", "\"hello world\""]),
                record("sub.demo.test.", "NS", ["ns1.elsewhere.test."]),
                record("_sip._tcp.demo.test.", "SRV", ["10 5 5060 sip.demo.test."]),
            ]
            try await withThrowingTaskGroup(of: ObservedResource.self) { group in
                for resource in records { group.addTask { try await provider.create(resource) } }
                for try await created in group { #expect(created.providerID.hasPrefix("demo.test.|")) }
            }
            let observed = try await provider.observe(kind: "dns_record", records.map { request($0) })
            #expect(observed.count == records.count)
            for resource in records {
                let found = try #require(observed[resource.address])
                // Equal to what was sent: a second plan has no diff.
                #expect(normalized(found.attributes, unordered: ["records"]) == normalized(resource.attributes, unordered: ["records"]))
                #expect(found.providerID == "demo.test.|\(resource.attributes["name"]!.stringValue!)|\(resource.attributes["type"]!.stringValue!)")
            }
            let zones = try await provider.observe(kind: "dns_zone", [request(zone)])
            #expect(zones[zone.address]?.attributes == zone.attributes)

            #expect(try await server.dig("web.demo.test", "A") == ["192.0.2.10", "192.0.2.11"])
            #expect(try await server.dig("web.demo.test", "AAAA") == ["2001:db8::10"])
            #expect(try await server.dig("www.demo.test", "CNAME") == ["web.demo.test."])
            #expect(try await server.dig("demo.test", "MX") == ["10 mail.demo.test.", "20 mail2.demo.test."])
            #expect(try await server.dig("demo.test", "TXT") == ["\"hello world\"", "\"v=spf1 -all\""])
            #expect(try await server.dig("_sip._tcp.demo.test", "SRV") == ["10 5 5060 sip.demo.test."])
            #expect(try await server.dig("demo.test", "NS") == ["ns1.demo.test.", "ns2.demo.test."])
        }
    }

    @Test func updateDeleteAndOutOfBandChange() async throws {
        try await withPowerDNS { server, provider in
            _ = try await provider.create(zoneResource())
            let original = record("api.demo.test.", "A", ["192.0.2.1"])
            let created = try await provider.create(original)

            let changed = record("api.demo.test.", "A", ["192.0.2.2", "192.0.2.3"], ttl: 120)
            let updated = try await provider.update(changed, current: created, changed: ["records", "ttl"])
            #expect(updated.attributes["records"] == .list([.string("192.0.2.2"), .string("192.0.2.3")]))
            let afterUpdate = try await provider.observe(kind: "dns_record", [request(changed)])
            #expect(afterUpdate[changed.address]?.attributes["ttl"] == .int(120))
            #expect(afterUpdate[changed.address]?.attributes["records"] == .list([.string("192.0.2.2"), .string("192.0.2.3")]))
            #expect(try await server.dig("api.demo.test", "A") == ["192.0.2.2", "192.0.2.3"])

            // Someone changes the record behind otto's back: observation shows the drift.
            let patch = #"{"rrsets":[{"name":"api.demo.test.","type":"A","ttl":30,"changetype":"REPLACE","records":[{"content":"198.51.100.7","disabled":false}]}]}"#
            let result = try await curl(server, "PATCH", "/zones/demo.test.", patch)
            #expect(result.status == 0)
            let drifted = try await provider.observe(kind: "dns_record", [request(changed)])
            #expect(drifted[changed.address]?.attributes["records"] == .list([.string("198.51.100.7")]))
            #expect(drifted[changed.address]?.attributes["ttl"] == .int(30))

            // Orphan lookup by providerID only (attributes from state may be missing).
            let orphan = ObserveRequest(address: changed.address, providerID: "demo.test.|api.demo.test.|A", attributes: [:])
            #expect(try await provider.observe(kind: "dns_record", [orphan])[changed.address] != nil)

            try await provider.delete(changed.address, current: try #require(drifted[changed.address]))
            #expect(try await provider.observe(kind: "dns_record", [request(changed)]).isEmpty)
            #expect(try await server.dig("api.demo.test", "A").isEmpty)
            // Deleting what is already gone is fine.
            try await provider.delete(changed.address, current: try #require(drifted[changed.address]))
        }
    }

    @Test func zoneNameserversUpdateAndDelete() async throws {
        try await withPowerDNS { server, provider in
            let zone = zoneResource()
            let created = try await provider.create(zone)
            let moved = zoneResource(nameservers: ["ns3.demo.test.", "ns1.demo.test."])
            let updated = try await provider.update(moved, current: created, changed: ["nameservers"])
            #expect(updated.attributes["nameservers"] == .list([.string("ns1.demo.test."), .string("ns3.demo.test.")]))
            let observed = try await provider.observe(kind: "dns_zone", [request(moved)])
            #expect(observed[zone.address]?.attributes["nameservers"] == .list([.string("ns1.demo.test."), .string("ns3.demo.test.")]))
            #expect(try await server.dig("demo.test", "NS") == ["ns1.demo.test.", "ns3.demo.test."])

            let www = record("www.demo.test.", "A", ["192.0.2.80"])
            _ = try await provider.create(www)
            try await provider.delete(zone.address, current: created)
            #expect(try await provider.observe(kind: "dns_zone", [request(zone)]).isEmpty)
            // Records of a zone that does not exist are absent, not an error.
            #expect(try await provider.observe(kind: "dns_record", [request(www)]).isEmpty)
            try await provider.delete(www.address, current: ObservedResource(providerID: "demo.test.|www.demo.test.|A", attributes: [:]))
            try await provider.delete(zone.address, current: created)

            // Creating a record in a missing zone names the zone.
            let error = await #expect(throws: OttoError.self) { try await provider.create(www) }
            #expect(error?.code == "provider.powerdns.zone_missing")
            #expect(error?.message.contains("demo.test.") == true)
        }
    }

    @Test func concurrentCreatesAreCoalesced() async throws {
        try await withPowerDNS { _, provider in
            _ = try await provider.create(zoneResource())
            let before = provider.patchRequestCount
            let records = (0..<200).map { record("host\($0).demo.test.", "A", ["10.0.\($0 / 256).\($0 % 256)"]) }
            let clock = ContinuousClock()
            let start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for resource in records { group.addTask { _ = try await provider.create(resource) } }
                try await group.waitForAll()
            }
            let elapsed = clock.now - start
            let patches = provider.patchRequestCount - before
            print("200 concurrent record creates: \(patches) PATCH requests in \(elapsed)")
            #expect(patches >= 1)
            #expect(patches <= 20)
            #expect(elapsed < .seconds(10))
            let observed = try await provider.observe(kind: "dns_record", records.map { request($0) })
            #expect(observed.count == 200)
            for resource in records { #expect(observed[resource.address]?.attributes["records"] == resource.attributes["records"]) }
        }
    }

    @Test func badRecordFailsAloneWithPowerDNSMessage() async throws {
        try await withPowerDNS { _, provider in
            _ = try await provider.create(zoneResource())
            let good = (0..<30).map { record("ok\($0).demo.test.", "A", ["192.0.2.\($0 + 1)"]) }
            let bad = record("bad.demo.test.", "A", ["not-an-address"])
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
            #expect(error.code == "provider.powerdns.http")
            #expect(error.message.contains("not-an-address"))  // PowerDNS's own message names the content
            #expect(error.message.contains("bad.demo.test."))
            let observed = try await provider.observe(kind: "dns_record", (good + [bad]).map { request($0) })
            #expect(observed.count == good.count)
            #expect(observed[bad.address] == nil)
        }
    }

    @Test func wrongAPIKeyGivesClearErrorWithoutTheKey() async throws {
        try await withPowerDNS { server, _ in
            let wrongKey = "wrong-key-\(UUID().uuidString)"
            let provider = PowerDNSProvider(name: "powerdns", baseURL: server.apiURL + "/api/v1", apiKey: wrongKey, client: HTTPClient())
            let error = await #expect(throws: OttoError.self) {
                _ = try await provider.observe(kind: "dns_zone", [request(zoneResource())])
            }
            let text = error.map { "\($0.code) \($0.message) \($0.cause ?? "")" } ?? ""
            #expect(error?.code == "provider.powerdns.auth")
            #expect(text.contains("API key"))
            #expect(text.contains("powerdns"))
            #expect(!text.contains(wrongKey))
            #expect(!text.contains(server.apiKey))

            let recordError = await #expect(throws: OttoError.self) {
                _ = try await provider.create(record("x.demo.test.", "A", ["192.0.2.1"]))
            }
            #expect(recordError?.code == "provider.powerdns.auth")
            #expect(!(recordError.map { "\($0)" } ?? "").contains(wrongKey))
        }
    }

    @Test func unreachableServerIsAClearError() async throws {
        let port = freeLoopbackPort()
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: .none))
        let provider = PowerDNSProvider(name: "powerdns", baseURL: "http://127.0.0.1:\(port)", apiKey: "k-secret-1", client: client)
        let error = await #expect(throws: OttoError.self) {
            _ = try await provider.observe(kind: "dns_zone", [request(zoneResource())])
        }
        #expect(error?.code == "provider.powerdns.unreachable")
        #expect(!(error.map { "\($0)" } ?? "").contains("k-secret-1"))
    }

    @Test func schemasFollowTheContract() {
        let provider = PowerDNSProvider(name: "powerdns", baseURL: "http://127.0.0.1:1", apiKey: "k", client: HTTPClient())
        // The planning sets as before, now following from the declared attributes.
        let zone = provider.schema(for: "dns_zone")
        #expect(zone?.forceNew == ["name", "kind"] && zone?.unordered == ["nameservers"] && zone?.computed == [])
        #expect(zone?.createBeforeDestroy == false && zone?.keyedCreate == false)
        #expect(zone?.attributes?.map(\.name) == ["name", "kind", "nameservers"])
        let record = provider.schema(for: "dns_record")
        #expect(record?.forceNew == ["zone", "name", "type"] && record?.unordered == ["records"] && record?.computed == [])
        #expect(record?.createBeforeDestroy == false && record?.keyedCreate == false)
        #expect(record?.attributes?.map(\.name) == ["zone", "name", "type", "ttl", "records"])
        #expect(record?.attribute("ttl")?.type == .int && record?.attribute("records")?.type == .strings)
    }
}
