import Foundation
import OttoHTTP
import OttoTestSupport
import Testing

/// The fake DigitalOcean itself, over HTTP: pagination, actions in progress, auth, errors, headers, the control API.
@Suite struct DigitalOceanFakeTests {
    @Test func jsonKeepsBooleansApartFromNumbers() {
        let value = JSONValue.parse(Array(#"{"a":true,"b":1,"c":1.5,"d":null,"e":"x"}"#.utf8))
        #expect(value?["a"] == .bool(true))
        #expect(value?["b"] == .int(1))
        #expect(value?["c"] == .double(1.5))
        #expect(value?["d"] == .null)
        #expect(JSONValue.object(["p": .null]).text == #"{"p":null}"#)
    }

    @Test func overHTTP() async throws {
        // Actions take 2 s: long enough that the first look comes before they end even on a busy machine (with 0.3 s, a
        // parallel test run under load looked after it had ended), and polled for their end rather than slept on.
        try await DigitalOceanHarness.run(actionSeconds: 2) { h in
            let base = h.server.baseURL
            let auth = ["Authorization": "Bearer \(h.token)"]
            func get(_ path: String, headers: [String: String]? = nil) async throws -> HTTPResponse {
                do {
                    return try await h.client.send(HTTPRequest(url: base + path, headers: headers ?? auth))
                } catch let error as HTTPError {
                    return HTTPResponse(status: error.status ?? 0, headers: [:], body: Array(error.message.utf8))
                }
            }
            func post(_ path: String, _ body: String) async throws -> HTTPResponse {
                do {
                    return try await h.client.send(HTTPRequest(method: .post, url: base + path,
                                                               headers: auth.merging(["Content-Type": "application/json"]) { a, _ in a },
                                                               body: Array(body.utf8), idempotent: false))
                } catch let error as HTTPError {
                    return HTTPResponse(status: error.status ?? 0, headers: [:], body: Array(error.message.utf8))
                }
            }

            // Auth: DigitalOcean's own 401 body.
            let unauthorized = try await h.client.send(HTTPRequest(url: base + "/_fake/health"))
            #expect(unauthorized.status == 200, "the control API needs no token")
            let denied = await h.fake.handle(FakeHTTPRequest(method: "GET", path: "/v2/droplets"))
            #expect(denied.status == 401)
            #expect(denied.json == ["id": "Unauthorized", "message": "Unable to authenticate you"])

            // Seeding and pagination: links.pages and meta.total, at most 200 per page.
            let seeded = try await h.client.send(HTTPRequest(method: .post, url: base + "/_fake/seed",
                                                             body: Array(#"{"droplets": 450, "name_prefix": "s-", "tags": ["otto"]}"#.utf8)))
            #expect(JSONValue.parse(seeded.body)?["droplet_ids"]?.array?.count == 450)
            let page2 = try await get("/v2/droplets?tag_name=otto&per_page=500&page=2")
            #expect(page2.header("ratelimit-limit") != nil)
            #expect(page2.header("ratelimit-remaining") != nil)
            #expect(page2.header("ratelimit-reset") != nil)
            let json = try #require(JSONValue.parse(page2.body))
            #expect(json["droplets"]?.array?.count == 200)
            #expect(json["meta"]?["total"] == 450)
            let pages = try #require(json["links"]?["pages"])
            #expect(pages["next"]?.string == "\(base)/v2/droplets?page=3&per_page=200&tag_name=otto")
            #expect(pages["prev"]?.string == "\(base)/v2/droplets?page=1&per_page=200&tag_name=otto")
            #expect(pages["first"] != nil)
            #expect(pages["last"] != nil)
            let addresses = json["droplets"]?.array?.compactMap { $0["networks"]?["v4"]?.array?.first?["ip_address"]?.string } ?? []
            #expect(addresses.allSatisfy { $0.hasPrefix("203.0.113.") || $0.hasPrefix("198.51.100.") })

            // A create: 202, the droplet new with no address yet, its action in progress, then completed and active.
            let created = try await post("/v2/droplets", #"{"name":"web-1","size":"s-1vcpu-1gb","image":"debian-12-x64","ipv6":true}"#)
            #expect(created.status == 202)
            let droplet = try #require(JSONValue.parse(created.body)?["droplet"])
            #expect(droplet["status"] == "new")
            #expect(droplet["networks"]?["v4"] == [])
            let actionID = try #require(JSONValue.parse(created.body)?["links"]?["actions"]?.array?.first?["id"]?.int)
            let early = try await get("/v2/actions/\(actionID)")
            #expect(JSONValue.parse(early.body)?["action"]?["status"] == "in-progress")
            #expect(JSONValue.parse(early.body)?["action"]?["completed_at"] == .null)
            var late = try await get("/v2/actions/\(actionID)")
            var looks = 2
            let deadline = Date().addingTimeInterval(15)
            while JSONValue.parse(late.body)?["action"]?["status"] != "completed" && Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
                late = try await get("/v2/actions/\(actionID)")
                looks += 1
            }
            #expect(JSONValue.parse(late.body)?["action"]?["status"] == "completed")
            let active = try await get("/v2/droplets/\(droplet["id"]!.int!)")
            let after = try #require(JSONValue.parse(active.body)?["droplet"])
            #expect(after["status"] == "active")
            #expect(after["networks"]?["v6"]?.array?.first?["ip_address"]?.string?.hasPrefix("2001:db8:") == true)

            // Resize while on: refused like DigitalOcean does.
            let resize = try await post("/v2/droplets/\(droplet["id"]!.int!)/actions", #"{"type":"resize","size":"s-2vcpu-2gb"}"#)
            #expect(resize.status == 422)
            #expect(String(decoding: resize.body, as: UTF8.self).contains("power it off"))

            // Keys: the fingerprint is the MD5 of the blob; a second upload of the same key is refused.
            let key = DO.publicKey(8)
            let first = try await post("/v2/account/keys", #"{"name":"a","public_key":"\#(key)"}"#)
            #expect(first.status == 201)
            #expect(JSONValue.parse(first.body)?["ssh_key"]?["fingerprint"]?.string == FakeDigitalOcean.fingerprint(key))
            let again = try await post("/v2/account/keys", #"{"name":"b","public_key":"\#(key)"}"#)
            #expect(again.status == 422)
            #expect(String(decoding: again.body, as: UTF8.self) == "SSH Key is already in use on your account")

            // Domains: SOA and the three NS records, like DigitalOcean.
            let domain = try await post("/v2/domains", #"{"name":"example.test"}"#)
            #expect(domain.status == 201)
            let records = try await get("/v2/domains/example.test/records")
            let types = JSONValue.parse(records.body)?["domain_records"]?.array?.compactMap { $0["type"]?.string }
            #expect(types == ["SOA", "NS", "NS", "NS"])
            let ns = try await get("/v2/domains/example.test/records?type=NS&name=example.test")
            #expect(JSONValue.parse(ns.body)?["meta"]?["total"] == 3)

            // Counts by route, and a fault set over HTTP.
            let counts = try await h.client.send(HTTPRequest(url: base + "/_fake/counts"))
            #expect(JSONValue.parse(counts.body)?["requests"]?["GET /v2/actions/{action_id}"] == .int(looks))
            let bad = try? await h.client.send(HTTPRequest(method: .post, url: base + "/_fake/faults", body: Array(#"{"error_rate": 2}"#.utf8)))
            #expect(bad == nil, "an error rate above 1 is refused")
            _ = try await h.client.send(HTTPRequest(method: .post, url: base + "/_fake/faults", body: Array(#"{"lose_creates": 2}"#.utf8)))
            let faults = await h.fake.currentFaults()
            #expect(faults.loseCreates == 2)
        }
    }
}
