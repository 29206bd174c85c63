import Foundation
import OttoCore
import OttoHTTP
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// A fake fleet on a free loopback port and a provider pointed at it, for one test.
struct FleetHarness {
    let server: FakeFleetServer
    let provider: FleetAPIProvider
    var fake: FakeFleet { server.fake }

    /// Runs `body` with a fresh fake (three machines unless told) and provider; stops both afterwards whatever happened.
    static func run(machines: [FakeFleetMachine] = FakeFleetTests.machines, pageSize: Int = 100,
                    _ body: (FleetHarness) async throws -> Void) async throws {
        let server = try await FakeFleetServer.start(FakeFleet(machines: machines, pageSize: pageSize))
        let client = HTTPClient(configuration: HTTPClientConfiguration(connectTimeout: .seconds(2), timeout: .seconds(10),
                                                                       retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(20))))
        let provider = FleetAPIProvider(name: "fleet", settings: FleetAPISettings(endpoint: .http(root: server.baseURL)), concurrency: 16,
                                        client: client)
        let harness = FleetHarness(server: server, provider: provider)
        do {
            try await body(harness)
        } catch {
            await provider.shutdown()
            await server.stop()
            throw error
        }
        await provider.shutdown()
        await server.stop()
    }

    /// What the provider observes of `resources`, by unit name.
    func observe(_ resources: [Resource]) async throws -> [String: ObservedResource] {
        let found = try await provider.observe(kind: "fleet_unit", resources.map { ObserveRequest(address: $0.address, providerID: nil, attributes: $0.attributes) })
        var out: [String: ObservedResource] = [:]
        for r in resources { if let o = found[r.address], let name = r.attributes["name"]?.stringValue { out[name] = o } }
        return out
    }

    /// The observation of one resource.
    func observe(_ resource: Resource) async throws -> ObservedResource? {
        try await observe([resource]).values.first
    }
}

/// The fleet provider against the fake fleet over loopback HTTP (and, tagged `sshd`, over SSH to its unix socket).
@Suite struct FleetAPIProviderTests {
    /// A `fleet_unit` resource as the configuration writes one.
    static func unit(_ name: String, _ state: String = "launched", exec: String = "/usr/bin/sleep 3000",
                     fleet: [(String, String)] = [], extra: [FleetUnitOption] = []) -> Resource {
        var options = [FleetUnitOption(section: "Unit", name: "Description", value: "otto test \(name)"),
                       FleetUnitOption(section: "Service", name: "ExecStart", value: exec)]
        options += fleet.map { FleetUnitOption(section: "X-Fleet", name: $0.0, value: $0.1) }
        options += extra
        return Resource(address: ResourceAddress(kind: "fleet_unit", name: "demo." + name), provider: "fleet", attributes: [
            "name": .string(name),
            "options": .list(options.map { .map(["section": .string($0.section), "name": .string($0.name), "value": .string($0.value)]) }),
            "desired_state": .string(state),
        ])
    }

    /// `resource` with another desired state.
    static func with(_ resource: Resource, state: String) -> Resource {
        var r = resource
        r.attributes["desired_state"] = .string(state)
        return r
    }

    /// The OttoError `body` throws (a failed expectation when it throws something else or nothing).
    static func ottoError(_ body: () async throws -> Void) async -> OttoError? {
        do {
            try await body()
            Issue.record("expected an OttoError, got success")
        } catch let error as OttoError {
            return error
        } catch {
            Issue.record("expected an OttoError, got \(error)")
        }
        return nil
    }

    @Test func theSchemaIsTyped() throws {
        let schema = FleetAPIProvider.unitSchema
        #expect(schema.kind == "fleet_unit")
        #expect(schema.forceNew == ["name"])
        #expect(schema.computed == ["current_state", "machine_id", "load_state", "active_state", "sub_state", "hash"])
        #expect(schema.check(Self.unit("a.service")).isEmpty)
        var bad = Self.unit("a.service")
        bad.attributes["machine_id"] = "m1"
        bad.attributes["desired_state"] = nil
        let problems = schema.check(bad).map(\.message)
        #expect(problems.contains { $0.contains("`machine_id` of kind `fleet_unit` is set by the provider") }, "\(problems)")
        #expect(problems.contains { $0.contains("requires attribute `desired_state`") }, "\(problems)")
    }

    /// fleetctl's verbs, through create, update and delete: submit (inactive), load, start, stop, unload, destroy.
    @Test func submitLoadStartStopUnloadDestroy() async throws {
        try await FleetHarness.run { h in
            let submitted = Self.unit("hello.service", "inactive")
            #expect(try await h.observe(submitted) == nil)
            var observed = try await h.provider.create(submitted)
            #expect(observed.providerID == "hello.service")
            #expect(observed.attributes["desired_state"] == "inactive")
            #expect(observed.attributes["current_state"] == "inactive")
            #expect(observed.attributes["machine_id"] == .null)
            #expect(observed.attributes["active_state"] == .null)
            #expect(observed.attributes["options"] == submitted.attributes["options"])
            let file = try #require(await h.fake.unit("hello.service")?.file)
            #expect(observed.attributes["hash"] == .string(FakeFleetUnit.sha1(file.text)))

            // load
            let loaded = Self.with(submitted, state: "loaded")
            observed = try await h.provider.update(loaded, current: observed, changed: ["desired_state"])
            #expect(observed.attributes["current_state"] == "loaded")
            #expect(observed.attributes["machine_id"] == "m1")
            #expect(observed.attributes["load_state"] == "loaded")
            #expect(observed.attributes["active_state"] == "inactive")
            #expect(observed.attributes["sub_state"] == "dead")
            // start
            let started = Self.with(submitted, state: "launched")
            observed = try await h.provider.update(started, current: observed, changed: ["desired_state"])
            #expect(observed.attributes["current_state"] == "launched")
            #expect(observed.attributes["active_state"] == "active")
            #expect(observed.attributes["sub_state"] == "running")
            // What a refresh sees is what the update returned: nothing left to plan.
            let refreshed = try #require(try await h.observe(started))
            #expect(refreshed == observed)
            // stop
            observed = try await h.provider.update(loaded, current: observed, changed: ["desired_state"])
            #expect(observed.attributes["active_state"] == "inactive")
            #expect(observed.attributes["machine_id"] == "m1")
            // unload
            observed = try await h.provider.update(submitted, current: observed, changed: ["desired_state"])
            #expect(observed.attributes["current_state"] == "inactive")
            #expect(observed.attributes["machine_id"] == .null)
            // Desired-state changes sent no options (204s), the create did (201).
            #expect(await h.fake.requestCount("PUT", "/units/{unitName}") == 5)
            // destroy, twice: the second finds it gone (404), which is not an error.
            try await h.provider.delete(submitted.address, current: observed)
            #expect(try await h.observe(submitted) == nil)
            #expect(await h.fake.unitList.isEmpty)
            try await h.provider.delete(submitted.address, current: observed)
            #expect(await h.fake.requestCount("DELETE", "/units/{unitName}") == 2)
        }
    }

    /// 150 units are read in two pages of units and two of states: bulk, paged, never one call per unit.
    @Test func observingPagesThroughEverything() async throws {
        try await FleetHarness.run { h in
            let resources = (0..<150).map { Self.unit(String(format: "w%03d.service", $0)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for r in resources { group.addTask { _ = try await h.provider.create(r) } }
                try await group.waitForAll()
            }
            #expect(await h.fake.unitList.count == 150)
            await h.fake.resetCounts()
            let observed = try await h.observe(resources)
            #expect(observed.count == 150)
            #expect(observed.values.allSatisfy { $0.attributes["active_state"] == "active" && $0.attributes["machine_id"] != .null })
            #expect(Set(observed.values.compactMap { $0.attributes["machine_id"]?.stringValue }) == ["m1", "m2", "m3"])
            #expect(await h.fake.requestCount("GET", "/units") == 2)
            #expect(await h.fake.requestCount("GET", "/state") == 2)
            #expect(await h.fake.requestCounts.values.reduce(0, +) == 4)
            // Nothing asked: nothing read.
            #expect(try await h.provider.observe(kind: "fleet_unit", []).isEmpty)
            #expect(await h.fake.requestCounts.values.reduce(0, +) == 4)
        }
    }

    @Test func newOptionsReplaceTheUnit() async throws {
        try await FleetHarness.run { h in
            let first = Self.unit("app.service")
            let before = try await h.provider.create(first)
            let second = Self.unit("app.service", exec: "/usr/bin/sleep 4000")
            let after = try await h.provider.update(second, current: before, changed: ["options"])
            #expect(after.attributes["hash"] != before.attributes["hash"])
            #expect(after.attributes["options"] == second.attributes["options"])
            let file = try #require(await h.fake.unit("app.service")?.file)
            #expect(file.options.contains { $0.value == "/usr/bin/sleep 4000" })
            #expect(after.attributes["hash"] == .string(FakeFleetUnit.sha1(file.text)))
            #expect(after.attributes["active_state"] == "active")
            #expect(try await h.observe(second) == after)
        }
    }

    /// fleet keeps a unit's options grouped by section; the same file written in another order is no change.
    @Test func optionsInAnotherOrderAreTheSameUnit() async throws {
        try await FleetHarness.run { h in
            let interleaved = Self.unit("order.service", extra: [FleetUnitOption(section: "Unit", name: "After", value: "network.target")])
            _ = try await h.provider.create(interleaved)
            let stored = try #require(await h.fake.unit("order.service")?.file.options)
            #expect(stored.map(\.section) == ["Unit", "Unit", "Service"])  // grouped, as fleet read its stored text back
            let observed = try #require(try await h.observe(interleaved))
            #expect(observed.attributes["options"] == interleaved.attributes["options"])
            // Against another unit file, the options are reported as fleet has them.
            let other = Self.unit("order.service", exec: "/bin/false")
            let seen = try #require(try await h.observe(other))
            #expect(seen.attributes["options"] == FleetUnitSpec.value(of: stored))
            #expect(seen.attributes["options"] != interleaved.attributes["options"])
        }
    }

    @Test func aDroppedMachinesUnitsMove() async throws {
        try await FleetHarness.run { h in
            let a = Self.unit("a.service")
            let b = Self.unit("b.service", fleet: [("MachineID", "m2")])
            _ = try await h.provider.create(a)
            _ = try await h.provider.create(b)
            var seen = try await h.observe([a, b])
            #expect(seen["a.service"]?.attributes["machine_id"] == "m1")
            #expect(seen["b.service"]?.attributes["machine_id"] == "m2")
            #expect(await h.fake.removeMachine("m1"))
            #expect(await h.fake.removeMachine("m2"))
            seen = try await h.observe([a, b])
            #expect(seen["a.service"]?.attributes["machine_id"] == "m3")
            #expect(seen["a.service"]?.attributes["active_state"] == "active")
            // b may only run on m2, which is gone: known to fleet, running nowhere.
            #expect(seen["b.service"]?.attributes["machine_id"] == .null)
            #expect(seen["b.service"]?.attributes["current_state"] == "inactive")
            #expect(seen["b.service"]?.attributes["desired_state"] == "launched")
            await h.fake.addMachine(FakeFleetMachine(id: "m2", primaryIP: "10.213.0.12"))
            #expect(try await h.observe(b)?.attributes["machine_id"] == "m2")
        }
    }

    @Test func globalUnitsReportTheirMachines() async throws {
        try await FleetHarness.run { h in
            let agent = Self.unit("agent.service", fleet: [("Global", "true"), ("MachineMetadata", "role=web")])
            let observed = try await h.provider.create(agent)
            #expect(observed.attributes["machine_id"] == "m1,m2")
            #expect(observed.attributes["current_state"] == "launched")
            #expect(observed.attributes["active_state"] == "active")
        }
    }

    @Test func fleetsRefusalsCarryItsMessage() async throws {
        try await FleetHarness.run { h in
            // An [X-Fleet] combination fleet refuses.
            let bad = Self.unit("bad.service", fleet: [("MachineID", "m1"), ("Conflicts", "web*")])
            let combination = await Self.ottoError { _ = try await h.provider.create(bad) }
            #expect(combination?.code == "provider.fleet.http")
            #expect(combination?.message.hasPrefix("fleet at \(h.server.baseURL): PUT /units/bad.service: 400 Bad Request: MachineID cannot be combined with Conflicts") == true,
                    "\(combination?.message ?? "")")
            #expect(combination?.message.contains("{") == false)
            let putsBefore = await h.fake.requestCount("PUT", "/units/{unitName}")

            // A template activated: the provider refuses it before asking fleet ...
            let template = Self.unit("web@.service")
            let refused = await Self.ottoError { _ = try await h.provider.create(template) }
            #expect(refused?.code == "provider.fleet.template")
            #expect(refused?.message.contains("web@1.service") == true)
            #expect(await h.fake.requestCount("PUT", "/units/{unitName}") == putsBefore)
            // ... and fleet's own refusal reads the same way when it comes from fleet.
            let fromFleet = await Self.ottoError {
                try await h.provider.api.put("web@.service", FleetAPIModel.UnitWrite(desiredState: "launched",
                                                                                      options: [FleetUnitOption(section: "Service", name: "ExecStart", value: "/bin/true")]))
            }
            #expect(fromFleet?.message == #"fleet at \#(h.server.baseURL): PUT /units/web@.service: 400 Bad Request: cannot activate template "web@.service""#)

            // A desired state sent for a unit fleet no longer has (destroyed behind otto's back): 409.
            let gone = Self.unit("gone.service")
            let current = try await h.provider.create(gone)
            try await h.provider.delete(gone.address, current: current)
            let conflict = await Self.ottoError {
                _ = try await h.provider.update(Self.with(gone, state: "loaded"), current: current, changed: ["desired_state"])
            }
            #expect(conflict?.message == "fleet at \(h.server.baseURL): PUT /units/gone.service: 409 Conflict: unit does not exist and options field empty")

            // Bad attributes never reach fleet.
            var noState = Self.unit("x.service")
            noState.attributes["desired_state"] = "running"
            #expect(await Self.ottoError { _ = try await h.provider.create(noState) }?.code == "provider.fleet.attribute")
            var noOptions = Self.unit("x.service")
            noOptions.attributes["options"] = .list([.map(["section": "Service", "name": "ExecStart"])])
            #expect(await Self.ottoError { _ = try await h.provider.create(noOptions) }?.code == "provider.fleet.attribute")
            #expect(await Self.ottoError { _ = try await h.provider.create(Self.unit("x.bogus")) }?.code == "provider.fleet.attribute")
            #expect(await h.fake.requestCount("PUT", "/units/{unitName}") == putsBefore + 3)
        }
    }

    /// Answers that are not fleet's (a proxy's HTML page, a Go panic's text, a 200 that is not JSON): never a crash,
    /// never a raw body in the message.
    @Test func answersThatAreNotFleetsAreReportedPlainly() async throws {
        let server = try await FakeFleetServer.start(FakeFleet(machines: FakeFleetTests.machines))
        let fake = server.fake
        await fake.inject(FakeHTTPResponse(status: 502, headers: ["Content-Type": "text/html"],
                                           body: Array("<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>".utf8)),
                          forPath: "/fleet/v1/units/html.service")
        await fake.inject(FakeHTTPResponse(status: 409, headers: ["Content-Type": "text/plain"],
                                           body: Array("conflict here\ngoroutine 1 [running]:\nmain.main()\n".utf8)),
                          forPath: "/fleet/v1/units/text.service")
        await fake.inject(FakeHTTPResponse(status: 200, headers: ["Content-Type": "text/plain"], body: Array("fleet? no".utf8)),
                          forPath: "/fleet/v1/units")
        let provider = FleetAPIProvider(name: "fleet", settings: FleetAPISettings(endpoint: .http(root: FleetAPISettings.apiRoot(server.baseURL + "/fleet/v1/"))),
                                        client: HTTPClient(configuration: HTTPClientConfiguration(retry: .none)))
        let html = await Self.ottoError { _ = try await provider.create(Self.unit("html.service")) }
        #expect(html?.message == "fleet at \(server.baseURL): PUT /units/html.service: 502 Bad Gateway: the answer was an HTML page, not fleet's JSON error")
        let text = await Self.ottoError { _ = try await provider.create(Self.unit("text.service")) }
        #expect(text?.message == "fleet at \(server.baseURL): PUT /units/text.service: 409 Conflict: conflict here")
        let list = await Self.ottoError {
            _ = try await provider.observe(kind: "fleet_unit", [ObserveRequest(address: ResourceAddress(kind: "fleet_unit", name: "x"), providerID: nil, attributes: [:])])
        }
        #expect(list?.code == "provider.fleet.response")
        #expect(list?.message.contains("GET /units") == true)
        await server.stop()
        // Nothing listening.
        let nowhere = FleetAPIProvider(name: "fleet", settings: FleetAPISettings(endpoint: .http(root: server.baseURL)),
                                       client: HTTPClient(configuration: HTTPClientConfiguration(connectTimeout: .seconds(1), retry: .none)))
        let unreachable = await Self.ottoError { _ = try await nowhere.create(Self.unit("a.service")) }
        #expect(unreachable?.code == "provider.fleet.unreachable")
        #expect(unreachable?.message.contains("could not reach fleet at \(server.baseURL): PUT /units/a.service") == true)
    }

    @Test func settingsFromInventory() throws {
        let location = SourceLocation(file: "inventory/fleet.yml", line: 2, column: 3)
        func settings(_ values: [String: Value]) throws -> FleetAPISettings {
            try FleetAPISettings(ProviderSettingValues(name: "fleet", values: values, location: location), root: "/project")
        }
        func refusal(_ values: [String: Value]) -> String {
            do { _ = try settings(values) } catch let error as OttoError { return error.message } catch { return "\(error)" }
            return "(accepted)"
        }
        #expect(try settings(["endpoint": "http://10.0.0.5:49153/"]).endpoint == .http(root: "http://10.0.0.5:49153"))
        #expect(try settings(["endpoint": "http://10.0.0.5:49153/fleet/v1/"]).endpoint == .http(root: "http://10.0.0.5:49153"))
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOzfgRMUgMOqRVv0XInhWPiyrP6cJ4CQ6XfHnZXLrUHR"
        let ssh = try settings(["endpoint": "unix:///var/run/fleet.sock", "ssh_host": "10.0.0.5", "ssh_port": 2222, "ssh_key": "keys/fleet",
                                "host_key": .string(key)])
        #expect(ssh.endpoint == .unixSocket(path: "/var/run/fleet.sock", ssh: SSHTarget(host: "10.0.0.5", port: 2222, user: "root",
                                                                                          identityFiles: ["/project/keys/fleet"],
                                                                                          hostKeyPolicy: .pinned(key))))
        #expect(ssh.description == "unix:///var/run/fleet.sock on root@10.0.0.5:2222")
        #expect(refusal([:]).contains("needs `endpoint:`"))
        #expect(refusal(["endpoint": "unix:///var/run/fleet.sock", "ssh_host": "10.0.0.5"]).contains("set `host_key`"))
        #expect(refusal(["endpoint": "unix:///var/run/fleet.sock", "host_key": .string(key)]).contains("set `ssh_host`"))
        #expect(refusal(["endpoint": "unix:///var/run/fleet.sock", "ssh_host": "h", "host_key": "not a key"]).contains("`host_key` must be an OpenSSH public key line"))
        #expect(refusal(["endpoint": "unix:///var/run/fleet.sock", "ssh_host": "h", "host_key": .string(key), "ssh_port": 0]).contains("`ssh_port`"))
        #expect(refusal(["endpoint": "http://10.0.0.5:49153", "ssh_host": "h"]).contains("`ssh_host` is only for an endpoint on fleet's unix socket"))
        #expect(refusal(["endpoint": "tcp://10.0.0.5"]).contains("must start with http://, https:// or unix://"))
        #expect(refusal(["endpoint": "unix://relative.sock", "ssh_host": "h", "host_key": .string(key)]).contains("absolute socket path"))
        #expect(refusal([:]).hasPrefix("inventory/fleet.yml:2:3: provider `fleet`"))
    }
}

/// The provider over SSH: fleet's API on a unix socket, reached through a real sshd with the host key pinned.
@Suite(.tags(.sshd), .endToEnd) struct FleetAPIProviderSSHTests {
    func withSocketFleet(_ body: (SSHServer, FakeFleetServer, String) async throws -> Void) async throws {
        let sshd = try await SSHServer.start()
        defer { sshd.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-fleet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/fleet.sock"
        let server = try await FakeFleetServer.start(FakeFleet(machines: FakeFleetTests.machines), unixSocket: socket)
        do {
            try await body(sshd, server, socket)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static func provider(_ sshd: SSHServer, socket: String, hostKey: String) -> FleetAPIProvider {
        let target = SSHTarget(host: "127.0.0.1", port: sshd.port, user: "root", identityFiles: [sshd.clientKeyPath], hostKeyPolicy: .pinned(hostKey))
        return FleetAPIProvider(name: "fleet", settings: FleetAPISettings(endpoint: .unixSocket(path: socket, ssh: target)), client: HTTPClient())
    }

    @Test func worksWithThePinnedKeyOverTheSocket() async throws {
        try await withSocketFleet { sshd, server, socket in
            let provider = Self.provider(sshd, socket: socket, hostKey: sshd.hostKey)
            let resources = (0..<120).map { FleetAPIProviderTests.unit("s\($0).service", $0 == 0 ? "loaded" : "inactive") }
            var created = try await provider.create(resources[0])
            #expect(created.attributes["machine_id"] == "m1")
            #expect(created.attributes["sub_state"] == "dead")
            // The others straight into the fake (each exec over SSH costs a round trip): the point is the paging below.
            for r in resources.dropFirst() {
                let body = #"{"desiredState":"inactive","options":"# + FakeFleetTests.options() + "}"
                let answer = await server.fake.handle(FakeHTTPRequest(method: "PUT", path: "/fleet/v1/units/" + (r.attributes["name"]?.stringValue ?? ""),
                                                                      headers: ["Content-Type": "application/json"], body: Array(body.utf8)))
                #expect(answer.status == 201)
            }
            await server.fake.resetCounts()
            let observed = try await provider.observe(kind: "fleet_unit", resources.map { ObserveRequest(address: $0.address, providerID: nil, attributes: $0.attributes) })
            #expect(observed.count == 120)
            #expect(await server.fake.requestCount("GET", "/units") == 2)
            created = try await provider.update(FleetAPIProviderTests.with(resources[0], state: "launched"), current: created, changed: ["desired_state"])
            #expect(created.attributes["active_state"] == "active")
            // A unit name that needs quoting and escaping, and fleet's refusal through curl.
            let odd = FleetAPIProviderTests.unit(#"odd@a\x2dweird.service"#, "launched", exec: "/bin/echo 'quoted' \"twice\" $HOME")
            let oddSeen = try await provider.create(odd)
            #expect(oddSeen.attributes["options"] == odd.attributes["options"])
            #expect(await server.fake.unit(#"odd@a\x2dweird.service"#) != nil)
            let bad = FleetAPIProviderTests.unit("bad.service", fleet: [("Global", "true"), ("Replaces", "a.service")])
            let refused = await FleetAPIProviderTests.ottoError { _ = try await provider.create(bad) }
            #expect(refused?.code == "provider.fleet.http")
            #expect(refused?.message.hasPrefix("fleet at unix://\(socket) on root@127.0.0.1:\(sshd.port): PUT /units/bad.service: 400 Bad Request: Global cannot be combined with Replaces") == true,
                    "\(refused?.message ?? "")")
            try await provider.delete(resources[0].address, current: created)
            try await provider.delete(resources[0].address, current: created)
            #expect(await server.fake.unit("s0.service") == nil)
            await provider.shutdown()
        }
    }

    @Test func aWrongHostKeyIsRefused() async throws {
        try await withSocketFleet { sshd, server, socket in
            let other = sshd.directory + "/other_host_key"
            try await SSHServer.keygen(other)
            let wrong = try SSHHostKey.read(publicKeyFile: other + ".pub")
            let provider = Self.provider(sshd, socket: socket, hostKey: wrong)
            let error = await FleetAPIProviderTests.ottoError { _ = try await provider.create(FleetAPIProviderTests.unit("a.service")) }
            #expect(error?.code == "provider.fleet.ssh")
            #expect(error?.message.contains("host key mismatch") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains(SSHHostKey.fingerprint(wrong)) == true)
            #expect(await server.fake.requestCounts.isEmpty)
            await provider.shutdown()
        }
    }
}
