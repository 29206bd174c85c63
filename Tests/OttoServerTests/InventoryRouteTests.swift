import Foundation
import HTTPTypes
import OttoCore
import Testing

@Suite struct InventoryRouteTests {
    @Test func listsYAMLHosts() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            let r = try await c.get("/inv")
            #expect(r.status == .ok)
            let items = r.object["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["name"] as? String } == ["yamlhost"])
            #expect(items.first?["source"] as? String == "yaml")
            #expect(items.first?["location"] as? String == "inventory/main.yml:4:3")
        }
    }

    @Test func postGetReplaceDelete() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/inv/web1", #"{"address": "192.0.2.21", "port": 2222, "user": "deploy", "groups": ["web"], "vars": {"role": "front"}}"#)
            #expect(r.status == .created)
            #expect(r.headers[.location] == "/inv/web1")
            #expect(r.object["source"] as? String == "api")
            #expect(r.object["port"] as? Int == 2222)
            #expect(r.object["location"] as? String == "api:/inv/web1:1:1")
            r = try await c.get("/inv/web1")
            #expect(r.status == .ok)
            #expect(r.object["address"] as? String == "192.0.2.21")
            #expect((r.object["vars"] as? [String: Any])?["role"] as? String == "front")
            r = try await c.post("/inv/web1", #"{"address": "192.0.2.22"}"#)
            #expect(r.status == .ok)
            #expect(r.object["port"] as? Int == 22)
            #expect(r.object["user"] as? String == "root")
            r = try await c.get("/inv")
            #expect((r.object["items"] as? [[String: Any]])?.count == 2)
            r = try await c.delete("/inv/web1")
            #expect(r.status == .noContent)
            r = try await c.get("/inv/web1")
            #expect(r.status == .notFound)
            #expect(r.errorCode == "not_found")
            r = try await c.delete("/inv/web1")
            #expect(r.status == .notFound)
        }
    }

    @Test func yamlHostIsReadOnly() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/inv/yamlhost", #"{"address": "192.0.2.99"}"#)
            #expect(r.status == .conflict)
            #expect(r.errorCode == "item.yaml_owned")
            #expect(r.errorMessage?.contains("inventory/main.yml:4:3") == true)
            r = try await c.delete("/inv/yamlhost")
            #expect(r.status == .conflict)
            #expect(r.errorMessage?.contains("inventory/main.yml:4:3") == true)
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func invalidHostsAreRejectedLikeYAML() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/inv/web1", #"{"port": 70000}"#)
            #expect(r.status == .unprocessableContent)
            #expect(r.errorCode == "config.invalid")
            #expect(r.errorMessage == "api:/inv/web1:1:10: error: port must be between 1 and 65535, got 70000")
            r = try await c.post("/inv/web1", #"{"adress": "192.0.2.1"}"#)
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("unknown key `adress` in host `web1`; did you mean `address`?") == true)
            r = try await c.post("/inv/web1", #"{"port": "22"}"#)
            #expect(r.errorMessage?.contains("expected an integer, got string \"22\"") == true)
            r = try await c.post("/inv/bad%20name", #"{}"#)
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("invalid host name \"bad name\"") == true)
            r = try await c.post("/inv/web1", "[1, 2]")
            #expect(r.errorMessage?.contains("expected host `web1` (a mapping), got a list") == true)
        }
        #expect(try f.storedItems().isEmpty)
    }
}
