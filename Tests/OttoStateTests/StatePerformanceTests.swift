import Foundation
import OttoCore
import Testing
@testable import OttoState

/// Timings are printed for the report, not asserted (the machine is shared); the contents are asserted.
@Suite("State performance", .serialized)
struct StatePerformanceTests {
    static func record(_ i: Int) -> ResourceRecord {
        ResourceRecord(
            address: ResourceAddress(kind: "dns_record", name: "demo.host\(i).A"),
            provider: "powerdns.main",
            providerID: "demo.example.com./host\(i).demo.example.com./A",
            attributes: ["zone": .string("demo.example.com."), "name": .string("host\(i)"), "type": .string("A"),
                         "ttl": .int(300), "records": .list([.string("10.0.\(i / 256 % 256).\(i % 256)")]),
                         "proxied": .bool(false)],
            dependencies: [ResourceAddress(kind: "dns_zone", name: "demo")])
    }

    @Test("10,000 individual puts, one transaction each")
    func tenThousandPuts() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let records = (0..<10_000).map(Self.record)
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for record in records { try await store.put(record) }
        }
        print("STATE-PERF: 10000 individual put() calls took \(elapsed) (\(elapsed / 10_000) per put)")
        let snapshot = try await store.snapshot()
        #expect(snapshot.serial == 10_000)
        #expect(snapshot.records.count == 10_000)
    }

    @Test("snapshot of 100,000 rows")
    func hundredThousandSnapshot() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let records = (0..<100_000).map(Self.record)
        let clock = ContinuousClock()
        let writing = try await clock.measure { try await store.put(records, removing: []) }
        var snapshot: StateSnapshot?
        let reading = try await clock.measure { snapshot = try await store.snapshot() }
        print("STATE-PERF: put of 100000 rows in one transaction took \(writing); snapshot() of them took \(reading)")
        #expect(snapshot?.records.count == 100_000)
        #expect(snapshot?.records[records[54_321].address] == records[54_321])
    }
}
