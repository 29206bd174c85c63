import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// Opens a PostgreSQL state at `url` on a dispatch thread.
func openPostgres(_ url: String) async throws -> PostgresStateStore {
    try await Blocking.run { try PostgresStateStore(PostgresLocation(url, root: "/nonexistent")) }
}

/// What `body` returned or threw.
func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

func record(_ name: String, site: String) -> ResourceRecord {
    ResourceRecord(address: ResourceAddress(kind: "dns_record", name: "\(site).\(name)"), provider: "p", providerID: name,
                   attributes: ["v": .string(name)], site: site)
}

/// Session advisory locks, epochs and fencing of the PostgreSQL state, against a real PostgreSQL 15.
@Suite("PostgreSQL state locks", .serialized)
struct PostgresLockTests {
    @Test("two clients race for one site: exactly one gets it, the other names the holder", .timeLimit(.minutes(2)))
    func race() async throws {
        let server = try await PostgresServer.shared()
        let url = server.url(try await server.makeDatabase(), "project=race")
        let a = try await openPostgres(url)
        let b = try await openPostgres(url)
        for round in 0..<20 {
            let site = StateScope.site("s\(round)")
            async let x = attempt { try await a.lock([site], command: "otto apply a", timeout: .zero) }
            async let y = attempt { try await b.lock([site], command: "otto apply b", timeout: .zero) }
            let results = [await x, await y]
            let won = results.compactMap { try? $0.get() }
            #expect(won.count == 1, "round \(round): \(results)")
            guard let lease = won.first else { continue }
            for case .failure(let error) in results {
                let locked = try #require(error as? StateLockedError, "\(error)")
                #expect(locked.holder == lease.locks[0])
                #expect(locked.description.contains(lease.locks[0].command))
            }
            #expect(try await a.locks() == lease.locks)
            await lease.release()
            #expect(try await b.locks().isEmpty)
        }
    }

    @Test("different sites, and the same site of different projects in one database, lock independently")
    func independent() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let shop = try await openPostgres(server.url(database, "project=shop"))
        let blog = try await openPostgres(server.url(database, "project=blog"))
        let shop2 = try await openPostgres(server.url(database, "project=shop"))
        let one = try await shop.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let two = try await blog.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let three = try await shop2.lock([.site("other"), .account], command: "otto apply", timeout: .zero)
        await #expect(throws: StateLockedError.self) { try await shop2.lock([.site("demo")], command: "otto plan", timeout: .zero) }
        // Locks of one project are not seen from the other; its resources neither.
        #expect(try await blog.locks().map(\.scope) == [.site("demo")])
        #expect(try await shop.locks().map(\.scope) == [.site("demo"), .site("other"), .account])
        try await shop.put(record("www", site: "demo"))
        #expect(try await blog.snapshot().records.isEmpty)
        for lease in [one, two, three] { await lease.release() }
        #expect(try await shop.locks().isEmpty)
    }

    @Test("migrations racing from three replicas on an empty database succeed once", .timeLimit(.minutes(2)))
    func migrationRace() async throws {
        let server = try await PostgresServer.shared()
        for _ in 0..<5 {
            let database = try await server.makeDatabase()
            let url = server.url(database, "project=raced")
            let lineages = await withTaskGroup(of: String.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        do { return try await openPostgres(url).snapshot().lineage } catch { return "error: \(error)" }
                    }
                }
                var out: [String] = []
                for await lineage in group { out.append(lineage) }
                return out
            }
            #expect(lineages.allSatisfy { UUID(uuidString: $0) != nil }, "\(lineages)")
            #expect(Set(lineages).count == 1)
            let counts = try await server.psql("SELECT count(*), count(DISTINCT version) FROM otto_raced.schema_migrations",
                                               database: database)
            let known = PostgresStateStore.migrations.count
            #expect(counts == "\(known)|\(known)")
            #expect(try await server.psql("SELECT count(*) FROM otto.projects WHERE name = 'raced'", database: database) == "1")
        }
    }

    @Test("a holder whose lock session ended is fenced: its writes are refused, and the next holder's state is intact",
          .timeLimit(.minutes(2)))
    func fencing() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let url = server.url(database, "project=fence")
        let a = try await openPostgres(url)
        let b = try await openPostgres(url)
        let lease = try await a.lock([.site("demo")], command: "otto serve a", timeout: .zero)
        try await a.put(record("one", site: "demo"))
        // The server ends A's lock session (as idle_session_timeout does to a holder that hung or was cut off).
        let backend = try await server.psql("SELECT lock_backend FROM otto_fence.scopes WHERE scope = 'site:demo'", database: database)
        #expect(try await server.psql("SELECT pg_terminate_backend(\(backend), 5000)", database: database) == "t")
        // Before anyone else takes the site, A may not write either: its session no longer holds the lock.
        let early = await #expect(throws: OttoError.self) { try await a.put(record("two", site: "demo")) }
        #expect(early?.code == "state.fenced")
        let taken = try await b.lock([.site("demo")], command: "otto serve b", timeout: .seconds(5))
        let late = await #expect(throws: OttoError.self) {
            try await a.putPending(PendingCreate(address: "machine.demo.web[0]", provider: "p", key: "k", attributes: [:], since: 0, site: "demo"))
        }
        #expect(late?.code == "state.fenced")
        #expect(!a.holds(.site("demo")) && b.holds(.site("demo")))
        // Writes to scopes A does not hold still go through; B writes its site.
        try await a.put(record("www", site: "elsewhere"))
        try await b.put(record("three", site: "demo"))
        let snap = try await b.snapshot()
        #expect(Set(snap.records.keys) == ["dns_record.demo.one", "dns_record.demo.three", "dns_record.elsewhere.www"])
        #expect(snap.pending.isEmpty)
        #expect(a.lockFigures.fencedWrites == 2)
        #expect(b.lockFigures.handovers == 1)
        await lease.release()  // gives back nothing of B's
        #expect(try await b.locks().map(\.id) == taken.locks.map(\.id))
        await taken.release()
    }

    @Test("a run whose holder lost its lock ends as abandoned when the next holder takes the site; its late end says fenced",
          .timeLimit(.minutes(2)))
    func abandonedRun() async throws {
        let server = try await PostgresServer.shared()
        let database = try await server.makeDatabase()
        let url = server.url(database, "project=gone")
        let a = try await openPostgres(url)
        let b = try await openPostgres(url)
        let lease = try await a.lock([.site("demo")], command: "otto serve a", timeout: .zero)
        let other = try await a.lock([.site("other")], command: "otto serve a", timeout: .zero)
        let lost = try await a.startRun(command: "otto serve a", user: "a")
        await other.release()
        let kept = try await a.startRun(command: "otto serve a", user: "a")  // of site:demo only; never lost
        // A's lock session ends (a restart, a cut); its runs have no end yet.
        let backend = try await server.psql("SELECT lock_backend FROM otto_gone.scopes WHERE scope = 'site:demo'", database: database)
        #expect(try await server.psql("SELECT pg_terminate_backend(\(backend), 5000)", database: database) == "t")
        let taken = try await b.lock([.site("demo")], command: "otto serve b", timeout: .seconds(5))
        let next = try await b.startRun(command: "otto serve b", user: "b")
        let rows = try await server.psql("""
            SELECT id || ' ' || coalesce(outcome, '-') || ' ' || CASE WHEN finished <= (SELECT started FROM otto_gone.runs
                WHERE id = \(next)) THEN 'before' ELSE 'open' END FROM otto_gone.runs ORDER BY id
            """, database: database)
        #expect(rows == "\(lost) abandoned before\n\(kept) abandoned before\n\(next) - open", "\(rows)")
        let summary = try await server.psql("SELECT summary FROM otto_gone.runs WHERE id = \(lost)", database: database)
        #expect(summary.contains("lost the lock of site:demo"), "\(summary)")
        // A run of another site is left alone: site:other's lock was not taken over.
        let before = try await b.startRun(command: "otto serve b", user: "b")
        let elsewhere = try await b.lock([.site("elsewhere")], command: "otto serve b", timeout: .zero)
        #expect(try await server.psql("SELECT coalesce(outcome, '-') FROM otto_gone.runs WHERE id = \(before)", database: database) == "-")
        // The old holder records its end after all: the run says it was fenced, with its real end.
        try await a.finishRun(id: lost, outcome: "ok", summary: "1 changed")
        let late = try await server.psql("SELECT outcome || ' ' || summary FROM otto_gone.runs WHERE id = \(lost)", database: database)
        #expect(late == "fenced fenced: lost the lock mid-run; 1 changed", "\(late)")
        try await b.finishRun(id: next, outcome: "ok", summary: "0 changed")
        #expect(try await server.psql("SELECT outcome FROM otto_gone.runs WHERE id = \(next)", database: database) == "ok")
        for l in [elsewhere, taken, lease] { await l.release() }
    }

    @Test("the heartbeat keeps a held lock past idle_session_timeout", .timeLimit(.minutes(2)))
    func heartbeat() async throws {
        let server = try await PostgresServer.shared()
        let url = server.url(try await server.makeDatabase(), "project=beat&lock_session_timeout=1s")
        let a = try await openPostgres(url)
        let lease = try await a.lock([.site("demo")], command: "otto serve", timeout: .zero)
        try await Task.sleep(for: .seconds(3))
        try await a.put(record("www", site: "demo"))
        #expect(a.holds(.site("demo")))
        #expect(try await a.locks() == lease.locks)
        await lease.release()
    }

    @Test("force-unlock ends the holder's session: the lock is free at once and the old holder is fenced")
    func forceUnlock() async throws {
        let server = try await PostgresServer.shared()
        let url = server.url(try await server.makeDatabase(), "project=force")
        let a = try await openPostgres(url)
        let b = try await openPostgres(url)
        let lease = try await a.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let error = await #expect(throws: OttoError.self) { try await b.forceUnlock(id: "no-such-lock") }
        #expect(error?.code == "state.unlock")
        #expect(error?.message.contains(lease.locks[0].id) == true)
        try await b.forceUnlock(id: lease.locks[0].id)
        #expect(try await b.locks().isEmpty)
        let taken = try await b.lock([.site("demo")], command: "otto apply", timeout: .seconds(5))
        let fenced = await #expect(throws: OttoError.self) { try await a.put(record("www", site: "demo")) }
        #expect(fenced?.code == "state.fenced")
        await taken.release()
        await lease.release()
    }

    @Test("pg_ctl restart: held locks are lost and fenced; the store reconnects and locks again", .timeLimit(.minutes(3)))
    func serverRestart() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let database = try await server.makeDatabase()
        let a = try await openPostgres(server.url(database, "project=restart"))
        let lease = try await a.lock([.site("demo")], command: "otto serve", timeout: .zero)
        try await a.put(record("one", site: "demo"))
        try await server.restart()
        let error = await #expect(throws: OttoError.self) { try await a.put(record("two", site: "demo")) }
        #expect(error?.code == "state.fenced")
        await lease.release()
        let again = try await a.lock([.site("demo")], command: "otto serve", timeout: .seconds(5))
        try await a.put(record("two", site: "demo"))
        #expect(Set(try await a.snapshot().records.keys) == ["dns_record.demo.one", "dns_record.demo.two"])
        await again.release()
    }
}
