import Foundation
import HTTPTypes
import OttoConfig
import OttoCore
import OttoServer
import OttoState
import OttoTestSupport
import Testing

/// Items written over HTTP are stored with source=api, merged into the project the reconciler plans, and a refused
/// write leaves the store as it was.
@Suite struct PersistenceTests {
    @Test(arguments: StoreBackend.allCases)
    func recordsBecomeResourcesWithSourceAPI(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { (c: Client) async throws in
            #expect(try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.10").status == .created)
            #expect(try await c.post("/dom/ns/example.com?ns=ns1.example.net.").status == .created)
        }
        let project = try f.loadProject()
        let zone = try #require(project.resources.first { $0.address == "dns_zone.example.com" })
        #expect(zone.source == .api)
        #expect(zone.provider == "pdns")
        #expect(zone.attributes["nameservers"] == .list(["ns1.example.net."]))
        let record = try #require(project.resources.first { $0.address == "dns_record.example.com.www.A" })
        #expect(record.source == .api)
        #expect(record.attributes["records"] == .list(["192.0.2.10"]))
        #expect(record.location?.file == "api:/dom/dns/example.com")
        #expect(record.dependencies.map(\.address) == ["dns_zone.example.com"])
        #expect(project.resources.first { $0.address == "dns_record.shop.www.A" }?.source == .yaml)
    }

    @Test(arguments: StoreBackend.allCases)
    func apiHostFeedsAStaticGroup(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend, inventory: """
            providers:
              pdns: { type: powerdns, url: "http://127.0.0.1:1" }
            """)
        try await f.withClient { (c: Client) async throws in
            let r = try await c.post("/inv/web1", #"{"address": "192.0.2.31", "user": "deploy", "groups": ["web"]}"#)
            #expect(r.status == .created)
        }
        let project = try f.loadProject()
        let machine = try #require(project.resources.first { $0.address == "machine.shop.web[0]" })
        #expect(machine.attributes["address"] == "192.0.2.31")
        #expect(machine.attributes["user"] == "deploy")
        #expect(project.inventory.hosts["web1"]?.location.description == "api:/inv/web1:1:1")
    }

    @Test(arguments: StoreBackend.allCases)
    func refusedWritesChangeNothing(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend, inventory: """
            providers:
              pdns: { type: powerdns, url: "http://127.0.0.1:1" }
            """)
        try await f.withClient { (c: Client) async throws in
            #expect(try await c.post("/inv/web1", #"{"address": "192.0.2.31", "groups": ["web"]}"#).status == .created)
            #expect(try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.10").status == .created)
        }
        let before = try f.storedItems()
        try await f.withClient { (c: Client) async throws in
            // Deleting the only host of the static group `web` would break site shop: refused, with the reason.
            var r = try await c.delete("/inv/web1")
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("static machine group `web` needs 1 host(s)") == true)
            r = try await c.post("/inv/web1", #"{"port": 0}"#)
            #expect(r.status == .unprocessableContent)
            r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.11&rec=www+A+bad")
            #expect(r.status == .unprocessableContent)
            r = try await c.put("/dom/dns/example.com", #"{"records": [{"name": "x", "type": "A"}]}"#)
            #expect(r.status == .unprocessableContent)
            r = try await c.post("/dom/ns/shop.test?ns=ns1.example.net.")
            #expect(r.status == .conflict)
        }
        #expect(try f.storedItems() == before)
        #expect(f.desired.snapshot.items.count == 2)
    }

    @Test(arguments: StoreBackend.allCases)
    func yamlWinsOverAnItemWrittenBeforeIt(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { (c: Client) async throws in
            #expect(try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.10").status == .created)
        }
        try """
            site: ex
            domain: example.com
            dns:
              provider: pdns
              records:
                - { name: www, type: A, value: 192.0.2.99 }
            """.write(toFile: f.dir + "/sites/ex.yml", atomically: true, encoding: .utf8)
        let project = try f.loadProject()
        #expect(project.resources.first { $0.address == "dns_record.example.com.www.A" } == nil)
        #expect(project.resources.first { $0.address == "dns_record.ex.www.A" }?.attributes["records"] == .list(["192.0.2.99"]))
        #expect(project.warnings.contains { $0.message.contains("written over the API is ignored: site `ex` manages it at sites/ex.yml:4:3") })
        await f.desired.reloadIfFilesChanged()
        try await f.withClient { (c: Client) async throws in
            let r = try await c.get("/dom/dns/example.com")
            #expect(r.object["source"] as? String == "yaml")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func storeWritesAreAtomic(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        let a = APIItem(key: APIItemKey(.host, "a"), document: "{}")
        try f.store.writeAPIItems(put: [a], remove: [])
        #expect(try f.store.apiItems().map(\.key.name) == ["a"])
        try f.store.writeAPIItems(put: [APIItem(key: APIItemKey(.records, "example.com"), provider: "pdns", document: "{}")],
                                  remove: [a.key])
        let items = try f.store.apiItems()
        #expect(items.map(\.key) == [APIItemKey(.records, "example.com")])
        #expect(items.first?.provider == "pdns")
    }
}
