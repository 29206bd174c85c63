import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite struct StatePendingCreateTests {
    private let pending = PendingCreate(address: "machine.demo.web[0]", provider: "do", key: "0123456789abcdef0123",
                                        attributes: ["name": "demo-web-0", "size": "s-1vcpu-1gb"],
                                        dependencies: ["ssh_key.do"], since: 1_700_000_000)

    @Test func pendingCreateSurvivesAReopenAndBumpsTheSerial() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        do {
            let store = try SQLiteStateStore(path: dir.file("state.db"))
            try store.putPending(pending)
            #expect(try store.snapshot().serial == 1)
        }
        let reopened = try SQLiteStateStore(path: dir.file("state.db")).snapshot()
        #expect(reopened.pending[pending.address] == pending)
        #expect(reopened.records.isEmpty)
    }

    @Test func recordingTheResourceClearsItsPendingCreate() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        try store.putPending(pending)
        try store.put(ResourceRecord(address: pending.address, provider: "do", providerID: "42", attributes: ["name": "demo-web-0"]))
        #expect(try store.snapshot().pending.isEmpty)

        try store.putPending(pending)
        try store.put([ResourceRecord(address: pending.address, provider: "do", providerID: "43", attributes: [:])], removing: [])
        #expect(try store.snapshot().pending.isEmpty)
    }

    @Test func removingTheAddressClearsItsPendingCreate() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        try store.putPending(pending)
        try store.put([], removing: [pending.address])
        #expect(try store.snapshot().pending.isEmpty)
        try store.putPending(pending)
        let serial = try store.snapshot().serial
        try store.remove(pending.address)
        let after = try store.snapshot()
        #expect(after.pending.isEmpty && after.serial == serial + 1)
    }

    @Test func aNewerPendingCreateReplacesTheOlder() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        try store.putPending(pending)
        var newer = pending
        newer.key = "ffffffffffffffffffff"
        try store.putPending(newer)
        #expect(try store.snapshot().pending == [pending.address: newer])
    }
}
