import Foundation
import GRDB
import OttoCore
@testable import OttoState
import OttoTestSupport
import Testing

/// The release ledger in the state database (SQLite's migration v7-releases, PostgreSQL's v3-ledgers), on both backends.
@Suite struct ReleaseLedgerTests {
    static func release(_ version: String, site: String = "demo", app: String = "hello", hosts: [String] = ["demo-web-0", "demo-web-1"],
                        started: Date = Date(timeIntervalSince1970: 1_700_000_000.25), rollbackOf: Int? = nil) -> NewRelease {
        NewRelease(site: site, app: app, version: version, digest: String(repeating: "ab", count: 32), actor: "ops@laptop",
                   started: started, hosts: hosts, reason: "version \(version) in sites/demo.yml", rollbackOf: rollbackOf)
    }

    @Test(arguments: StoreBackend.allCases)
    func numbersStartAtOnePerSiteAndApp(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any ReleaseLedger
        let first = try await store.appendRelease(Self.release("1.0.0"))
        #expect(first == ReleaseRecord(site: "demo", app: "hello", number: 1, version: "1.0.0", digest: String(repeating: "ab", count: 32),
                                       actor: "ops@laptop", started: Date(timeIntervalSince1970: 1_700_000_000.25), finished: nil,
                                       result: .started, hosts: ["demo-web-0", "demo-web-1"], reason: "version 1.0.0 in sites/demo.yml",
                                       rollbackOf: nil))
        #expect(try await store.appendRelease(Self.release("1.1.0")).number == 2)
        #expect(try await store.appendRelease(Self.release("1.0.0", app: "other")).number == 1)
        #expect(try await store.appendRelease(Self.release("1.0.0", site: "shop")).number == 1)
        #expect(try await store.appendRelease(Self.release("1.0.0", rollbackOf: 1)).number == 3)

        let list = try await store.releases(site: "demo", app: "hello", limit: 10)
        #expect(list.map(\.number) == [3, 2, 1])
        #expect(list[0].rollbackOf == 1 && list[1].rollbackOf == nil)
        #expect(list[2] == first)
        #expect(try await store.releases(site: "demo", app: "hello", limit: 2).map(\.number) == [3, 2])
        #expect(try await store.releases(site: "demo", app: "nope", limit: 10).isEmpty)
        // every site: newest start first
        _ = try await store.appendRelease(Self.release("2.0.0", site: "shop", started: Date(timeIntervalSince1970: 1_800_000_000)))
        let all = try await store.releases(site: nil, app: "hello", limit: 10)
        #expect(all.map { "\($0.site)#\($0.number)" } == ["shop#2", "demo#3", "demo#2", "demo#1", "shop#1"])
        #expect(try await store.latestRelease(site: "demo", app: "hello")?.number == 3)
        #expect(try await store.latestRelease(site: "demo", app: "nope") == nil)
    }

    @Test(arguments: StoreBackend.allCases)
    func finishingIsOnceAndRowsAreAppendOnly(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any ReleaseLedger
        _ = try await store.appendRelease(Self.release("1.0.0"))
        _ = try await store.appendRelease(Self.release("1.1.0"))
        let end = Date(timeIntervalSince1970: 1_700_000_042.5)
        let done = try await store.finishRelease(site: "demo", app: "hello", number: 1, result: .succeeded, finished: end, reason: nil)
        #expect(done.finished == end && done.result == .succeeded && done.reason == "version 1.0.0 in sites/demo.yml")
        #expect(done.duration == 42.25)
        let failed = try await store.finishRelease(site: "demo", app: "hello", number: 2, result: .rolledBack, finished: end,
                                                   reason: "5xx rate 0.2 > 0.01")
        #expect(failed.reason == "5xx rate 0.2 > 0.01")
        #expect(try await store.releases(site: "demo", app: "hello", limit: 5) == [failed, done])
        #expect(try await store.latestRelease(site: "demo", app: "hello", result: .succeeded) == done)
        #expect(try await store.latestRelease(site: "demo", app: "hello", result: .failed) == nil)

        await #expect {
            try await store.finishRelease(site: "demo", app: "hello", number: 1, result: .failed, finished: end, reason: "again")
        } throws: { error in
            (error as? OttoError)?.code == "state.release" && "\(error)".contains("already finished (succeeded at")
        }
        await #expect {
            try await store.finishRelease(site: "demo", app: "hello", number: 9, result: .failed, finished: end, reason: nil)
        } throws: { error in
            (error as? OttoError)?.code == "state.release" && "\(error)".contains("there is no release 9 of app hello of site demo")
        }
        _ = try await store.appendRelease(Self.release("1.2.0"))
        await #expect {
            try await store.finishRelease(site: "demo", app: "hello", number: 3, result: .started, finished: end, reason: nil)
        } throws: { error in (error as? OttoError)?.code == "state.release" }
        // the refused finishes changed nothing
        #expect(try await store.releases(site: "demo", app: "hello", limit: 5) == [
            ReleaseRecord(site: "demo", app: "hello", number: 3, version: "1.2.0", digest: String(repeating: "ab", count: 32),
                          actor: "ops@laptop", started: Date(timeIntervalSince1970: 1_700_000_000.25),
                          hosts: ["demo-web-0", "demo-web-1"], reason: "version 1.2.0 in sites/demo.yml"),
            failed, done,
        ])
        // the database itself refuses deleting rows and rewriting finished ones
        #expect(throws: (any Error).self) { try fixture.executeRaw("DELETE FROM releases WHERE number = 3") }
        #expect(throws: (any Error).self) { try fixture.executeRaw("UPDATE releases SET result = 'failed' WHERE number = 1") }
        #expect(throws: (any Error).self) { try fixture.executeRaw("UPDATE releases SET version = 'x' WHERE number = 3") }
        #expect(try await store.releases(site: "demo", app: "hello", limit: 5).count == 3)
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAppendersNeverShareANumber(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        // two connections to one state, as two otto processes would have
        let stores = [fixture.store as! any ReleaseLedger, try await fixture.reopen() as! any ReleaseLedger]
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                let store = stores[i % 2]
                group.addTask { try await store.appendRelease(Self.release("1.0.\(i)")).number }
            }
            var out: [Int] = []
            for try await n in group { out.append(n) }
            return out
        }
        #expect(numbers.sorted() == Array(1...40))
        let rows = try await stores[0].releases(site: "demo", app: "hello", limit: 100)
        #expect(rows.map(\.number) == Array((1...40).reversed()))
        #expect(Set(rows.map(\.version)).count == 40)
    }

    /// SQLite only: it rewinds an SQLite file's schema with the sqlite3 CLI (PostgreSQL's migrations start with the ledgers).
    @Test("a v6 state gets the releases table and keeps what it held", .enabled(if: hasSQLite3CLI))
    func migratesFromV6() async throws {
        let dir = try TempDir()
        let path = dir.file("state.db")
        do {
            let store = try SQLiteStateStore(path: path)
            try await store.put(recordWithEveryValue("www"))
        }
        // back to the v6 schema: what otto before the release ledger made. The store above may still be closing (its
        // last reference goes with the write's closure on GRDB's thread, and closing checkpoints the WAL under a lock),
        // so the sqlite3 CLI waits for locks as otto itself does (`-cmd .timeout`) instead of failing at once.
        let downgrade = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", path, """
            DROP TRIGGER releases_no_delete; DROP TRIGGER releases_finish_once; DROP TABLE releases;
            DELETE FROM grdb_migrations WHERE identifier = 'v7-releases';
            """])
        #expect(downgrade.status == 0, "\(downgrade.stderr)")
        let tables = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", path, "SELECT count(*) FROM sqlite_master WHERE name = 'releases'"])
        #expect(tables.status == 0)
        let store = try SQLiteStateStore(path: path)
        #expect(try await store.snapshot().records.count == 1)
        #expect(try await store.releases(site: "demo", app: "hello", limit: 5).isEmpty)
        #expect(try await store.appendRelease(Self.release("1.0.0")).number == 1)
        await #expect {
            try await store.finishRelease(site: "demo", app: "hello", number: 1, result: .succeeded, finished: Date(), reason: nil)
            try await store.finishRelease(site: "demo", app: "hello", number: 1, result: .succeeded, finished: Date(), reason: nil)
        } throws: { error in (error as? OttoError)?.code == "state.release" }
    }

    @Test func recordJSONShape() throws {
        let record = ReleaseRecord(site: "demo", app: "hello", number: 2, version: "1.1.0", digest: "ab", actor: "api:ci",
                                   started: Date(timeIntervalSince1970: 1_700_000_000.25), hosts: ["demo-web-0"], reason: "")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(ReleaseList(app: "hello", releases: [record])), as: UTF8.self)
        #expect(text == """
            {"app":"hello","releases":[{"actor":"api:ci","app":"hello","digest":"ab","finished":null,"hosts":["demo-web-0"],\
            "number":2,"reason":"","result":"started","rollback_of":null,"site":"demo","started":"2023-11-14T22:13:20.250Z","version":"1.1.0"}]}
            """)
        #expect(try JSONDecoder().decode(ReleaseList.self, from: Data(text.utf8)).releases == [record])
        var done = record
        done.finished = Date(timeIntervalSince1970: 1_700_000_010)
        done.result = .rolledBack
        done.rollbackOf = 1
        let doneText = String(decoding: try encoder.encode(done), as: UTF8.self)
        #expect(doneText.contains("\"finished\":\"2023-11-14T22:13:30.000Z\"") && doneText.contains("\"result\":\"rolled_back\"")
                && doneText.contains("\"rollback_of\":1"))
        #expect(try JSONDecoder().decode(ReleaseRecord.self, from: Data(doneText.utf8)) == done)
    }
}
