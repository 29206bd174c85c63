import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Droplets through the provider against the fake DigitalOcean: create, observe, resize, rename, replace, delete,
/// crash-safe creates and bulk observation.
@Suite struct DigitalOceanMachineTests {
    @Test func createObserveResizeRenameDelete() async throws {
        try await DigitalOceanHarness.run { h in
            let provider = h.provider
            let schema = provider.testSchema("machine")
            #expect(schema.keyedCreate)
            let desired = provider.derive(DO.machine(0))
            #expect(desired.attributes["region"] == "nyc3", "derive fills in the provider's region")
            let nothing = try await provider.observe(kind: "machine", [DO.request(desired)])
            #expect(nothing.isEmpty)

            let key = PendingCreate.newKey()
            let created = try await provider.create(desired, idempotencyKey: key)
            #expect(created.attributes["name"] == "demo-web-0")
            #expect(created.attributes["status"] == "active")
            #expect(created.attributes["size"] == "s-1vcpu-1gb")
            #expect(created.attributes["image"] == "debian-12-x64")
            #expect(created.attributes["ssh_user"] == "root")
            #expect(created.attributes["ssh_port"] == .int(22))
            #expect(created.attributes["ssh_key"] == "/keys/otto_ed25519")
            #expect(created.attributes["host_key"] == .null)
            #expect(created.attributes["known_hosts"] == "/keys/known_hosts")
            let ipv4 = try #require(created.attributes["ipv4"]?.stringValue)
            #expect(ipv4.hasPrefix("203.0.113.") || ipv4.hasPrefix("198.51.100."), "documentation range only: \(ipv4)")
            #expect(created.attributes["private_ipv4"]?.stringValue?.hasPrefix("192.0.2.") == true)
            #expect(DO.differences(desired, created, schema: schema) == [])
            let tags = await h.fake.dropletSummaries().first?.tags
            #expect(tags == ["otto", "otto-key-\(key)"])

            // A second observation (by id, by name) is what create returned: no diff, no drift.
            let byID = try await provider.observe(kind: "machine", [DO.request(desired, id: created.providerID)])
            #expect(byID[desired.address] == created)
            let byName = try await provider.observe(kind: "machine", [DO.request(desired)])
            #expect(byName[desired.address] == created)

            // Resize: shutdown, resize, power on, each waited for.
            await h.fake.resetCounts()
            let bigger = provider.derive(DO.machine(0, size: "s-2vcpu-2gb"))
            #expect(DO.differences(bigger, created, schema: schema) == ["size"])
            let resized = try await provider.update(bigger, current: created, changed: ["size"])
            #expect(resized.attributes["size"] == "s-2vcpu-2gb")
            #expect(resized.attributes["status"] == "active")
            #expect(resized.providerID == created.providerID)
            let actions = await h.fake.requestCounts()["POST /v2/droplets/{droplet_id}/actions"]
            #expect(actions == 3, "shutdown, resize, power_on")
            #expect(DO.differences(bigger, resized, schema: schema) == [])

            // Rename.
            let renamed = provider.derive(DO.machine(0, size: "s-2vcpu-2gb", name: "demo-web-0-renamed"))
            let afterRename = try await provider.update(renamed, current: resized, changed: ["name"])
            #expect(afterRename.attributes["name"] == "demo-web-0-renamed")
            let again = try await provider.observe(kind: "machine", [DO.request(renamed, id: created.providerID)])
            #expect(again[renamed.address] == afterRename)

            // Delete, twice (the second finds it gone: fine).
            try await provider.delete(renamed.address, current: afterRename)
            try await provider.delete(renamed.address, current: afterRename)
            let gone = try await provider.observe(kind: "machine", [DO.request(renamed, id: created.providerID)])
            #expect(gone.isEmpty)
            let left = await h.fake.dropletSummaries()
            #expect(left.isEmpty)
        }
    }

    @Test func imageOrRegionChangeIsAReplacement() async throws {
        try await DigitalOceanHarness.run { h in
            let schema = h.provider.testSchema("machine")
            #expect(schema.forceNew.isSuperset(of: ["image", "region"]))
            let old = h.provider.derive(DO.machine(0))
            let created = try await h.provider.create(old, idempotencyKey: PendingCreate.newKey())
            let new = h.provider.derive(DO.machine(0, image: "ubuntu-24-04-x64"))
            #expect(DO.differences(new, created, schema: schema) == ["image"])
            // What the executor does for a replacement (delete first, the schema's default order).
            try await h.provider.delete(old.address, current: created)
            let replaced = try await h.provider.create(new, idempotencyKey: PendingCreate.newKey())
            #expect(replaced.providerID != created.providerID)
            #expect(replaced.attributes["image"] == "ubuntu-24-04-x64")
            #expect(DO.differences(new, replaced, schema: schema) == [])
            let all = await h.fake.dropletSummaries()
            #expect(all.map(\.image) == ["ubuntu-24-04-x64"])

            let moved = h.provider.derive(DO.machine(0, image: "ubuntu-24-04-x64", region: "ams3"))
            #expect(DO.differences(moved, replaced, schema: schema) == ["region"])
        }
    }

    @Test func aSnapshotImageIsNamedByItsID() async throws {
        try await DigitalOceanHarness.run { h in
            await h.fake.seedSnapshot(name: "golden-web", id: 150_000_777)  // an unknown image is refused, as DigitalOcean does
            var desired = DO.machine(0, image: "150000777")
            desired.attributes["image"] = .int(150_000_777)  // a golden image's snapshot id, as a number
            desired = h.provider.derive(desired)
            #expect(desired.attributes["image"] == "150000777")
            let created = try await h.provider.create(desired, idempotencyKey: PendingCreate.newKey())
            #expect(created.attributes["image"] == "150000777")
            #expect(DO.differences(desired, created, schema: h.provider.testSchema("machine")) == [])
        }
    }

    @Test func dropletDeletedBehindOttosBackIsReportedGone() async throws {
        try await DigitalOceanHarness.run { h in
            let desired = h.provider.derive(DO.machine(0))
            let created = try await h.provider.create(desired, idempotencyKey: PendingCreate.newKey())
            let removed = await h.fake.removeDroplet(id: Int(created.providerID)!)
            #expect(removed)
            await h.fake.resetCounts()
            let observed = try await h.provider.observe(kind: "machine", [DO.request(desired, id: created.providerID)])
            #expect(observed[desired.address] == nil, "a droplet deleted outside otto is gone")
            let counts = await h.fake.requestCounts()
            #expect(counts["GET /v2/droplets"] == 1)
            #expect(counts["GET /v2/droplets/{droplet_id}"] == 1, "one GET confirms the 404")
        }
    }

    @Test func pendingKeyAdoptsADropletMadeByALostCreate() async throws {
        try await DigitalOceanHarness.run { h in
            // otto sent the create and died before recording it: the droplet carries its key tag.
            let key = PendingCreate.newKey()
            let response = await h.fake.handle(FakeHTTPRequest(
                method: "POST", path: "/v2/droplets", headers: ["Authorization": "Bearer \(h.token)"],
                body: Array(#"{"name":"demo-web-0","size":"s-1vcpu-1gb","image":"debian-12-x64","region":"nyc3","tags":["otto","otto-key-\#(key)"]}"#.utf8)))
            #expect(response.status == 202)
            let madeID = try #require(response.json?["droplet"]?["id"]?.int)
            // A same-named droplet with another key must not win over the key's.
            await h.fake.seedDroplets(count: 1, namePrefix: "demo-web-", tags: ["otto", "otto-key-00000000000000000000"])

            let desired = h.provider.derive(DO.machine(0))
            let observed = try await h.provider.observe(kind: "machine", [DO.request(desired, pendingKey: key)])
            #expect(observed[desired.address]?.providerID == String(madeID))
        }
    }

    @Test func lostCreateAnswersInsideOneCreateReturnTheDropletWithoutDuplicate() async throws {
        for mode in ["drop", "error", "hang"] {
            try await DigitalOceanHarness.run(timeout: .seconds(1)) { h in
                var faults = FakeDigitalOceanFaults()
                faults.loseCreates = 1
                faults.loseCreateMode = mode
                faults.hangSeconds = 1.5
                await h.fake.setFaults(faults)
                let desired = h.provider.derive(DO.machine(0))
                let key = PendingCreate.newKey()
                let created = try await h.provider.create(desired, idempotencyKey: key)
                let droplets = await h.fake.dropletSummaries()
                #expect(droplets.count == 1, "mode \(mode): no duplicate")
                #expect(String(droplets[0].id) == created.providerID)
                #expect(created.attributes["status"] == "active")
                let counts = await h.fake.requestCounts()
                #expect(counts["POST /v2/droplets"] == 1, "mode \(mode): found by key, not created again")
                let lost = await h.fake.injectedFaults()["lost_create"]
                #expect(lost == 1)
            }
        }
    }

    @Test func createRefusedBeforeAnythingWasMadeIsSentAgain() async throws {
        try await DigitalOceanHarness.run { h in
            var faults = FakeDigitalOceanFaults()
            faults.failCreates = 2
            await h.fake.setFaults(faults)
            let created = try await h.provider.create(h.provider.derive(DO.machine(0)), idempotencyKey: PendingCreate.newKey())
            let droplets = await h.fake.dropletSummaries()
            #expect(droplets.map { String($0.id) } == [created.providerID])
            let posts = await h.fake.requestCounts()["POST /v2/droplets"]
            #expect(posts == 3, "two refused (no droplet under the key), the third made it")
        }
    }

    @Test func observationIsBulkAndLeavesUnrelatedDropletsAlone() async throws {
        // A page of 200 droplets from the fake can take longer than the harness's 2 s attempt timeout on a loaded
        // machine, and a retried page would count as a fourth request: this test counts requests, not timeouts.
        try await DigitalOceanHarness.run(timeout: .seconds(30)) { h in
            // 450 of otto's droplets, and others otto must never list as its own or delete: other tags, no tags, and an
            // untagged droplet with the very name otto wants.
            await h.fake.seedDroplets(count: 450, namePrefix: "demo-web-", tags: ["otto"])
            let others = await h.fake.seedDroplets(count: 5, namePrefix: "other-", tags: ["web", "prod"])
            let untagged = await h.fake.seedDroplets(count: 1, namePrefix: "demo-db-", tags: [])
            await h.fake.resetCounts()

            let wanted = (0..<450).map { h.provider.derive(DO.machine($0)) } + [h.provider.derive(DO.machine(0, group: "db"))]
            let observed = try await h.provider.observe(kind: "machine", wanted.map { DO.request($0) })
            #expect(observed.count == 450)
            #expect(observed[wanted.last!.address] == nil, "an untagged droplet is not otto's, even with otto's name")
            let schema = h.provider.testSchema("machine")
            for resource in wanted.dropLast() {
                let found = try #require(observed[resource.address])
                #expect(DO.differences(resource, found, schema: schema) == [])
            }
            let counts = await h.fake.requestCounts()
            #expect(counts == ["GET /v2/droplets": 3], "450 droplets: three pages of 200, nothing per droplet")

            // Creating the db machine makes a new droplet; deleting it removes only that one.
            let db = try await h.provider.create(wanted.last!, idempotencyKey: PendingCreate.newKey())
            #expect(!untagged.map(String.init).contains(db.providerID))
            try await h.provider.delete(wanted.last!.address, current: db)
            let left = Set(await h.fake.dropletSummaries().map(\.id))
            #expect(left.isSuperset(of: others + untagged))
            #expect(left.count == 456)
        }
    }

    @Test func importOfAnUntaggedDropletByIDIsOneGet() async throws {
        try await DigitalOceanHarness.run { h in
            let ids = await h.fake.seedDroplets(count: 1, namePrefix: "legacy-", tags: [])
            await h.fake.resetCounts()
            let desired = h.provider.derive(DO.machine(0, name: "legacy-0"))
            let observed = try await h.provider.observe(kind: "machine", [DO.request(desired, id: String(ids[0]))])
            #expect(observed[desired.address]?.attributes["name"] == "legacy-0")
            let counts = await h.fake.requestCounts()
            #expect(counts == ["GET /v2/droplets": 1, "GET /v2/droplets/{droplet_id}": 1])
        }
    }
}
