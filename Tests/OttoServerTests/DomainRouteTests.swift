import Foundation
import HTTPTypes
import OttoCore
import Testing

@Suite struct DomainRouteTests {
    @Test func nameserversOverQuery() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/dom/ns/Example.com.?ns=ns1.example.net.,ns2")
            #expect(r.status == .created)
            #expect(r.headers[.location] == "/dom/ns/example.com")
            #expect(r.object["nameservers"] as? [String] == ["ns1.example.net.", "ns2.example.com."])
            #expect(r.object["provider"] as? String == "pdns")
            #expect(r.object["source"] as? String == "api")
            r = try await c.get("/dom/ns/example.com")
            #expect(r.status == .ok)
            #expect(r.object["zone"] as? String == "example.com.")
            r = try await c.post("/dom/ns/example.com?ns=ns3.example.net.")
            #expect(r.status == .ok)
            #expect(r.object["nameservers"] as? [String] == ["ns3.example.net."])
            r = try await c.delete("/dom/ns/example.com")
            #expect(r.status == .noContent)
            r = try await c.get("/dom/ns/example.com")
            #expect(r.status == .notFound)
        }
    }

    @Test func yamlZoneIsReadOnly() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.get("/dom/ns/shop.test")
            #expect(r.status == .ok)
            #expect(r.object["source"] as? String == "yaml")
            #expect(r.object["location"] as? String == "sites/shop.yml:7:3")
            r = try await c.get("/dom/dns/shop.test")
            #expect(r.status == .ok)
            #expect((r.object["records"] as? [[String: Any]])?.first?["fqdn"] as? String == "www.shop.test.")
            r = try await c.post("/dom/ns/shop.test?ns=ns1.example.net.")
            #expect(r.status == .conflict)
            #expect(r.errorMessage?.contains("sites/shop.yml:7:3") == true)
            r = try await c.put("/dom/dns/shop.test?rec=www+A+192.0.2.1")
            #expect(r.status == .conflict)
            #expect(r.errorCode == "item.yaml_owned")
            r = try await c.delete("/dom/dns/shop.test")
            #expect(r.status == .conflict)
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func recordsFromBody() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.put("/dom/dns/example.com", #"""
                {"ttl": 600, "records": [
                  {"name": "@", "type": "A", "values": ["192.0.2.1", "192.0.2.2"]},
                  {"name": "www", "type": "CNAME", "value": "@"},
                  {"name": "@", "type": "TXT", "value": "v=spf1 -all", "ttl": 60}]}
                """#)
            #expect(r.status == .created)
            let records = r.object["records"] as? [[String: Any]] ?? []
            #expect(records.count == 3)
            #expect(records.first?["fqdn"] as? String == "example.com.")
            #expect(records.first?["ttl"] as? Int == 600)
            #expect(records[1]["values"] as? [String] == ["example.com."])
            #expect(records[2]["values"] as? [String] == ["\"v=spf1 -all\""])
            r = try await c.put("/dom/dns/example.com", #"{"records": [{"name": "@", "type": "MX", "value": "10 mail"}]}"#)
            #expect(r.status == .ok)
            #expect((r.object["records"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func recordsFromQueryAreUpsertedAndDeletedByRRset() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.10&rec=www+A+192.0.2.11&rec=%40+MX+10+mail")
            #expect(r.status == .created)
            var records = r.object["records"] as? [[String: Any]] ?? []
            #expect(records.map { $0["name"] as? String } == ["www", "@"])
            #expect(records.first?["values"] as? [String] == ["192.0.2.10", "192.0.2.11"])
            #expect(records.last?["values"] as? [String] == ["10 mail.example.com."])
            r = try await c.put("/dom/dns/example.com?rec=www+60+A+192.0.2.12&rec=api+AAAA+2001:DB8:0::1")
            #expect(r.status == .ok)
            records = r.object["records"] as? [[String: Any]] ?? []
            #expect(records.map { $0["name"] as? String } == ["www", "@", "api"])
            #expect(records.first?["values"] as? [String] == ["192.0.2.12"])
            #expect(records.first?["ttl"] as? Int == 60)
            #expect(records.last?["values"] as? [String] == ["2001:db8::1"])
            r = try await c.delete("/dom/dns/example.com?rec=www+A")
            #expect(r.status == .noContent)
            r = try await c.get("/dom/dns/example.com")
            #expect((r.object["records"] as? [[String: Any]])?.map { $0["name"] as? String } == ["@", "api"])
            r = try await c.delete("/dom/dns/example.com?rec=nothing+A")
            #expect(r.status == .notFound)
            r = try await c.delete("/dom/dns/example.com")
            #expect(r.status == .noContent)
            r = try await c.get("/dom/dns/example.com")
            #expect(r.status == .notFound)
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func recordsAreValidatedLikeYAML() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.put("/dom/dns/example.com?rec=www+A+300.1.1.1")
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("invalid IPv4 address \"300.1.1.1\"") == true)
            r = try await c.put("/dom/dns/example.com?rec=www+BOGUS+x")
            #expect(r.errorMessage?.contains("unknown record type \"BOGUS\"") == true)
            r = try await c.put("/dom/dns/example.com?rec=bad_name!+A+192.0.2.1")
            #expect(r.errorMessage?.contains("invalid record name \"bad_name!\"") == true)
            r = try await c.put("/dom/dns/example.com", #"{"records": [{"name": "www", "type": "CNAME", "values": ["a", "b"]}]}"#)
            #expect(r.errorMessage?.contains("a CNAME record takes exactly one value") == true)
            #expect(r.errorMessage?.contains("api:/dom/dns/example.com:1:") == true)
            r = try await c.put("/dom/dns/example.com", #"{"records": [], "zone": "x"}"#)
            #expect(r.errorMessage?.contains("unknown key `zone`") == true)
            r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.1&provider=nope")
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("dns provider `nope` is not defined in inventory") == true)
            r = try await c.post("/dom/ns/example.com?ns=bad%20ns")
            #expect(r.errorMessage?.contains("invalid host name \"bad ns\"") == true)
            r = try await c.get("/dom/dns/-bad-.com")
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "name.invalid")
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func providerChoice() async throws {
        let inventory = """
            providers:
              pdns: { type: powerdns, url: "http://127.0.0.1:1" }
              other: { type: powerdns, url: "http://127.0.0.1:2" }
            """
        let f = try ServerFixture(inventory: inventory)
        try await f.withClient { c in
            var r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.1")
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "query.provider")
            r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.1&provider=other")
            #expect(r.status == .created)
            #expect(r.object["provider"] as? String == "other")
            r = try await c.post("/dom/ns/example.com?ns=ns1.example.net.")
            #expect(r.object["provider"] as? String == "other")
            r = try await c.post("/dom/ns/example.com?ns=ns1.example.net.&provider=pdns")
            #expect(r.status == .conflict)
            #expect(r.errorCode == "zone.provider_conflict")
        }
    }
}
