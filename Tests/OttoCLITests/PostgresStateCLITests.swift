import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// `--state postgres://…` through the real `otto` binary, against a real PostgreSQL 15 and a real PowerDNS.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct PostgresStateCLITests {
    @Test func applyPlanAndLocksWorkOnAPostgresState() async throws {
        let pg = try await PostgresServer.shared()
        let database = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try LockCLITests.twoSites(p, extra: 300)
        let state = pg.url(database, "project=cli")
        let applied = try await p.otto("apply", "--auto-approve", "--site", "blog", "--state", state)
        #expect(applied.status == 0, "\(applied.stdout.suffix(2000))\n\(applied.stderr)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_cli.resources", database: database) == "306")
        #expect(!FileManager.default.fileExists(atPath: p.dir + "/.otto/state.db"), "an SQLite state was made beside it")
        let plan = try await p.otto("plan", "--site", "blog", "--state", state)
        #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout.suffix(2000))\n\(plan.stderr)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_cli.runs WHERE outcome IS NOT NULL", database: database) == "1")

        // A slow apply of the other site (306 creates, one at a time) holds its lock; another is refused naming it;
        // force-unlock ends the holder's session, and the holder, fenced, writes nothing more and fails.
        let slow = try await p.start("apply", "--auto-approve", "--site", "shop", "--parallelism", "1", "--state", state)
        defer { slow.kill(SIGKILL) }
        var lockID = ""
        for _ in 0..<400 where lockID.isEmpty {
            lockID = try await pg.psql("SELECT coalesce(lock_id, '') FROM otto_cli.scopes WHERE scope = 'site:shop'", database: database)
            if lockID.isEmpty { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(!lockID.isEmpty, "the slow apply never took the site")
        let refused = try await p.otto("apply", "--auto-approve", "--site", "shop", "--state", state)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("site shop is locked by `otto apply`") && refused.stderr.contains(lockID), "\(refused.stderr)")
        let unlocked = try await p.otto("force-unlock", lockID, "--state", state)
        #expect(unlocked.status == 0, "\(unlocked.stderr)")
        let code = await slow.waitForExit()
        #expect(code != 0, "the fenced apply reported success")
        let written = Int(try await pg.psql("SELECT count(*) FROM otto_cli.resources WHERE site = 'shop'", database: database)) ?? -1
        #expect(written < 306, "the fenced apply went on writing")
        let again = try await p.otto("apply", "--auto-approve", "--state", state)
        #expect(again.status == 0, "\(again.stdout.suffix(2000))\n\(again.stderr)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_cli.resources", database: database) == "612")
        #expect(try await p.otto("plan", "--state", state).stdout.contains("No changes"))
    }

    @Test func stateMigrateCopiesAnSQLiteStateIntoPostgres() async throws {
        let pg = try await PostgresServer.shared()
        let database = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try LockCLITests.twoSites(p, extra: 20)
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        let lineage = try await runProcess(["sqlite3", p.dir + "/.otto/state.db", "SELECT lineage FROM meta"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let state = pg.url(database, "project=moved")
        let moved = try await p.otto("state", "migrate", "--to", state)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(moved.stdout.contains("resources: 52") && moved.stdout.contains("runs: 1"), "\(moved.stdout)")
        #expect(try await pg.psql("SELECT lineage FROM otto_moved.meta", database: database) == lineage)
        let plan = try await p.otto("plan", "--state", state)
        #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout.suffix(2000))\n\(plan.stderr)")
        // Into a state that is no longer empty: refused, nothing copied.
        let twice = try await p.otto("state", "migrate", "--to", state)
        #expect(twice.status == 1 && twice.stderr.contains("already holds a state"), "\(twice.stderr)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_moved.runs", database: database) == "1")
        // And back out, into a new SQLite file.
        let back = try await p.otto("state", "migrate", "--from", state, "--to", "sqlite:back.db")
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try await p.otto("plan", "--state", "sqlite:back.db").stdout.contains("No changes"))
    }
}
