import OttoConfig
import OttoCore
import Testing

/// Desired state written over the HTTP API: JSON read into the YAML model with positions, merged with the same reader.
@Suite struct APIItemsTests {
    static let inventory = "providers:\n  pdns: { type: powerdns, url: \"http://127.0.0.1:1\" }\n"

    @Test func jsonNodesKeepPositionsAndTypes() throws {
        let node = try JSONNodeReader.parse("{\n  \"a\": 1,\n  \"b\": \"1\",\n  \"c\": [true, null, 2.5]\n}", file: "api:/x")
        #expect(node.location.description == "api:/x:1:1")
        #expect(node["a"]?.scalar == .int(1))
        #expect(node["a"]?.location.description == "api:/x:2:8")
        #expect(node["b"]?.scalar == .string("1"))
        #expect(node["c"]?.items?.map(\.scalar) == [.bool(true), .null, .double(2.5)])
        #expect(node.entries?[2].key.location.description == "api:/x:4:3")
        #expect(try JSONNodeReader.parse(#""\u00e9\ud83d\ude00\n""#, file: "f").scalar == .string("é😀\n"))
    }

    @Test func jsonErrorsAreLocated() {
        func error(_ text: String) -> String {
            do { _ = try JSONNodeReader.parse(text, file: "api:/x"); return "" } catch { return error.description }
        }
        #expect(error("{\"a\": 1,\n }") == "api:/x:2:2: error: invalid JSON: expected an object key (a string in double quotes), found `}`")
        #expect(error("{\"a\": 1, \"a\": 2}") == "api:/x:1:10: error: invalid JSON: key \"a\" is repeated (first at api:/x:1:2)")
        #expect(error("[1] [2]") == "api:/x:1:5: error: invalid JSON: unexpected text after the JSON value")
        #expect(error("") == "api:/x:1:1: error: invalid JSON: expected a value, found the end of the document")
        #expect(error(String(repeating: "[", count: 129)).contains("nesting deeper than 128 levels"))
        #expect(error("\"\\ud800\"").contains("unpaired UTF-16 surrogate"))
    }

    @Test func hostItemsJoinTheInventory() throws {
        let item = APIItem(key: APIItemKey(.host, "web1"), document: #"{"address": "192.0.2.1", "groups": ["web"], "vars": {"a": 1}}"#)
        let project = try Project.load(sources: [("inventory/a.yml", Self.inventory)], api: [item])
        let host = try #require(project.inventory.hosts["web1"])
        #expect(host.address == "192.0.2.1")
        #expect(host.vars == ["a": 1])
        #expect(host.location.description == "api:/inv/web1:1:1")
        #expect(project.inventory.groups["web"] == ["web1"])
    }

    @Test func badHostItemsAreDiagnosedLikeYAML() {
        let bad = APIItem(key: APIItemKey(.host, "web1"), document: #"{"port": 0, "colour": "red"}"#)
        #expect(throws: DiagnosticsError.self) { try Project.load(sources: [("inventory/a.yml", Self.inventory)], api: [bad]) }
        do {
            _ = try Project.load(sources: [("inventory/a.yml", Self.inventory)], api: [bad])
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "api:/inv/web1:1:10: error: port must be between 1 and 65535, got 0",
                "api:/inv/web1:1:13: error: unknown key `colour` in host `web1`",
            ])
        }
    }

    @Test func zoneItemsMakeADNSOnlySite() throws {
        let ns = APIItem(key: APIItemKey(.nameservers, "example.com"), provider: "pdns", document: #"{"nameservers": ["ns1.example.net."]}"#)
        let recs = APIItem(key: APIItemKey(.records, "example.com"), provider: "pdns",
                           document: #"{"ttl": 60, "records": [{"name": "www", "type": "A", "value": "192.0.2.7"}]}"#)
        let project = try Project.load(sources: [("inventory/a.yml", Self.inventory)], api: [ns, recs])
        #expect(project.apiSites.map(\.name) == ["example.com"])
        let record = try #require(project.resources.first { $0.address == "dns_record.example.com.www.A" })
        #expect(record.attributes["ttl"] == 60)
        #expect(record.source == .api)
        #expect(project.resources.first { $0.address == "dns_zone.example.com" }?.attributes["nameservers"] == .list(["ns1.example.net."]))
        #expect(project.yamlOwner(of: APIItemKey(.records, "example.com")) == nil)
    }

    @Test func yamlHostNamesAreCheckedToo() {
        #expect(throws: DiagnosticsError.self) {
            try Project.load(sources: [("inventory/a.yml", "hosts:\n  \"bad name\": {}\n")])
        }
        #expect(Project.normalizedDomain("Example.COM.") == "example.com")
        #expect(Project.normalizedDomain("-x.com") == nil)
    }
}
