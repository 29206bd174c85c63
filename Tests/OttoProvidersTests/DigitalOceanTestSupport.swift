import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import Testing
@testable import OttoProviders

/// A fake DigitalOcean on a free loopback port and a provider pointed at it, for one test.
struct DigitalOceanHarness {
    let server: FakeDigitalOceanServer
    let provider: DigitalOceanProvider
    let client: HTTPClient
    /// A token of this test only: each test gets its own rate-limit bucket, and tests can look for it in errors.
    let token: String

    var fake: FakeDigitalOcean { server.fake }

    /// Starts the fake and builds the provider (short timeouts and polls, a generous bucket).
    static func start(timeout: Duration = .seconds(2), maxAttempts: Int = 4, rate: Double = 1000, burst: Int = 1000,
                      actionSeconds: Double = 0.05, backing: (any FakeDropletBacking)? = nil,
                      file: StaticString = #filePath) async throws -> DigitalOceanHarness {
        let token = "dop_v1_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let server = try await FakeDigitalOceanServer.start(FakeDigitalOcean(token: token, actionSeconds: actionSeconds, backing: backing))
        let client = HTTPClient(configuration: HTTPClientConfiguration(
            connectTimeout: .seconds(1), timeout: timeout,
            retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxRetryAfter: .seconds(5))))
        let provider = makeProvider(endpoint: server.baseURL, token: token, client: client, rate: rate, burst: burst)
        return DigitalOceanHarness(server: server, provider: provider, client: client, token: token)
    }

    static func makeProvider(endpoint: String, token: String, client: HTTPClient, rate: Double = 1000, burst: Int = 1000) -> DigitalOceanProvider {
        DigitalOceanProvider(name: "do", endpoint: endpoint, token: token, region: "nyc3", tag: "otto", sshKey: "/keys/otto_ed25519",
                             knownHosts: "/keys/known_hosts", rate: rate, burst: burst, concurrency: 16, hostKeys: .knownHosts,
                             pollInterval: .milliseconds(20), actionTimeout: .seconds(20), client: client)
    }

    /// Runs `body` with a fresh fake and provider, and stops the fake afterwards whatever happened.
    static func run(timeout: Duration = .seconds(2), maxAttempts: Int = 4, actionSeconds: Double = 0.05,
                    backing: (any FakeDropletBacking)? = nil, _ body: (DigitalOceanHarness) async throws -> Void) async throws {
        let harness = try await start(timeout: timeout, maxAttempts: maxAttempts, actionSeconds: actionSeconds, backing: backing)
        do {
            try await body(harness)
        } catch {
            await harness.server.stop()
            throw error
        }
        await harness.server.stop()
    }
}

extension DigitalOceanHarness {
    /// A `/v2` call straight to the fake (no HTTP), with this test's token; `body` is JSON text.
    func call(_ method: String, _ path: String, query: String = "", _ body: String? = nil) async -> FakeHTTPResponse {
        await fake.handle(FakeHTTPRequest(method: method, path: path, rawQuery: query,
                                          headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json",
                                                    "Host": "127.0.0.1:\(server.port)"],
                                          body: body.map { Array($0.utf8) } ?? []))
    }

    /// Polls action `id` until it is no longer in progress (at most `seconds`); returns its last status.
    func waitForAction(_ id: Int, seconds: Double = 30) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let status = await call("GET", "/v2/actions/\(id)").json?["action"]?["status"]?.string ?? "?"
            if status != "in-progress" || Date() > deadline { return status }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts action `body` (JSON) on droplet `droplet` and waits for it; returns the action id and its last status.
    func act(_ droplet: Int, _ body: String, seconds: Double = 30) async throws -> (id: Int, status: String) {
        let started = await call("POST", "/v2/droplets/\(droplet)/actions", body)
        let id = try #require(started.json?["action"]?["id"]?.int, "\(body): \(started.status) \(started.json?.text ?? "")")
        return (id, try await waitForAction(id, seconds: seconds))
    }

    /// Creates a droplet from `body` (JSON) and waits for its create action; returns the droplet id and the action's
    /// last status.
    func createDroplet(_ body: String, seconds: Double = 30) async throws -> (id: Int, status: String) {
        let created = await call("POST", "/v2/droplets", body)
        let id = try #require(created.json?["droplet"]?["id"]?.int, "\(created.status) \(created.json?.text ?? "")")
        let action = try #require(created.json?["links"]?["actions"]?.array?.first?["id"]?.int)
        return (id, try await waitForAction(action, seconds: seconds))
    }
}

/// Resources and requests as the configuration layer makes them.
enum DO {
    static func machine(_ index: Int = 0, group: String = "web", size: String = "s-1vcpu-1gb", image: String = "debian-12-x64",
                        region: String? = nil, name: String? = nil, sshKeys: [String]? = nil) -> Resource {
        var attributes: [String: Value] = [
            "name": .string(name ?? "demo-\(group)-\(index)"), "group": .string(group), "site": .string("demo"),
            "image": .string(image), "size": .string(size),
        ]
        if let region { attributes["region"] = .string(region) }
        if let sshKeys { attributes["ssh_keys"] = .list(sshKeys.map(Value.string)) }
        return Resource(address: ResourceAddress(kind: "machine", name: "demo.\(group)[\(index)]"), provider: "do", attributes: attributes)
    }

    static func zone(_ name: String = "demo.test.", nameservers: [String]? = nil) -> Resource {
        var attributes: [String: Value] = ["name": .string(name), "kind": .string("Native")]
        if let nameservers { attributes["nameservers"] = .list(nameservers.map(Value.string)) }
        return Resource(address: ResourceAddress(kind: "dns_zone", name: "demo"), provider: "do", attributes: attributes)
    }

    static func record(_ name: String, _ type: String, _ records: [String], ttl: Int = 300, zone: String = "demo.test.") -> Resource {
        let label = name == zone ? "@" : String(name.dropLast(zone.count + 1))
        return Resource(address: ResourceAddress(kind: "dns_record", name: "demo.\(label).\(type)"), provider: "do", attributes: [
            "zone": .string(zone), "name": .string(name), "type": .string(type), "ttl": .int(ttl), "records": .list(records.map(Value.string)),
        ])
    }

    static func sshKey(_ publicKey: String, name: String = "otto-do") -> Resource {
        Resource(address: ResourceAddress(kind: "ssh_key", name: "do"), provider: "do",
                 attributes: ["name": .string(name), "public_key": .string(publicKey)])
    }

    static func request(_ resource: Resource, id: String? = nil, pendingKey: String? = nil) -> ObserveRequest {
        ObserveRequest(address: resource.address, providerID: id, attributes: resource.attributes, pendingKey: pendingKey)
    }

    /// A well-formed ssh-ed25519 public key whose key bytes are all `byte`.
    static func publicKey(_ byte: UInt8, comment: String = "otto@test") -> String {
        func string(_ bytes: [UInt8]) -> [UInt8] {
            let n = UInt32(bytes.count)
            return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        let blob = string(Array("ssh-ed25519".utf8)) + string([UInt8](repeating: byte, count: 32))
        return "ssh-ed25519 \(Data(blob).base64EncodedString()) \(comment)"
    }

    /// What the planner would find different: desired attributes (not computed) that the observation does not equal.
    static func differences(_ resource: Resource, _ observed: ObservedResource, schema: KindSchema) -> [String] {
        resource.attributes.keys.sorted().filter { name in
            guard !schema.computed.contains(name) else { return false }
            let want = resource.attributes[name]!
            let have = observed.attributes[name]
            if schema.unordered.contains(name), let a = want.listValue, let b = have?.listValue {
                return a.map(\.description).sorted() != b.map(\.description).sorted()
            }
            return want != have
        }
    }
}

extension DigitalOceanProvider {
    /// The schema of `kind` (tests only).
    func testSchema(_ kind: String) -> KindSchema { schemas.first { $0.kind == kind }! }
}

/// Asserts that `body` throws, and returns the error's full text (message and cause).
func errorText(_ body: () async throws -> Void, sourceLocation: Testing.SourceLocation = #_sourceLocation) async -> String {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return ""
    } catch {
        return String(describing: error)
    }
}
