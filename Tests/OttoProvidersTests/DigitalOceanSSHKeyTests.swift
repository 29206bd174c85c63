import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Account SSH keys through the provider against the fake DigitalOcean.
@Suite struct DigitalOceanSSHKeyTests {
    @Test func fingerprintIsMD5OfTheKeyBlob() {
        // `ssh-keygen -l -E md5` of this key prints the same colon-separated hex.
        let key = DO.publicKey(7)
        let fingerprint = DigitalOceanProvider.fingerprint(key)
        #expect(fingerprint == FakeDigitalOcean.fingerprint(key))
        #expect(fingerprint?.split(separator: ":").count == 16)
        #expect(DigitalOceanProvider.fingerprint("not a key") == nil)
    }

    @Test func createObserveDelete() async throws {
        try await DigitalOceanHarness.run { h in
            let schema = h.provider.testSchema("ssh_key")
            let desired = DO.sshKey(DO.publicKey(1) + "\n")
            let found1 = try await h.provider.observe(kind: "ssh_key", [DO.request(desired)])
            #expect(found1.isEmpty)
            let created = try await h.provider.create(desired)
            #expect(created.attributes["fingerprint"]?.stringValue == DigitalOceanProvider.fingerprint(DO.publicKey(1)))
            #expect(created.attributes["owned"] == .bool(true))
            #expect(DO.differences(desired, created, schema: schema) == [])
            // Found again by id, and (before it is recorded) by the key's fingerprint.
            let byID = try await h.provider.observe(kind: "ssh_key", [DO.request(desired, id: created.providerID)])
            #expect(byID[desired.address] == created)
            let byFingerprint = try await h.provider.observe(kind: "ssh_key", [DO.request(desired)])
            #expect(byFingerprint[desired.address] == created)

            // A new public key replaces it (forceNew).
            let rotated = DO.sshKey(DO.publicKey(2))
            #expect(DO.differences(rotated, created, schema: schema) == ["public_key"])
            #expect(schema.forceNew.contains("public_key"))

            try await h.provider.delete(desired.address, current: created)
            try await h.provider.delete(desired.address, current: created)
            let keys = await h.fake.keySummaries()
            #expect(keys.isEmpty)
        }
    }

    @Test func aKeyAlreadyInTheAccountIsAdoptedAndNeverDeleted() async throws {
        try await DigitalOceanHarness.run { h in
            let theirs = await h.fake.seedKey(name: "alice laptop", publicKey: DO.publicKey(3, comment: "alice@laptop"))
            let unrelated = await h.fake.seedKey(name: "bob", publicKey: DO.publicKey(4))
            let desired = DO.sshKey(DO.publicKey(3, comment: "otto@ci"))
            // Create: DigitalOcean says "already in use" (422); otto adopts the existing key.
            let adopted = try await h.provider.create(desired)
            #expect(adopted.providerID == String(theirs!))
            #expect(adopted.attributes["owned"] == .bool(false))
            #expect(adopted.attributes["name"] == "alice laptop")
            #expect(DO.differences(desired, adopted, schema: h.provider.testSchema("ssh_key")) == [])
            let observed = try await h.provider.observe(kind: "ssh_key", [DO.request(desired, id: adopted.providerID)])
            #expect(observed[desired.address] == adopted)
            // Delete leaves a key otto did not make.
            try await h.provider.delete(desired.address, current: adopted)
            let keys = await h.fake.keySummaries().map(\.id)
            #expect(Set(keys) == [theirs!, unrelated!])
        }
    }

    @Test func dropletsGetTheKeyByFingerprint() async throws {
        try await DigitalOceanHarness.run { h in
            let key = try await h.provider.create(DO.sshKey(DO.publicKey(5)))
            let fingerprint = try #require(key.attributes["fingerprint"]?.stringValue)
            let machine = h.provider.derive(DO.machine(0, sshKeys: [fingerprint]))
            let created = try await h.provider.create(machine, idempotencyKey: PendingCreate.newKey())
            #expect(DO.differences(machine, created, schema: h.provider.testSchema("machine")) == [])
            let unknown = h.provider.derive(DO.machine(1, sshKeys: ["00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"]))
            let text = await errorText { _ = try await h.provider.create(unknown, idempotencyKey: PendingCreate.newKey()) }
            #expect(text.contains("DigitalOcean refused to create droplet demo-web-1"), "\(text)")
            #expect(text.contains("HTTP 422"), "\(text)")
        }
    }
}
