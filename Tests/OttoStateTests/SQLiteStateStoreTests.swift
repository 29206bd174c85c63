import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite("SQLiteStateStore")
struct SQLiteStateStoreTests {
    @Test("records with every Value case round-trip")
    func roundTrip() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let records = [recordWithEveryValue("demo.www.A"), recordWithEveryValue("demo.mail.MX"),
                       ResourceRecord(address: "machine.demo.web[0]", provider: "local", providerID: "m-1",
                                      attributes: [:], dependencies: [])]
        for record in records { try store.put(record) }
        let snapshot = try store.snapshot()
        #expect(snapshot.records.count == 3)
        for record in records {
            #expect(snapshot.records[record.address] == record)
        }
    }

    @Test("put replaces the row with the same address")
    func upsert() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        var record = recordWithEveryValue("demo.www.A")
        try store.put(record)
        record.providerID = "changed"
        record.attributes = ["ttl": .int(60)]
        record.dependencies = []
        try store.put(record)
        let snapshot = try store.snapshot()
        #expect(snapshot.records.count == 1)
        #expect(snapshot.records[record.address] == record)
    }

    @Test("a new state starts at serial 0 with a UUID lineage; writes increment the serial")
    func serial() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let first = try store.snapshot()
        #expect(first.serial == 0)
        #expect(UUID(uuidString: first.lineage) != nil)
        #expect(first.records.isEmpty)

        try store.put(recordWithEveryValue("a.A"))
        #expect(try store.snapshot().serial == 1)
        try store.put(recordWithEveryValue("b.A"))
        #expect(try store.snapshot().serial == 2)
        try store.put([recordWithEveryValue("c.A"), recordWithEveryValue("d.A")], removing: ["dns_record.a.A"])
        #expect(try store.snapshot().serial == 3)
        try store.remove("dns_record.b.A")
        #expect(try store.snapshot().serial == 4)
        // Nothing changed: the serial stays, so a plan made at 4 is still valid.
        try store.remove("dns_record.not.there")
        try store.put([], removing: [])
        try store.put([], removing: ["dns_record.not.there"])
        let last = try store.snapshot()
        #expect(last.serial == 4)
        #expect(last.lineage == first.lineage)
        #expect(Set(last.records.keys) == ["dns_record.c.A", "dns_record.d.A"])
    }

    @Test("two new states get different lineages")
    func distinctLineages() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let a = try SQLiteStateStore(path: dir.file("a.db")).snapshot().lineage
        let b = try SQLiteStateStore(path: dir.file("b.db")).snapshot().lineage
        #expect(a != b)
    }

    @Test("reopening after the store is released gives the same state")
    func reopen() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("nested/dir/state.db")
        let before: StateSnapshot
        do {
            let store = try SQLiteStateStore(path: path)
            try store.put(recordWithEveryValue("demo.www.A"))
            try store.put(recordWithEveryValue("demo.www.AAAA"))
            before = try store.snapshot()
        } // the store is released here, which closes its connection
        let reopened = try SQLiteStateStore(path: path)
        let after = try reopened.snapshot()
        #expect(after.lineage == before.lineage)
        #expect(after.serial == before.serial)
        #expect(after.records == before.records)
        #expect(after.serial == 2)
    }

    @Test("two store instances on one file see each other's writes")
    func twoInstances() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let a = try SQLiteStateStore(path: dir.file("state.db"))
        let b = try SQLiteStateStore(path: dir.file("state.db"))
        try a.put(recordWithEveryValue("x.A"))
        try b.put(recordWithEveryValue("y.A"))
        let seenByA = try a.snapshot()
        let seenByB = try b.snapshot()
        #expect(seenByA.serial == 2)
        #expect(seenByA.lineage == seenByB.lineage)
        #expect(seenByA.records == seenByB.records)
        #expect(seenByA.records.count == 2)
    }

    @Test("several connections creating the same new state at once all succeed and agree on one lineage")
    func concurrentCreation() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for round in 0..<20 {
            let path = dir.file("r\(round)/state.db")
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        await withCheckedContinuation { continuation in
                            DispatchQueue.global().async {
                                do {
                                    continuation.resume(returning: try SQLiteStateStore(path: path).snapshot().lineage)
                                } catch {
                                    continuation.resume(returning: "error: \(error)")
                                }
                            }
                        }
                    }
                }
                var results: [String] = []
                for await outcome in group { results.append(outcome) }
                return results
            }
            #expect(outcomes.count == 6)
            #expect(outcomes.allSatisfy { UUID(uuidString: $0) != nil }, "\(outcomes)")
            #expect(Set(outcomes).count == 1, "\(outcomes)")
        }
    }

    @Test("a file that is not a database gives state.open")
    func notADatabase() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        let garbage = String(repeating: "this is not an SQLite database\n", count: 200)
        try garbage.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try SQLiteStateStore(path: path)
            Issue.record("opening a text file as state succeeded")
        } catch let error as OttoError {
            #expect(error.code == "state.open")
            #expect(error.message.contains(path))
            #expect(error.message.contains("not an SQLite database"))
        }
        // The file was left alone.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == garbage)
    }

    @Test("a directory in place of the file gives state.open")
    func directoryInstead() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = #expect(throws: OttoError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.code == "state.open")
    }

    @Test("an SQLite database of something else gives state.open", .enabled(if: hasSQLite3CLI))
    func foreignDatabase() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("other.db")
        let result = try runProcess(sqlite3Path, [path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"])
        #expect(result.status == 0)
        let error = #expect(throws: OttoError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.code == "state.open")
        #expect(error?.message.contains("not an otto state") == true)
    }

    @Test("run history")
    func runHistory() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        #expect(try store.runs(limit: 10).isEmpty)
        let first = try store.startRun(command: "otto apply", user: "alice")
        let second = try store.startRun(command: "otto destroy", user: "bob")
        #expect(second > first)
        try store.finishRun(id: first, outcome: "ok", summary: "3 created, 1 deleted")

        let runs = try store.runs(limit: 10)
        #expect(runs.map(\.id) == [second, first])
        #expect(runs[0].command == "otto destroy")
        #expect(runs[0].user == "bob")
        #expect(runs[0].finished == nil)
        #expect(runs[0].outcome == nil)
        #expect(runs[1].command == "otto apply")
        #expect(runs[1].user == "alice")
        #expect(runs[1].host == ProcessIdentity.host)
        #expect(runs[1].outcome == "ok")
        #expect(runs[1].summary == "3 created, 1 deleted")
        let finished = try #require(runs[1].finished)
        #expect(finished >= runs[1].started)
        #expect(try store.runs(limit: 1).map(\.id) == [second])

        let error = #expect(throws: OttoError.self) { try store.finishRun(id: 9999, outcome: "ok", summary: "") }
        #expect(error?.code == "state.run")
        // Runs do not change the resources, so the serial stays.
        #expect(try store.snapshot().serial == 0)
    }
}
