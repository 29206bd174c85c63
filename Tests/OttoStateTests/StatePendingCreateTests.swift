import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite struct StatePendingCreateTests {
    private let pending = PendingCreate(address: "machine.demo.web[0]", provider: "do", key: "0123456789abcdef0123",
                                        attributes: ["name": "demo-web-0", "size": "s-1vcpu-1gb"],
                                        dependencies: ["ssh_key.do"], since: 1_700_000_000)

    @Test(arguments: StoreBackend.allCases) func pendingCreateSurvivesAReopenAndBumpsTheSerial(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        do {
            let store = fixture.store
            try await store.putPending(pending)
            #expect(try await store.snapshot().serial == 1)
        }
        let reopened = try await fixture.reopen().snapshot()
        #expect(reopened.pending[pending.address] == pending)
        #expect(reopened.records.isEmpty)
    }

    /// `otto serve` asks which providers the state needs without reading a snapshot: records' and pending creates'.
    @Test(arguments: StoreBackend.allCases) func providerNamesAreThoseOfRecordsAndPendingCreates(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        #expect(try await store.providerNames() == [])
        try await store.put(ResourceRecord(address: "file.demo.motd", provider: "host", providerID: "m", attributes: [:]))
        try await store.put(ResourceRecord(address: "file.demo.issue", provider: "host", providerID: "i", attributes: [:]))
        try await store.putPending(pending)
        #expect(try await store.providerNames() == ["host", "do"])
        try await store.put([], removing: ["file.demo.motd", "file.demo.issue", pending.address], handlers: [])
        #expect(try await store.providerNames() == [])
        let snap = try await store.snapshot()
        #expect(snap.records.isEmpty && snap.pending.isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func recordingTheResourceClearsItsPendingCreate(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.putPending(pending)
        try await store.put(ResourceRecord(address: pending.address, provider: "do", providerID: "42", attributes: ["name": "demo-web-0"]))
        #expect(try await store.snapshot().pending.isEmpty)

        try await store.putPending(pending)
        try await store.put([ResourceRecord(address: pending.address, provider: "do", providerID: "43", attributes: [:])], removing: [])
        #expect(try await store.snapshot().pending.isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func removingTheAddressClearsItsPendingCreate(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.putPending(pending)
        try await store.put([], removing: [pending.address])
        #expect(try await store.snapshot().pending.isEmpty)
        try await store.putPending(pending)
        let serial = try await store.snapshot().serial
        try await store.remove(pending.address)
        let after = try await store.snapshot()
        #expect(after.pending.isEmpty && after.serial == serial + 1)
    }

    @Test(arguments: StoreBackend.allCases) func aNewerPendingCreateReplacesTheOlder(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.putPending(pending)
        var newer = pending
        newer.key = "ffffffffffffffffffff"
        try await store.putPending(newer)
        #expect(try await store.snapshot().pending == [pending.address: newer])
    }
}
