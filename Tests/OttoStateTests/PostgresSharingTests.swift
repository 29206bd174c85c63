import Foundation
import OttoCore
import OttoTestSupport
import Synchronization
import Testing
@testable import OttoState

/// What replicas sharing one PostgreSQL state tell each other (NOTIFY) and how they take turns at walks, against a real
/// PostgreSQL 15.
@Suite("PostgreSQL state shared by replicas", .serialized)
struct PostgresSharingTests {
    /// Waits up to `seconds` for `condition`.
    static func eventually(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    @Test("writes of API items and walkers reach another store's listener, and again after pg_ctl restart", .timeLimit(.minutes(3)))
    func notifications() async throws {
        let server = try await PostgresServer.start()
        defer { server.stop() }
        let database = try await server.makeDatabase()
        let writer = try await openPostgres(server.url(database, "project=notes"))
        let reader = try await openPostgres(server.url(database, "project=notes"))
        let other = try await openPostgres(server.url(database, "project=elsewhere"))
        let seen = Mutex<[StateChange]>([])
        let listener = reader.listenForChanges(checkEvery: .milliseconds(200)) { change in seen.withLock { $0.append(change) } }
        defer { listener.stop() }
        #expect(await Self.eventually(10) { listener.connections == 1 })

        // Another project's writes are not this one's news.
        try await Blocking.run { try other.writeAPIItems(put: [APIItem(key: APIItemKey(.records, "x.test"), document: "{}")], remove: []) }
        try await Blocking.run {
            try writer.writeAPIItems(put: [APIItem(key: APIItemKey(.records, "a.test"), document: "{}")], remove: [])
        }
        #expect(await Self.eventually(10) { seen.withLock { $0 } == [.items] }, "\(seen.withLock { $0 })")
        let spec = WalkSpec(every: ConfigDuration(parsing: "1h")!, depth: 1, maxPages: 5, allow: [], start: "http://a.test/",
                            location: SourceLocation(file: "api", line: 1, column: 1))
        try await Blocking.run { try writer.storeWalker(site: "a", spec) }
        try await Blocking.run { try writer.removeStoredWalker(site: "a") }
        #expect(await Self.eventually(10) { seen.withLock { $0 } == [.items, .walkers, .walkers] }, "\(seen.withLock { $0 })")

        // A write that rolls back tells no one.
        let failing = await attempt {
            try await Blocking.run {
                try writer.writeBlocking("fail on purpose") { s in
                    try writer.notify(s, .items)
                    try s.execute("SELECT 1/0")
                }
            }
        }
        #expect((try? failing.get()) == nil)

        // After a restart the listener connects and listens again (and says everything must be read again); writes made
        // after that reach it as before.
        try await server.restart()
        #expect(await Self.eventually(20) { listener.connections == 2 }, "the listener did not listen again after the restart")
        #expect(await Self.eventually(5) { seen.withLock { $0.last } == .resync }, "\(seen.withLock { $0 })")
        try await Blocking.run {
            try writer.writeAPIItems(put: [APIItem(key: APIItemKey(.records, "b.test"), document: "{}")], remove: [])
        }
        #expect(await Self.eventually(10) { seen.withLock { $0 } == [.items, .walkers, .walkers, .resync, .items] },
                "\(seen.withLock { $0 })")
    }

    @Test("walk turns: one replica walks a site per interval, never two at once, by the database's clock", .timeLimit(.minutes(2)))
    func walkTurns() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.makeDatabase()
        let url = server.url(db, "project=walks")
        let a = try await openPostgres(url)
        let b = try await openPostgres(url)

        // The first to ask walks; the other is told to come back soon while the walk runs (its lock is held).
        guard case .granted(let lease) = try await a.takeWalk(site: "demo", every: .seconds(2), replica: "a") else {
            Issue.record("the first replica to ask did not get the walk")
            return
        }
        guard case .notYet(let wait) = try await b.takeWalk(site: "demo", every: .seconds(2), replica: "b") else {
            Issue.record("two replicas walk one site at once")
            return
        }
        #expect(wait > .zero && wait <= .seconds(2), "\(wait)")
        // Other sites are free meanwhile.
        guard case .granted(let other) = try await b.takeWalk(site: "shop", every: .seconds(2), replica: "b") else {
            Issue.record("another site's walk was refused")
            return
        }
        await b.finishWalk(site: "shop", lease: other, outcome: "ok")
        await a.finishWalk(site: "demo", lease: lease, outcome: "ok")

        // Walked less than an interval ago: not yet, for anyone, with about the time left.
        for store in [a, b] {
            guard case .notYet(let left) = try await store.takeWalk(site: "demo", every: .seconds(2), replica: "x") else {
                Issue.record("a site was walked again sooner than its interval")
                return
            }
            #expect(left > .milliseconds(500) && left <= .seconds(2), "\(left)")
        }
        // Once due again, exactly one of two racing replicas walks it.
        try await Task.sleep(for: .milliseconds(2100))
        async let x = b.takeWalk(site: "demo", every: .seconds(2), replica: "b")
        async let y = a.takeWalk(site: "demo", every: .seconds(2), replica: "a")
        let grants = [try await x, try await y]
        let leases = grants.compactMap { grant -> (any StateLease)? in
            if case .granted(let lease) = grant { return lease }
            return nil
        }
        let left = try await server.psql("SELECT next_due - extract(epoch FROM clock_timestamp()) FROM otto_walks.scopes WHERE scope = 'walk:demo'",
                                         database: db)
        #expect(leases.count == 1, "\(grants); due in \(left) s")
        for (grant, store) in zip(grants, [b, a]) { if case .granted(let l) = grant { await store.finishWalk(site: "demo", lease: l, outcome: "failed") } }
        let row = try await server.psql("SELECT last_outcome || ' ' || failures FROM otto_walks.scopes WHERE scope = 'walk:demo'",
                                        database: db)
        #expect(row == "failed 1", "\(row)")
        // Walk scopes are neither sites nor in the sites' schedule.
        #expect(try await a.siteSchedules().isEmpty)

        // A holder that dies mid-walk frees its site at once: the walk is due again after its interval, not held forever.
        guard case .granted = try await a.takeWalk(site: "blog", every: .milliseconds(300), replica: "a") else {
            Issue.record("blog's first walk was refused")
            return
        }
        let backend = try #require(a.lockBackend.withLock { $0 })
        _ = try await server.psql("SELECT pg_terminate_backend(\(backend))", database: db)
        try await Task.sleep(for: .milliseconds(400))
        guard case .granted(let taken) = try await b.takeWalk(site: "blog", every: .seconds(1), replica: "b") else {
            Issue.record("a dead holder's walk was never taken over")
            return
        }
        await b.finishWalk(site: "blog", lease: taken, outcome: "ok")
    }

    @Test("locks of another database on the same server (its project and scopes numbered alike) do not make a site busy here")
    func otherDatabases() async throws {
        let server = try await PostgresServer.shared()
        let here = try await openPostgres(server.url(try await server.makeDatabase(), "project=twin"))
        let there = try await openPostgres(server.url(try await server.makeDatabase(), "project=twin"))
        // The same first scope in each: numbered 1 in project 1 of each database.
        let lease = try await there.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let mine = try await here.lock([.site("demo")], command: "otto apply", timeout: .zero)
        await mine.release()
        #expect(try await here.dueSites(["demo"], limit: 5).map(\.site) == ["demo"])
        guard case .granted(let walk) = try await here.takeWalk(site: "demo", every: .seconds(60), replica: "here") else {
            Issue.record("a walk was refused because of another database's lock")
            return
        }
        _ = try await there.lock([.walk("demo")], command: "walk", timeout: .zero)
        await here.finishWalk(site: "demo", lease: walk, outcome: "ok")
        #expect(try await here.siteSchedules().allSatisfy { $0.heldBy == nil })
        await lease.release()
    }
}
