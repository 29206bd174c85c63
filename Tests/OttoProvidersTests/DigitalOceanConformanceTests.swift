import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Keeps the fake DigitalOcean honest: drives every endpoint the provider uses (through the provider, and raw calls for
/// the error answers) with recording on, then checks every recorded request and response against the official OpenAPI
/// spec with scripts/do-conformance.py (openapi-core, in the project's .venv).
@Suite struct DigitalOceanConformanceTests {
    /// The package root, from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `METHOD /route` the provider relies on; the recording must hold each.
    static let requiredRoutes = [
        "GET /v2/droplets", "POST /v2/droplets", "GET /v2/droplets/{droplet_id}", "DELETE /v2/droplets/{droplet_id}",
        "POST /v2/droplets/{droplet_id}/actions", "GET /v2/actions/{action_id}",
        "GET /v2/account/keys", "POST /v2/account/keys", "GET /v2/account/keys/{ssh_key_identifier}",
        "PUT /v2/account/keys/{ssh_key_identifier}", "DELETE /v2/account/keys/{ssh_key_identifier}",
        "GET /v2/domains", "POST /v2/domains", "GET /v2/domains/{domain_name}", "DELETE /v2/domains/{domain_name}",
        "GET /v2/domains/{domain_name}/records", "POST /v2/domains/{domain_name}/records",
        "GET /v2/domains/{domain_name}/records/{domain_record_id}", "PUT /v2/domains/{domain_name}/records/{domain_record_id}",
        "PATCH /v2/domains/{domain_name}/records/{domain_record_id}", "DELETE /v2/domains/{domain_name}/records/{domain_record_id}",
        // Golden images: snapshots, images, tags.
        "GET /v2/droplets/{droplet_id}/snapshots", "GET /v2/snapshots", "GET /v2/snapshots/{snapshot_id}",
        "DELETE /v2/snapshots/{snapshot_id}", "GET /v2/images", "GET /v2/images/{image_id}", "PUT /v2/images/{image_id}",
        "DELETE /v2/images/{image_id}", "GET /v2/tags", "POST /v2/tags", "GET /v2/tags/{tag_id}", "DELETE /v2/tags/{tag_id}",
        "POST /v2/tags/{tag_id}/resources", "DELETE /v2/tags/{tag_id}/resources",
    ]

    /// The venv's python and the script, or a test failure saying how to get them.
    static func checker(sourceLocation: Testing.SourceLocation = #_sourceLocation) -> (python: String, script: String)? {
        let python = packageRoot.appendingPathComponent(".venv/bin/python").path
        let script = packageRoot.appendingPathComponent("scripts/do-conformance.py").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("the conformance check needs the project's Python venv at \(python) (openapi-core); run `make test` or scripts/install-deps.sh", sourceLocation: sourceLocation)
            return nil
        }
        return (python, script)
    }

    /// The spec files in Tests/Fixtures are the official ones, unchanged (when the official copy is at hand to compare).
    @Test func theSpecCopyIsTheOfficialSpec() throws {
        let copy = Self.packageRoot.appendingPathComponent("Tests/Fixtures/digitalocean-openapi")
        let official = Self.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/specs/digitalocean-openapi")
        let files = try #require(FileManager.default.enumerator(atPath: copy.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
        #expect(files.count > 50)
        guard FileManager.default.fileExists(atPath: official.path) else { return }
        for file in files {
            #expect(FileManager.default.contents(atPath: copy.appendingPathComponent(file).path) == FileManager.default.contents(atPath: official.appendingPathComponent(file).path), "\(file) differs from the official spec")
        }
        #expect(FileManager.default.contents(atPath: copy.appendingPathComponent("SOURCE").path) == FileManager.default.contents(atPath: official.appendingPathComponent("SOURCE").path))
    }

    @Test func theCheckCatchesDrift() async throws {
        guard let (python, script) = Self.checker() else { return }
        let headers = #""response_headers":{"ratelimit-limit":"5000","ratelimit-remaining":"4999","ratelimit-reset":"1700000000"}"#
        let bad = [
            // An error body without `message`.
            #"{"method":"GET","path":"/v2/droplets/7","route":"/v2/droplets/{droplet_id}","query":{},"request_body":null,"status":404,"# + headers
                + #","response_body":{"id":"not_found"},"delivered":true}"#,
            // An action status the spec does not know, and an undeclared member.
            #"{"method":"GET","path":"/v2/actions/1","route":"/v2/actions/{action_id}","query":{},"request_body":null,"status":200,"# + headers
                + #","response_body":{"action":{"id":1,"status":"done","type":"create","extra":true}},"delivered":true}"#,
            // A request asking for more than 200 per page.
            #"{"method":"GET","path":"/v2/droplets","route":"/v2/droplets","query":{"per_page":"500"},"request_body":null,"status":200,"# + headers
                + #","response_body":{"droplets":[],"links":{},"meta":{"total":0}},"delivered":true}"#,
        ]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("otto-do-drift-\(UUID().uuidString).jsonl").path
        try (bad.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await runProcess([python, script, path])
        let output = result.stdout + result.stderr
        #expect(result.status == 1, "\(output)")
        for expected in ["'message' is a required property", "'done' is not one of", "body.action.extra: not declared by the spec",
                         "500 is greater than the maximum of 200"] {
            #expect(result.stdout.contains(expected), "missing \(expected) in:\n\(output)")
        }
    }

    @Test func recordedExchangesConformToTheOfficialSpec() async throws {
        guard let (python, script) = Self.checker() else { return }
        // OTTO_DO_RECORDING=PATH keeps the recording there (to rerun the script by hand).
        let kept = ProcessInfo.processInfo.environment["OTTO_DO_RECORDING"].flatMap { $0.isEmpty ? nil : $0 }
        let recording = kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("otto-do-exchanges-\(UUID().uuidString).jsonl").path
        defer { if kept == nil { try? FileManager.default.removeItem(atPath: recording) } }

        try await DigitalOceanHarness.run(timeout: .seconds(1)) { h in
            await h.fake.startRecording(to: recording)
            try await driveEveryEndpoint(h)
            let count = try await h.fake.stopRecording()
            #expect(count > 100)
        }

        let result = try await runProcess([python, script, "--require", Self.requiredRoutes.joined(separator: ","), recording])
        let output = result.stdout + result.stderr
        #expect(result.status == 0, "the fake or the provider strays from the DigitalOcean spec:\n\(output)")
        #expect(result.stdout.contains("0 violation(s)"), "\(output)")
    }

    /// Every endpoint, through the provider where it can, raw for answers the provider never provokes.
    private func driveEveryEndpoint(_ h: DigitalOceanHarness) async throws {
        let provider = h.provider
        let auth = ["Authorization": "Bearer \(h.token)", "Content-Type": "application/json", "Host": "127.0.0.1:\(h.server.port)"]
        func raw(_ method: String, _ path: String, query: String = "", _ body: String? = nil, headers: [String: String]? = nil) async -> FakeHTTPResponse {
            await h.fake.handle(FakeHTTPRequest(method: method, path: path, rawQuery: query, headers: headers ?? auth,
                                                body: body.map { Array($0.utf8) } ?? []))
        }

        // SSH keys: create, list, adopt (422), rename (PUT), get, delete.
        await h.fake.seedKey(name: "someone else", publicKey: DO.publicKey(21))
        let key = try await provider.create(DO.sshKey(DO.publicKey(20)))
        _ = try await provider.observe(kind: "ssh_key", [DO.request(DO.sshKey(DO.publicKey(20)))])
        let adopted = try await provider.create(DO.sshKey(DO.publicKey(21)))
        #expect(adopted.attributes["owned"] == .bool(false))
        _ = try await provider.update(DO.sshKey(DO.publicKey(20), name: "otto-do-renamed"), current: key, changed: ["name"])
        let fingerprint = key.attributes["fingerprint"]!.stringValue!
        expectStatus(200, await raw("GET", "/v2/account/keys/\(key.providerID)"))
        expectStatus(200, await raw("GET", "/v2/account/keys/\(fingerprint)"))
        expectStatus(422, await raw("POST", "/v2/account/keys", #"{"name":"bad","public_key":"not a key"}"#))

        // Droplets: create (with the key), observe, import, resize, rename, lost and refused creates, delete, 404s.
        await h.fake.seedDroplets(count: 230, namePrefix: "fleet-", tags: ["otto"])
        let machine = provider.derive(DO.machine(0, sshKeys: [fingerprint]))
        let created = try await provider.create(machine, idempotencyKey: PendingCreate.newKey())
        _ = try await provider.observe(kind: "machine", [DO.request(machine), DO.request(DO.machine(1), id: "999999")])
        let resized = try await provider.update(provider.derive(DO.machine(0, size: "s-2vcpu-2gb")), current: created, changed: ["size"])
        let renamed = try await provider.update(provider.derive(DO.machine(0, size: "s-2vcpu-2gb", name: "demo-web-zero")),
                                                current: resized, changed: ["name"])
        var faults = FakeDigitalOceanFaults()
        faults.loseCreates = 1
        faults.failCreates = 1
        await h.fake.setFaults(faults)
        let second = try await provider.create(provider.derive(DO.machine(1)), idempotencyKey: PendingCreate.newKey())
        await h.fake.setFaults(FakeDigitalOceanFaults())
        expectStatus(422, await raw("POST", "/v2/droplets", #"{"name":"x","size":"nope","image":"debian-12-x64"}"#))
        expectStatus(422, await raw("POST", "/v2/droplets/\(second.providerID)/actions", #"{"type":"resize","size":"s-2vcpu-4gb","disk":false}"#))
        let action = await raw("POST", "/v2/droplets/\(second.providerID)/actions", #"{"type":"reboot"}"#)
        #expect(action.status == 201)
        let actionID = action.json?["action"]?["id"]?.int ?? 0
        expectStatus(200, await raw("GET", "/v2/droplets/\(second.providerID)/actions/\(actionID)"))
        expectStatus(404, await raw("GET", "/v2/actions/1"))
        expectStatus(200, await raw("GET", "/v2/droplets", query: "name=demo-web-1&per_page=5"))
        expectStatus(200, await raw("GET", "/v2/droplets", query: "page=2&per_page=100"))
        try await provider.delete(machine.address, current: renamed)
        try await provider.delete(machine.address, current: renamed)  // 404: already gone
        expectStatus(404, await raw("GET", "/v2/droplets/\(created.providerID)"))
        expectStatus(401, await raw("GET", "/v2/droplets", headers: [:]))

        // Throttled: a 429 with Retry-After, then the retry.
        faults = FakeDigitalOceanFaults()
        faults.throttleEvery = 1_000_000
        faults.throttleForSeconds = 0.05
        faults.retryAfterSeconds = 1
        await h.fake.setFaults(faults)
        _ = try await provider.observe(kind: "ssh_key", [DO.request(DO.sshKey(DO.publicKey(20)))])
        await h.fake.setFaults(FakeDigitalOceanFaults())

        // Domains and records: every type, update, delete, filters, PATCH, errors.
        let zone = try await provider.create(DO.zone(nameservers: ["ns1.example.net.", "ns2.example.net."]))
        _ = try await provider.create(DO.zone())  // exists: 422, then adopted
        _ = try await provider.observe(kind: "dns_zone", [DO.request(DO.zone())])
        let records = [
            DO.record("demo.test.", "A", ["192.0.2.1", "192.0.2.2"]), DO.record("web.demo.test.", "AAAA", ["2001:db8::1"]),
            DO.record("www.demo.test.", "CNAME", ["web.demo.test."]), DO.record("demo.test.", "MX", ["10 mail.demo.test."]),
            DO.record("demo.test.", "TXT", ["\"v=spf1 -all\""]), DO.record("sub.demo.test.", "NS", ["ns1.elsewhere.test."]),
            DO.record("_sip._tcp.demo.test.", "SRV", ["10 5 5060 sip.demo.test."]),
        ]
        var made: [ObservedResource] = []
        for record in records { made.append(try await provider.create(record)) }
        _ = try await provider.observe(kind: "dns_record", records.map { DO.request($0) })
        _ = try await provider.update(DO.record("demo.test.", "A", ["192.0.2.2", "192.0.2.3"], ttl: 600), current: made[0], changed: ["records"])
        let list = await raw("GET", "/v2/domains/demo.test/records", query: "type=TXT")
        let txtID = list.json?["domain_records"]?.array?.first?["id"]?.int ?? 0
        expectStatus(200, await raw("GET", "/v2/domains/demo.test/records/\(txtID)"))
        expectStatus(200, await raw("PATCH", "/v2/domains/demo.test/records/\(txtID)", #"{"type":"TXT","ttl":900}"#))
        expectStatus(422, await raw("POST", "/v2/domains/demo.test/records",
                                    #"{"type":"A","name":"bad","data":"not-an-ip","priority":null,"port":null,"ttl":300,"weight":null,"flags":null,"tag":null}"#))
        expectStatus(404, await raw("GET", "/v2/domains/nope.test/records"))
        expectStatus(404, await raw("GET", "/v2/domains/nope.test"))
        for (record, observed) in zip(records, made) { try await provider.delete(record.address, current: observed) }
        try await provider.delete(DO.zone().address, current: zone)
        try await provider.delete(DO.sshKey(DO.publicKey(20)).address, current: key)
        try await provider.delete(DO.sshKey(DO.publicKey(20)).address, current: key)  // 404: already gone

        try await driveImageEndpoints(h)
    }

    /// A golden image build's calls: a builder droplet, power off, snapshot, tag the image, find it by tag, boot a
    /// droplet from it, rename it, delete it; plus the snapshot views and the error answers.
    private func driveImageEndpoints(_ h: DigitalOceanHarness) async throws {
        func call(_ method: String, _ path: String, query: String = "", _ body: String? = nil) async -> FakeHTTPResponse {
            await h.call(method, path, query: query, body)
        }
        let (builder, _) = try await h.createDroplet(#"{"name":"golden-web","size":"s-1vcpu-1gb","image":"debian-12-x64","region":"nyc3","tags":["otto"]}"#)
        #expect(try await h.act(builder, #"{"type":"shutdown"}"#).status == "completed")
        #expect(try await h.act(builder, #"{"type":"snapshot","name":"web-5e1f0c"}"#).status == "completed")
        let image = try #require(await h.fake.imageSummaries().first?.id)
        expectStatus(200, await call("GET", "/v2/droplets/\(builder)/snapshots", query: "per_page=10"))
        expectStatus(404, await call("GET", "/v2/droplets/1/snapshots"))
        expectStatus(200, await call("GET", "/v2/snapshots", query: "resource_type=droplet"))
        expectStatus(200, await call("GET", "/v2/snapshots"))
        expectStatus(200, await call("GET", "/v2/snapshots/\(image)"))
        expectStatus(400, await call("GET", "/v2/snapshots/150000001"))
        expectStatus(404, await call("GET", "/v2/snapshots/7"))

        let tag = "otto-image:web-5e1f0c"
        expectStatus(201, await call("POST", "/v2/tags", #"{"name":"\#(tag)"}"#))
        expectStatus(204, await call("POST", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"\#(image)","resource_type":"image"}]}"#))
        expectStatus(204, await call("POST", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"\#(builder)","resource_type":"droplet"}]}"#))
        expectStatus(404, await call("POST", "/v2/tags/otto-absent/resources", #"{"resources":[{"resource_id":"\#(image)","resource_type":"image"}]}"#))
        expectStatus(200, await call("GET", "/v2/tags/\(tag)"))
        expectStatus(200, await call("GET", "/v2/tags/otto"))
        expectStatus(404, await call("GET", "/v2/tags/otto-absent"))
        expectStatus(200, await call("GET", "/v2/tags", query: "per_page=5"))
        expectStatus(200, await call("GET", "/v2/images", query: "private=true&tag_name=\(tag)"))
        expectStatus(200, await call("GET", "/v2/images", query: "type=distribution&per_page=2&page=2"))
        expectStatus(200, await call("GET", "/v2/images"))
        expectStatus(200, await call("GET", "/v2/images/\(image)"))
        expectStatus(200, await call("GET", "/v2/images/debian-12-x64"))
        expectStatus(404, await call("GET", "/v2/images/7"))
        expectStatus(200, await call("PUT", "/v2/images/\(image)", #"{"name":"web-5e1f0c","description":"otto golden image web","distribution":"Debian"}"#))
        expectStatus(404, await call("PUT", "/v2/images/150000001", #"{"name":"mine"}"#))

        // A droplet from the snapshot, and one from an image that does not exist (422).
        let (copy, _) = try await h.createDroplet(#"{"name":"web-7","size":"s-1vcpu-1gb","image":\#(image),"region":"nyc3"}"#)
        expectStatus(422, await call("POST", "/v2/droplets", #"{"name":"web-8","size":"s-1vcpu-1gb","image":424242}"#))
        expectStatus(200, await call("GET", "/v2/droplets/\(copy)"))

        expectStatus(204, await call("DELETE", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"\#(builder)","resource_type":"droplet"}]}"#))
        expectStatus(204, await call("DELETE", "/v2/tags/\(tag)", nil))
        expectStatus(404, await call("DELETE", "/v2/tags/\(tag)", nil))
        expectStatus(204, await call("DELETE", "/v2/images/\(image)", nil))
        expectStatus(404, await call("DELETE", "/v2/images/\(image)", nil))
        #expect(try await h.act(builder, #"{"type":"snapshot"}"#).status == "completed")
        let second = try #require(await h.fake.imageSummaries().first?.id)
        expectStatus(204, await call("DELETE", "/v2/snapshots/\(second)", nil))
        expectStatus(404, await call("DELETE", "/v2/snapshots/\(second)", nil))
        expectStatus(400, await call("DELETE", "/v2/snapshots/150000001", nil))
        for id in [builder, copy] { expectStatus(204, await call("DELETE", "/v2/droplets/\(id)", nil)) }
    }

    private func expectStatus(_ status: Int, _ response: FakeHTTPResponse, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(response.json?.text ?? "")", sourceLocation: sourceLocation)
    }
}
