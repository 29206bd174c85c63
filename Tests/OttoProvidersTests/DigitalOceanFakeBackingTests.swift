import Foundation
import OttoTestSupport
import Testing

/// The fake DigitalOcean with a backing, against a stand-in that records what it is asked (no root, no machines): the
/// create waits for the boot, the address and status come from the machine, power actions and snapshots reach it,
/// failures error the action with the reason, deletes destroy. `DigitalOceanLocalDropletTests` does it with real
/// machines.
@Suite struct DigitalOceanFakeBackingTests {
    /// A backing that boots nothing: it hands out addresses, remembers calls, and fails or holds on request.
    actor StubBacking: FakeDropletBacking {
        var calls: [String] = []
        var requests: [FakeDropletBootRequest] = []
        var running: [Int: Bool] = [:]
        var holdBoots = false
        var failDestroy = false

        func setHoldBoots(_ hold: Bool) { holdBoots = hold }
        func setFailDestroy(_ fail: Bool) { failDestroy = fail }
        /// The guest powers itself off (or someone kills it) behind the fake's back.
        func powerOffBehindTheBack(_ droplet: Int) { running[droplet] = false }

        func boot(_ request: FakeDropletBootRequest) async throws -> FakeDropletAddress {
            requests.append(request)
            calls.append("boot \(request.dropletID)")
            while holdBoots { try await Task.sleep(for: .milliseconds(10)) }
            if request.name.hasPrefix("broken") { throw FakeCloudConfigError("sshd did not answer on 10.213.0.9:22 within 90 s") }
            running[request.dropletID] = true
            return FakeDropletAddress(ipv4: "10.213.0.\(requests.count + 1)", netmask: "255.255.255.224", gateway: "10.213.0.1")
        }
        func stop(droplet: Int, graceful: Bool) async throws {
            calls.append("stop \(droplet) \(graceful ? "graceful" : "hard")")
            running[droplet] = false
        }
        func start(droplet: Int) async throws {
            calls.append("start \(droplet)")
            running[droplet] = true
        }
        func reboot(droplet: Int) async throws {
            calls.append("reboot \(droplet)")
            running[droplet] = true
        }
        func capture(droplet: Int, snapshot: Int, name: String) async throws { calls.append("capture \(droplet) \(snapshot) \(name)") }
        func destroy(droplet: Int) async throws {
            calls.append("destroy \(droplet)")
            running[droplet] = nil
            if failDestroy { throw FakeCloudConfigError("umount: target is busy") }
        }
        func deleteImage(snapshot: Int) async throws { calls.append("deleteImage \(snapshot)") }
        func isRunning(droplet: Int) async -> Bool? { running[droplet] }
    }

    @Test func backedDropletsFollowTheirMachines() async throws {
        let stub = StubBacking()
        try await DigitalOceanHarness.run(actionSeconds: 0.05, backing: stub) { h in
            let key = DO.publicKey(7)
            let keyID = try #require(await h.call("POST", "/v2/account/keys", #"{"name":"otto","public_key":"\#(key)"}"#).json?["ssh_key"]?["id"]?.int)

            // The create's action lasts as long as the boot, however short actionSeconds is.
            await stub.setHoldBoots(true)
            let created = await h.call("POST", "/v2/droplets", ##"{"name":"web-0","size":"s-1vcpu-1gb","image":"debian-12-x64","ssh_keys":[\##(keyID)],"user_data":"#cloud-config\n{}\n"}"##)
            let droplet = try #require(created.json?["droplet"]?["id"]?.int)
            let action = try #require(created.json?["links"]?["actions"]?.array?.first?["id"]?.int)
            try await Task.sleep(for: .milliseconds(300))
            #expect(await h.call("GET", "/v2/actions/\(action)").json?["action"]?["status"] == "in-progress")
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["status"] == "new")
            await stub.setHoldBoots(false)
            #expect(try await h.waitForAction(action) == "completed")
            let request = try #require(await stub.requests.first)
            #expect(request == FakeDropletBootRequest(dropletID: droplet, name: "web-0", image: .slug("debian-12-x64"),
                                                      userData: "#cloud-config\n{}\n", authorizedKeys: [key]))

            // The machine's address is the droplet's (public and private); its status is the machine's.
            let active = try #require(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"])
            #expect(active["status"] == "active")
            let v4 = active["networks"]?["v4"]?.array ?? []
            #expect(v4.map { $0["ip_address"] } == ["10.213.0.2", "10.213.0.2"])
            #expect(v4.map { $0["type"] } == ["public", "private"])
            #expect(v4.first?["netmask"] == "255.255.255.224")
            #expect(v4.first?["gateway"] == "10.213.0.1")
            #expect(await h.fake.dropletSummaries().first?.publicIPv4 == "10.213.0.2")
            await stub.powerOffBehindTheBack(droplet)
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["status"] == "off")

            // Power actions and snapshots reach the machine.
            #expect(try await h.act(droplet, #"{"type":"power_on"}"#).status == "completed")
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["status"] == "active")
            #expect(try await h.act(droplet, #"{"type":"reboot"}"#).status == "completed")
            #expect(try await h.act(droplet, #"{"type":"shutdown"}"#).status == "completed")
            #expect(try await h.act(droplet, #"{"type":"power_on"}"#).status == "completed")
            #expect(try await h.act(droplet, #"{"type":"power_off"}"#).status == "completed")
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["status"] == "off")
            #expect(try await h.act(droplet, #"{"type":"snapshot","name":"web-golden"}"#).status == "completed")
            let snapshot = try #require(await h.fake.imageSummaries().first)
            #expect(snapshot.takenWhileActive == false)

            // A droplet from the snapshot boots from it.
            let (copy, booted) = try await h.createDroplet(#"{"name":"web-1","size":"s-1vcpu-1gb","image":\#(snapshot.id)}"#)
            #expect(booted == "completed")
            #expect(await stub.requests.last?.image == .snapshot(snapshot.id))
            #expect(await stub.requests.last?.userData == nil)

            // Deletes destroy and forget, in the background.
            #expect(await h.call("DELETE", "/v2/droplets/\(droplet)").status == 204)
            #expect(await h.call("DELETE", "/v2/snapshots/\(snapshot.id)").status == 204)
            await h.fake.settleBacking()
            #expect(await stub.calls == [
                "boot \(droplet)", "start \(droplet)", "reboot \(droplet)", "stop \(droplet) graceful", "start \(droplet)",
                "stop \(droplet) hard", "capture \(droplet) \(snapshot.id) web-golden", "boot \(copy)", "destroy \(droplet)",
                "deleteImage \(snapshot.id)",
            ])
            #expect(await h.fake.backingFailures().isEmpty)

            // Seeded droplets have no machine: their actions never reach the backing.
            let seeded = try #require(await h.fake.seedDroplets(count: 1, namePrefix: "old-", tags: []).first)
            #expect(try await h.act(seeded, #"{"type":"power_off"}"#).status == "completed")
            #expect(await stub.calls.count == 10)
        }
    }

    @Test func aFailedBootErrorsTheCreateWithTheReason() async throws {
        let stub = StubBacking()
        try await DigitalOceanHarness.run(backing: stub) { h in
            let (droplet, status) = try await h.createDroplet(#"{"name":"broken-0","size":"s-1vcpu-1gb","image":"debian-12-x64"}"#)
            #expect(status == "errored")
            let json = try #require(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"])
            #expect(json["status"] == "new")
            #expect(json["networks"]?["v4"] == [])
            let summary = try #require(await h.fake.dropletSummaries().first)
            #expect(summary.backingError?.contains("sshd did not answer") == true)
            let state = await h.fake.handle(FakeHTTPRequest(method: "GET", path: "/_fake/state")).json
            #expect(state?["droplets"]?.array?.first?["backing_error"]?.string?.contains("sshd did not answer") == true)
            // Actions on it are refused (it never became active); deleting it still reaches the backing.
            #expect(await h.call("POST", "/v2/droplets/\(droplet)/actions", #"{"type":"power_off"}"#).status == 422)
            await stub.setFailDestroy(true)
            #expect(await h.call("DELETE", "/v2/droplets/\(droplet)").status == 204)
            await h.fake.settleBacking()
            #expect(await h.fake.backingFailures() == ["destroy droplet \(droplet): umount: target is busy"])
        }
    }
}
