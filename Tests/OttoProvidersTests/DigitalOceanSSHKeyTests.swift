import Foundation
import OttoCore
import OttoTestSupport
import XCTest
@testable import OttoProviders

/// Account SSH keys through the provider against the fake DigitalOcean.
final class DigitalOceanSSHKeyTests: XCTestCase {
    func testFingerprintIsMD5OfTheKeyBlob() {
        // `ssh-keygen -l -E md5` of this key prints the same colon-separated hex.
        let key = DO.publicKey(7)
        let fingerprint = DigitalOceanProvider.fingerprint(key)
        XCTAssertEqual(fingerprint, FakeDigitalOcean.fingerprint(key))
        XCTAssertEqual(fingerprint?.split(separator: ":").count, 16)
        XCTAssertNil(DigitalOceanProvider.fingerprint("not a key"))
    }

    func testCreateObserveDelete() async throws {
        try await DigitalOceanHarness.run { h in
            let schema = h.provider.testSchema("ssh_key")
            let desired = DO.sshKey(DO.publicKey(1) + "\n")
            let found1 = try await h.provider.observe(kind: "ssh_key", [DO.request(desired)])
            XCTAssertTrue(found1.isEmpty)
            let created = try await h.provider.create(desired)
            XCTAssertEqual(created.attributes["fingerprint"]?.stringValue, DigitalOceanProvider.fingerprint(DO.publicKey(1)))
            XCTAssertEqual(created.attributes["owned"], .bool(true))
            XCTAssertEqual(DO.differences(desired, created, schema: schema), [])
            // Found again by id, and (before it is recorded) by the key's fingerprint.
            let byID = try await h.provider.observe(kind: "ssh_key", [DO.request(desired, id: created.providerID)])
            XCTAssertEqual(byID[desired.address], created)
            let byFingerprint = try await h.provider.observe(kind: "ssh_key", [DO.request(desired)])
            XCTAssertEqual(byFingerprint[desired.address], created)

            // A new public key replaces it (forceNew).
            let rotated = DO.sshKey(DO.publicKey(2))
            XCTAssertEqual(DO.differences(rotated, created, schema: schema), ["public_key"])
            XCTAssertTrue(schema.forceNew.contains("public_key"))

            try await h.provider.delete(desired.address, current: created)
            try await h.provider.delete(desired.address, current: created)
            let keys = await h.fake.keySummaries()
            XCTAssertTrue(keys.isEmpty)
        }
    }

    func testAKeyAlreadyInTheAccountIsAdoptedAndNeverDeleted() async throws {
        try await DigitalOceanHarness.run { h in
            let theirs = await h.fake.seedKey(name: "alice laptop", publicKey: DO.publicKey(3, comment: "alice@laptop"))
            let unrelated = await h.fake.seedKey(name: "bob", publicKey: DO.publicKey(4))
            let desired = DO.sshKey(DO.publicKey(3, comment: "otto@ci"))
            // Create: DigitalOcean says "already in use" (422); otto adopts the existing key.
            let adopted = try await h.provider.create(desired)
            XCTAssertEqual(adopted.providerID, String(theirs!))
            XCTAssertEqual(adopted.attributes["owned"], .bool(false))
            XCTAssertEqual(adopted.attributes["name"], "alice laptop")
            XCTAssertEqual(DO.differences(desired, adopted, schema: h.provider.testSchema("ssh_key")), [])
            let observed = try await h.provider.observe(kind: "ssh_key", [DO.request(desired, id: adopted.providerID)])
            XCTAssertEqual(observed[desired.address], adopted)
            // Delete leaves a key otto did not make.
            try await h.provider.delete(desired.address, current: adopted)
            let keys = await h.fake.keySummaries().map(\.id)
            XCTAssertEqual(Set(keys), [theirs!, unrelated!])
        }
    }

    func testDropletsGetTheKeyByFingerprint() async throws {
        try await DigitalOceanHarness.run { h in
            let key = try await h.provider.create(DO.sshKey(DO.publicKey(5)))
            let fingerprint = try XCTUnwrap(key.attributes["fingerprint"]?.stringValue)
            let machine = h.provider.derive(DO.machine(0, sshKeys: [fingerprint]))
            let created = try await h.provider.create(machine, idempotencyKey: PendingCreate.newKey())
            XCTAssertEqual(DO.differences(machine, created, schema: h.provider.testSchema("machine")), [])
            let unknown = h.provider.derive(DO.machine(1, sshKeys: ["00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"]))
            let text = await errorText { _ = try await h.provider.create(unknown, idempotencyKey: PendingCreate.newKey()) }
            XCTAssertTrue(text.contains("DigitalOcean refused to create droplet demo-web-1"), text)
            XCTAssertTrue(text.contains("HTTP 422"), text)
        }
    }
}
