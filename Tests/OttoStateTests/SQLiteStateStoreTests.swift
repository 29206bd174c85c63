import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite("SQLiteStateStore")
struct SQLiteStateStoreTests {
    @Test("records with every Value case round-trip", arguments: StoreBackend.allCases)
    func roundTrip(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        let records = [recordWithEveryValue("demo.www.A"), recordWithEveryValue("demo.mail.MX"),
                       ResourceRecord(address: "machine.demo.web[0]", provider: "local", providerID: "m-1",
                                      attributes: [:], dependencies: [])]
        for record in records { try await store.put(record) }
        let snapshot = try await store.snapshot()
        #expect(snapshot.records.count == 3)
        for record in records {
            #expect(snapshot.records[record.address] == record)
        }
    }

    @Test("put replaces the row with the same address", arguments: StoreBackend.allCases)
    func upsert(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        var record = recordWithEveryValue("demo.www.A")
        try await store.put(record)
        record.providerID = "changed"
        record.attributes = ["ttl": .int(60)]
        record.dependencies = []
        try await store.put(record)
        let snapshot = try await store.snapshot()
        #expect(snapshot.records.count == 1)
        #expect(snapshot.records[record.address] == record)
    }

    @Test("a write that fails part-way leaves nothing of itself, and the next write commits")
    func failedWriteRollsBack() async throws {
        let fixture = try await StoreFixture.make(.sqlite)
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.put(recordWithEveryValue("kept.A"))
        let before = try await store.snapshot()
        // The database refuses one record of the batch, after the one before it went in.
        try fixture.executeRaw("""
            CREATE TRIGGER refuse_bad BEFORE INSERT ON resources WHEN NEW.address = 'dns_record.bad.A'
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """)
        let error = await #expect(throws: OttoError.self) {
            try await store.put([recordWithEveryValue("first.A"), recordWithEveryValue("bad.A"), recordWithEveryValue("last.A")],
                                removing: ["dns_record.kept.A"])
        }
        #expect(error?.code == "state.write")
        #expect(error?.cause?.contains("refused by the test") == true)
        let after = try await store.snapshot()
        #expect(after.records == before.records)
        #expect(after.serial == before.serial)
        #expect(after.serials == before.serials)

        try await store.put([recordWithEveryValue("first.A"), recordWithEveryValue("last.A")], removing: [])
        let next = try await store.snapshot()
        #expect(next.serial == before.serial + 1)
        #expect(Set(next.records.keys) == ["dns_record.kept.A", "dns_record.first.A", "dns_record.last.A"])
        #expect(next.records["dns_record.first.A"] == recordWithEveryValue("first.A"))
    }

    @Test("a new state starts at serial 0 with a UUID lineage; writes increment the serial", arguments: StoreBackend.allCases)
    func serial(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        let first = try await store.snapshot()
        #expect(first.serial == 0)
        #expect(UUID(uuidString: first.lineage) != nil)
        #expect(first.records.isEmpty)

        try await store.put(recordWithEveryValue("a.A"))
        #expect(try await store.snapshot().serial == 1)
        try await store.put(recordWithEveryValue("b.A"))
        #expect(try await store.snapshot().serial == 2)
        try await store.put([recordWithEveryValue("c.A"), recordWithEveryValue("d.A")], removing: ["dns_record.a.A"])
        #expect(try await store.snapshot().serial == 3)
        try await store.remove("dns_record.b.A")
        #expect(try await store.snapshot().serial == 4)
        // Nothing changed: the serial stays, so a plan made at 4 is still valid.
        try await store.remove("dns_record.not.there")
        try await store.put([], removing: [])
        try await store.put([], removing: ["dns_record.not.there"])
        let last = try await store.snapshot()
        #expect(last.serial == 4)
        #expect(last.lineage == first.lineage)
        #expect(Set(last.records.keys) == ["dns_record.c.A", "dns_record.d.A"])
    }

    @Test("two new states get different lineages")
    func distinctLineages() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let a = try await SQLiteStateStore(path: dir.file("a.db")).snapshot().lineage
        let b = try await SQLiteStateStore(path: dir.file("b.db")).snapshot().lineage
        #expect(a != b)
    }

    @Test("reopening after the store is released gives the same state")
    func reopen() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("nested/dir/state.db")
        let before: StateSnapshot
        do {
            let store = try SQLiteStateStore(path: path)
            try await store.put(recordWithEveryValue("demo.www.A"))
            try await store.put(recordWithEveryValue("demo.www.AAAA"))
            before = try await store.snapshot()
        } // the store is released here, which closes its connection
        let reopened = try SQLiteStateStore(path: path)
        let after = try await reopened.snapshot()
        #expect(after.lineage == before.lineage)
        #expect(after.serial == before.serial)
        #expect(after.records == before.records)
        #expect(after.serial == 2)
    }

    @Test("two store instances on one state see each other's writes", arguments: StoreBackend.allCases)
    func twoInstances(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let a = fixture.store
        let b = try await fixture.reopen()
        try await a.put(recordWithEveryValue("x.A"))
        try await b.put(recordWithEveryValue("y.A"))
        let seenByA = try await a.snapshot()
        let seenByB = try await b.snapshot()
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
                        do {
                            return try await SQLiteStateStore.open(path: path).snapshot().lineage
                        } catch {
                            return "error: \(error)"
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
    func notADatabase() async throws {
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
    func directoryInstead() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = #expect(throws: OttoError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.code == "state.open")
    }

    @Test("an SQLite database of something else gives state.open", .enabled(if: hasSQLite3CLI))
    func foreignDatabase() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("other.db")
        let result = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"])
        #expect(result.status == 0)
        let error = #expect(throws: OttoError.self) { try SQLiteStateStore(path: path) }
        #expect(error?.code == "state.open")
        #expect(error?.message.contains("not an otto state") == true)
    }

    @Test("run history", arguments: StoreBackend.allCases)
    func runHistory(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        #expect(try await store.runs(limit: 10).isEmpty)
        let first = try await store.startRun(command: "otto apply", user: "alice")
        let second = try await store.startRun(command: "otto destroy", user: "bob")
        #expect(second > first)
        try await store.finishRun(id: first, outcome: "ok", summary: "3 created, 1 deleted")

        let runs = try await store.runs(limit: 10)
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
        #expect(try await store.runs(limit: 1).map(\.id) == [second])

        let error = await #expect(throws: OttoError.self) { try await store.finishRun(id: 9999, outcome: "ok", summary: "") }
        #expect(error?.code == "state.run")
        // Runs do not change the resources, so the serial stays.
        #expect(try await store.snapshot().serial == 0)
    }
}

@Suite("SQLiteStateStore scopes")
struct StateScopeTests {
    func record(_ address: ResourceAddress, site: String?) -> ResourceRecord {
        ResourceRecord(address: address, provider: "p", providerID: "id", attributes: [:], site: site)
    }

    @Test("each scope has its own serial: a write moves the serials of the scopes it touches and no other", arguments: StoreBackend.allCases)
    func serials(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store
        try await store.put(record("machine.shop.web[0]", site: "shop"))
        try await store.put(record("machine.blog.web[0]", site: "blog"))
        try await store.put([record("dns_zone.shop", site: "shop"), record("ssh_key.do", site: nil)], removing: [])
        var snap = try await store.snapshot()
        #expect(snap.serial == 3)
        #expect(snap.serials == [.site("shop"): 2, .site("blog"): 1, .account: 1])
        #expect(snap.records["machine.shop.web[0]"]?.site == "shop")
        #expect(snap.records["ssh_key.do"]?.site == nil)
        #expect(try await store.scopes() == [.site("shop"), .site("blog"), .account])
        // A removal moves the serial of the scope the row belonged to (the caller need not know it).
        try await store.remove("machine.blog.web[0]")
        try await store.putPending(PendingCreate(address: "machine.news.web[0]", provider: "p", key: "k", attributes: [:],
                                                 since: 0, site: "news"))
        snap = try await store.snapshot()
        #expect(snap.serials == [.site("shop"): 2, .site("blog"): 2, .account: 1, .site("news"): 1])
        #expect(snap.serial(of: .site("nowhere")) == 0)
        #expect(snap.pending["machine.news.web[0]"]?.site == "news")
        #expect(snap.scopes == [.site("shop"), .account, .site("news")])
    }

    @Test("a state written before scopes existed gets each row's site from its address; its old lock table goes",
          .enabled(if: hasSQLite3CLI))
    func migratesOldRows() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        // The schema as otto before v6 made it, with rows and a lock.
        let old = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1'), ('v2-handlers'), ('v3-pending-creates'), ('v4-walks'), ('v5-api-items');
            CREATE TABLE meta (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), lineage TEXT NOT NULL, serial INTEGER NOT NULL);
            INSERT INTO meta VALUES (1, 'old-lineage', 7);
            CREATE TABLE resources (address TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, provider TEXT NOT NULL,
                provider_id TEXT NOT NULL, attributes TEXT NOT NULL, dependencies TEXT NOT NULL, updated_at REAL NOT NULL) WITHOUT ROWID;
            INSERT INTO resources VALUES ('machine.demo.web[0]', 'machine', 'local', 'm0', '{}', '[]', 0),
                ('dns_zone.demo', 'dns_zone', 'pdns', 'demo.', '{}', '[]', 0), ('ssh_key.do', 'ssh_key', 'do', '1', '{}', '[]', 0);
            CREATE TABLE lock (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), id TEXT NOT NULL, pid INTEGER NOT NULL,
                host TEXT NOT NULL, user TEXT NOT NULL, command TEXT NOT NULL, since REAL NOT NULL);
            INSERT INTO lock VALUES (1, 'old', 1, 'h', 'u', 'otto apply', 0);
            CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, command TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL,
                started REAL NOT NULL, finished REAL, outcome TEXT, summary TEXT);
            CREATE TABLE handlers (id TEXT PRIMARY KEY NOT NULL, provider TEXT NOT NULL, name TEXT NOT NULL, attributes TEXT NOT NULL, since REAL NOT NULL);
            CREATE TABLE pending_creates (address TEXT PRIMARY KEY NOT NULL, provider TEXT NOT NULL, key TEXT NOT NULL,
                attributes TEXT NOT NULL, dependencies TEXT NOT NULL, since REAL NOT NULL) WITHOUT ROWID;
            INSERT INTO pending_creates VALUES ('machine.shop.db[0]', 'do', 'k', '{}', '[]', 0);
            CREATE TABLE walks (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, start_url TEXT NOT NULL, started REAL NOT NULL,
                finished REAL NOT NULL, depth INTEGER NOT NULL, max_pages INTEGER NOT NULL, page_count INTEGER NOT NULL,
                broken_count INTEGER NOT NULL, truncated INTEGER NOT NULL, interrupted INTEGER NOT NULL, requests INTEGER NOT NULL,
                connections INTEGER NOT NULL, resolve TEXT NOT NULL, broken TEXT NOT NULL);
            CREATE TABLE walk_pages (walk_id INTEGER NOT NULL, seq INTEGER NOT NULL, url TEXT NOT NULL, depth INTEGER NOT NULL,
                kind TEXT NOT NULL, method TEXT NOT NULL, status INTEGER, time_ms REAL NOT NULL, size INTEGER NOT NULL, content_type TEXT,
                redirects TEXT, links TEXT, error_code TEXT, error_message TEXT, PRIMARY KEY (walk_id, seq)) WITHOUT ROWID;
            CREATE TABLE api_items (kind TEXT NOT NULL, name TEXT NOT NULL, provider TEXT, document TEXT NOT NULL,
                updated_at REAL NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID;
            """
        let made = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", path, old])
        #expect(made.status == 0, "\(made.stderr)")
        let store = try SQLiteStateStore(path: path)
        let snap = try await store.snapshot()
        #expect(snap.lineage == "old-lineage")
        #expect(snap.serial == 7)
        #expect(snap.records["machine.demo.web[0]"]?.site == "demo")
        #expect(snap.records["dns_zone.demo"]?.site == "demo")
        #expect(snap.records["ssh_key.do"]?.site == nil)
        #expect(snap.pending["machine.shop.db[0]"]?.site == "shop")
        #expect(try await store.locks().isEmpty)
        let lease = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        await lease.release()
    }
}
