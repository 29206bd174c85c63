import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Several `otto serve` replicas sharing one PostgreSQL state: sites run one at a time as they fall due, with no leader;
/// a replica that dies, hangs or loses its database has its sites taken over within seconds, and never writes over the
/// new holder. Real PostgreSQL 15, real PowerDNS, real `otto` processes.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct ServeReplicaTests {
    /// 30 small sites and one big one (its runs take seconds: something to interrupt).
    static func project(_ pdns: PowerDNSServer, bigValue: Int = 1) throws -> CLIProject {
        let p = try CLIProject(pdns: pdns)
        try p.write("inventory/dns.yml", """
            providers:
              powerdns:
                type: powerdns
                url: \(pdns.apiURL)
                server: localhost
                api_key_env: OTTO_TEST_PDNS_KEY
                concurrency: 2
            """)
        for i in 0..<30 { try p.write("sites/s\(i).yml", siteYAML(site: "s\(i)", zone: "s\(i).test", wwwTarget: "s\(i).test.", extra: 3)) }
        try bigSite(p, value: bigValue)
        return p
    }

    /// The big site: 400 A records whose address ends in `value`.
    static func bigSite(_ p: CLIProject, value: Int) throws {
        try p.write("sites/big.yml", siteYAML(site: "big", zone: "big.test", wwwTarget: "big.test.", extra: 400)
                    .replacingOccurrences(of: "value: 10.213.0.", with: "value: 10.213.\(value)."))
    }

    /// Changes a small site's TXT record behind otto's back.
    static func drift(_ p: CLIProject, site: Int, round: Int) async throws {
        let body = #"{"rrsets":[{"name":"s\#(site).test.","type":"TXT","ttl":300,"changetype":"REPLACE","records":[{"content":"\"drift \#(round)\"","disabled":false}]}]}"#
        _ = try await p.api("PATCH", "/api/v1/servers/localhost/zones/s\(site).test.", body)
    }

    /// The database's clock now.
    static func now(_ pg: PostgresServer, _ db: String) async throws -> Double {
        Double(try await pg.psql("SELECT extract(epoch FROM clock_timestamp())", database: db)) ?? 0
    }

    /// Waits up to `seconds` for `query` (one value) to satisfy `done`; returns the last value.
    @discardableResult
    static func poll(_ pg: PostgresServer, _ db: String, _ query: String, seconds: Double, until done: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var value = try await pg.psql(query, database: db)
        while !done(value) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
            value = try await pg.psql(query, database: db)
        }
        return value
    }

    /// The replica running the big site in a run that started after `after` and has gone on for half a second, with its
    /// name (`HOST/PID`).
    static func holderOfALongBigRun(_ pg: PostgresServer, _ db: String, after: Double, among replicas: [ServeProcess]) async throws
        -> (ServeProcess, String) {
        let name = try await poll(pg, db, """
            SELECT coalesce((SELECT replica FROM otto_rep.runs WHERE scopes = 'site:big' AND finished IS NULL AND started > \(after)
                             AND started < extract(epoch FROM clock_timestamp()) - 0.5 ORDER BY id DESC LIMIT 1), '')
            """, seconds: 60) { !$0.isEmpty }
        let pid = Int32(name.split(separator: "/").last ?? "") ?? -1
        let holder = try #require(replicas.first { $0.pid == pid }, "no replica of \(replicas.map(\.pid)) was caught running the big site (\(name))")
        return (holder, name)
    }

    /// Runs of one site that overlap in time, leaving out runs that lost their lock (`fenced`: they wrote nothing after
    /// the loss) and counting a run that never finished as ending at `cutoff` (its replica was killed then).
    static func overlappingRuns(_ pg: PostgresServer, _ db: String, schema: String = "otto_rep", cutoff: Double) async throws -> Int {
        Int(try await pg.psql("""
            SELECT count(*) FROM \(schema).runs a JOIN \(schema).runs b ON a.scopes = b.scopes AND a.id < b.id
            WHERE a.scopes <> '' AND coalesce(a.outcome, '') <> 'fenced' AND coalesce(b.outcome, '') <> 'fenced'
              AND b.started < coalesce(a.finished, \(cutoff)) AND a.started < coalesce(b.finished, \(cutoff))
            """, database: db)) ?? -1
    }

    @Test func replicasShareSitesAndTakeOverAKilledOrStoppedReplicasSitesWithinSeconds() async throws {
        let pg = try await PostgresServer.shared()
        let db = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try Self.project(pdns)
        let state = pg.url(db, "project=rep&lock_session_timeout=3s")
        var replicas: [ServeProcess] = []
        defer { for r in replicas { r.process.kill(SIGKILL) } }
        for _ in 0..<3 { replicas.append(try await ServeProcess.start(p, interval: "4s", extra: ["--state", state])) }

        // Every site runs, spread over the replicas.
        let ran = try await Self.poll(pg, db, "SELECT count(*) FROM otto_rep.scopes WHERE last_outcome = 'ok'", seconds: 120) { $0 == "31" }
        #expect(ran == "31", "sites run ok: \(ran)\n\(replicas.map(\.log).joined(separator: "\n---\n").suffix(4000))")
        let runners = try await pg.psql("SELECT count(DISTINCT last_replica) FROM otto_rep.scopes WHERE last_replica IS NOT NULL", database: db)
        #expect(runners == "3", "replicas that ran sites: \(runners)")

        // Drift every half second while the rest happens.
        let drifting = Task {
            var round = 0
            while !Task.isCancelled {
                round += 1
                try? await Self.drift(p, site: round % 30, round: round)
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        defer { drifting.cancel() }

        // SIGKILL the replica running the big site in the middle of its apply (a change to all 400 records): a run of it
        // that started after the change and is still going after half a second.
        let firstChange = try await Self.now(pg, db)
        try Self.bigSite(p, value: 2)
        let (victim, victimName) = try await Self.holderOfALongBigRun(pg, db, after: firstChange, among: replicas)
        // The database's time just before the kill: a takeover can start sooner than a query after it would answer, and the
        // victim's unfinished run counts as ending here (nobody can start the site before the kill frees its lock).
        let killedAt = try await Self.now(pg, db)
        victim.process.kill(SIGKILL)
        _ = await victim.process.waitForExit()
        let takeover = try await Self.poll(pg, db, """
            SELECT coalesce(min(started) - \(killedAt), -1) FROM otto_rep.runs
            WHERE scopes = 'site:big' AND replica <> '\(victimName)' AND started > \(killedAt)
            """, seconds: 30) { $0 != "-1" }
        let seconds = Double(takeover) ?? -1
        #expect(seconds >= 0 && seconds <= 5, "the big site ran again \(takeover) s after its replica was killed")

        // SIGSTOP the replica running the big site next (another change to all its records): taken over within the lock
        // session timeout (3 s) + 2 s; after SIGCONT it writes nothing (fenced) and starts nothing.
        let survivors = replicas.filter { $0.pid != victim.pid }
        let secondChange = try await Self.now(pg, db)
        try Self.bigSite(p, value: 3)
        let (sleeper, sleeperName) = try await Self.holderOfALongBigRun(pg, db, after: secondChange, among: survivors)
        kill(sleeper.pid, SIGSTOP)
        let stoppedAt = try await Self.now(pg, db)
        let taken = try await Self.poll(pg, db, """
            SELECT coalesce(min(started) - \(stoppedAt), -1) FROM otto_rep.runs
            WHERE scopes = 'site:big' AND replica <> '\(sleeperName)' AND started > \(stoppedAt)
            """, seconds: 30) { $0 != "-1" }
        let takenAfter = Double(taken) ?? -1
        #expect(takenAfter >= 0 && takenAfter <= 5, "the big site was taken \(taken) s after its holder stopped (timeout 3 s)")
        // The new holder closed the stopped replica's run when it took the site: it ended then, as abandoned.
        let lastRunOfSleeper = """
            SELECT coalesce((SELECT outcome FROM otto_rep.runs WHERE replica = '\(sleeperName)' AND scopes = 'site:big'
                             AND started < \(stoppedAt) ORDER BY id DESC LIMIT 1), '')
            """
        let closed = try await pg.psql(lastRunOfSleeper, database: db)
        #expect(closed == "abandoned", "the stopped replica's run, once its site was taken: \(closed)")
        kill(sleeper.pid, SIGCONT)
        // Woken, it records its run's end: fenced, and the site stays with its new holder's results. (Under heavy load the
        // woken replica was once seen to take about 30 s, one query deadline, to end that run: hence the long wait.)
        let ending = try await Self.poll(pg, db, lastRunOfSleeper, seconds: 75) { !$0.isEmpty && $0 != "abandoned" }
        #expect(ending == "fenced", "the stopped replica's run ended \(ending)\n\(sleeper.log.suffix(3000))")
        let fenced = try await sleeper.metric("otto_fenced_writes_total") ?? 0
        let lost = try await sleeper.metric("otto_lock_sessions_lost_total") ?? 0
        #expect(fenced + lost >= 1, "the stopped replica never noticed it lost the site")

        // Stop drifting; everything converges; no run of a site overlapped another; nothing left pending.
        drifting.cancel()
        let live = replicas.filter { $0.pid != victim.pid }
        var plan = try await p.otto("plan", "--state", state, "--lock-timeout", "20s")
        for _ in 0..<40 where !plan.stdout.contains("No changes") {
            try await Task.sleep(for: .seconds(1))
            plan = try await p.otto("plan", "--state", state, "--lock-timeout", "20s")
        }
        for r in live { await r.stop() }
        let schedule = try await pg.psql("""
            SELECT scope, last_outcome, failures, round((next_due - extract(epoch FROM clock_timestamp()))::numeric, 1), last_replica
            FROM otto_rep.scopes ORDER BY scope
            """, database: db)
        #expect(plan.status == 0 && plan.stdout.contains("No changes"),
                "\(plan.stdout.suffix(3000))\n\(plan.stderr)\n\(schedule)\n\(live.map { $0.log.suffix(6000) }.joined(separator: "\n---\n"))")
        let overlaps = try await Self.overlappingRuns(pg, db, cutoff: killedAt)
        let pairs = overlaps == 0 ? "" : try await pg.psql("""
            SELECT a.id, a.replica, a.scopes, a.started, a.finished, a.outcome, b.id, b.replica, b.started, b.finished, b.outcome
            FROM otto_rep.runs a JOIN otto_rep.runs b ON a.scopes = b.scopes AND a.id < b.id
            WHERE a.scopes <> '' AND coalesce(a.outcome, '') <> 'fenced' AND coalesce(b.outcome, '') <> 'fenced'
              AND b.started < coalesce(a.finished, \(killedAt)) AND a.started < coalesce(b.finished, \(killedAt))
            """, database: db)
        #expect(overlaps == 0, "killed at \(killedAt), stopped at \(stoppedAt):\n\(pairs)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_rep.pending_creates", database: db) == "0")
        #expect(try await pg.psql("SELECT count(*) FROM otto_rep.resources WHERE site = 'big'", database: db) == "406")
    }

    @Test(.enabled(if: ReplicaNetwork.available, "a network namespace needs root and ip"))
    func aReplicaCutOffFromTheDatabaseLosesItsSitesWithinTheSessionTimeoutAndWritesNothingAfterwards() async throws {
        let net = try ReplicaNetwork.make()
        defer { ReplicaNetwork.remove() }
        // PostgreSQL and PowerDNS listen on the bridge too, where the replica in the namespace reaches them.
        let pg = try await PostgresServer.start(settings: ["listen_addresses=127.0.0.1,\(ReplicaNetwork.hostAddress)"],
                                                hba: ["host all all \(ReplicaNetwork.subnet) trust"])
        defer { pg.stop() }
        let db = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start(webAddress: ReplicaNetwork.hostAddress, allowFrom: [ReplicaNetwork.subnet])
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        for i in 0..<6 { try p.write("sites/n\(i).yml", siteYAML(site: "n\(i)", zone: "n\(i).test", wwwTarget: "n\(i).test.", extra: 2)) }
        try Self.bigSite(p, value: 1)
        let state = pg.url(db, "project=rep&lock_session_timeout=3s", host: ReplicaNetwork.hostAddress)
        let outside = try await ServeProcess.start(p, interval: "4s", extra: ["--state", state])
        defer { outside.process.kill(SIGKILL) }
        let inside = try await ServeProcess.start(p, interval: "4s", extra: ["--state", state], wrapper: ReplicaNetwork.wrapper,
                                                  host: ReplicaNetwork.replicaAddress)
        defer { inside.process.kill(SIGKILL) }
        let ran = try await Self.poll(pg, db, "SELECT count(*) FROM otto_rep.scopes WHERE last_outcome = 'ok'", seconds: 120) { $0 == "7" }
        #expect(ran == "7", "sites run ok: \(ran)\n\(inside.log.suffix(3000))")

        // Change all the big site's records until the replica in the namespace is caught in the middle of that apply.
        var caught: String?
        for value in 2..<22 where caught == nil {
            let changed = try await Self.now(pg, db)
            try Self.bigSite(p, value: value)
            let (holder, name) = try await Self.holderOfALongBigRun(pg, db, after: changed, among: [outside, inside])
            if holder.pid == inside.pid { caught = name; break }
            try await Self.poll(pg, db, """
                SELECT count(*) FROM otto_rep.runs WHERE replica = '\(name)' AND scopes = 'site:big' AND finished IS NULL
                """, seconds: 60) { $0 == "0" }
        }
        let bigRuns = try await pg.psql("SELECT replica || ' ' || coalesce(outcome, '-') FROM otto_rep.runs WHERE scopes = 'site:big' ORDER BY id",
                                        database: db)
        let insideName = try #require(caught, "the replica in the namespace (pid \(inside.pid)) never ran the big site; runs of it:\n\(bigRuns)\ninside:\n\(inside.log.suffix(3000))")

        // Cut it off: its lock session goes quiet, the server ends it after idle_session_timeout (3 s), and the other
        // replica takes the big site within that + 2 s.
        let cutAt = try await Self.now(pg, db)
        try net.cut()
        let taken = try await Self.poll(pg, db, """
            SELECT coalesce(min(started) - \(cutAt), -1) FROM otto_rep.runs
            WHERE scopes = 'site:big' AND replica <> '\(insideName)' AND started > \(cutAt)
            """, seconds: 30) { $0 != "-1" }
        let takenAfter = Double(taken) ?? -1
        #expect(takenAfter >= 0 && takenAfter <= 5, "the big site was taken \(taken) s after its holder was cut off (timeout 3 s)")
        // Nothing the cut-off replica sends reaches the database meanwhile; let the new holder work a little, then heal.
        try await Task.sleep(for: .seconds(2))
        let lastRunInside = """
            SELECT coalesce((SELECT outcome FROM otto_rep.runs WHERE replica = '\(insideName)' AND scopes = 'site:big'
                             AND started < \(cutAt) ORDER BY id DESC LIMIT 1), '')
            """
        let closed = try await pg.psql(lastRunInside, database: db)
        #expect(closed == "abandoned", "the cut-off replica's run, once its site was taken: \(closed)")
        let healedAt = try await Self.now(pg, db)
        try net.heal()

        // Its run was closed as abandoned when the other replica took the site; healed, it records the end itself: fenced
        // (it lost the site, and wrote nothing after the loss). It started nothing while cut off.
        let ending = try await Self.poll(pg, db, lastRunInside, seconds: 75) { !$0.isEmpty && $0 != "abandoned" }
        #expect(ending == "fenced", "the cut-off replica's run ended \(ending)\n\(inside.log.suffix(3000))")
        let startedWhileCut = try await pg.psql("""
            SELECT count(*) FROM otto_rep.runs WHERE replica = '\(insideName)' AND started > \(cutAt) AND started < \(healedAt)
            """, database: db)
        #expect(startedWhileCut == "0", "runs the cut-off replica started while cut off: \(startedWhileCut)")
        #expect(await inside.wait(seconds: 30) { (try? await inside.get("/healthz"))?.body.contains("\"status\":\"ok\"") == true },
                "the healed replica's database health: \(inside.log.suffix(2000))")
        let lost = (try await inside.metric("otto_lock_sessions_lost_total") ?? 0) + (try await inside.metric("otto_fenced_writes_total") ?? 0)
        #expect(lost >= 1, "the cut-off replica never noticed it lost the site")

        // Everything converges; no two runs of a site overlapped; nothing pending; no duplicates.
        var plan = try await p.otto("plan", "--state", state, "--lock-timeout", "20s")
        for _ in 0..<40 where !plan.stdout.contains("No changes") {
            try await Task.sleep(for: .seconds(1))
            plan = try await p.otto("plan", "--state", state, "--lock-timeout", "20s")
        }
        #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout.suffix(3000))\n\(plan.stderr)")
        await inside.stop()
        await outside.stop()
        let overlaps = try await Self.overlappingRuns(pg, db, cutoff: 1e12)
        let runs = overlaps == 0 ? "" : try await pg.psql("""
            SELECT id, replica, scopes, started, finished, outcome FROM otto_rep.runs ORDER BY scopes, started
            """, database: db)
        #expect(overlaps == 0, "\(runs)")
        #expect(try await pg.psql("SELECT count(*) FROM otto_rep.pending_creates", database: db) == "0")
        #expect(try await pg.psql("SELECT count(*) FROM otto_rep.resources WHERE site = 'big'", database: db) == "406")
    }

    /// The smallest gap, in seconds, between two runs of one site that both ran (ok or failed), over every site.
    static func shortestGap(_ pg: PostgresServer, _ db: String, schema: String) async throws -> Double {
        Double(try await pg.psql("""
            SELECT coalesce(min(gap), 1e9) FROM (
                SELECT started - lag(started) OVER (PARTITION BY scopes ORDER BY started) AS gap
                FROM \(schema).runs WHERE scopes LIKE 'site:%' AND outcome IN ('ok', 'failed')) g
            """, database: db)) ?? -1
    }

    static let hasFaketime = FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime")

    @Test(.enabled(if: hasFaketime)) func aReplicaWhoseClockIsAnHourAheadNeitherRunsSitesEarlyNorStealsThem() async throws {
        let pg = try await PostgresServer.shared()
        let db = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        for i in 0..<6 { try p.write("sites/c\(i).yml", siteYAML(site: "c\(i)", zone: "c\(i).test", wwwTarget: "c\(i).test.", extra: 2)) }
        let state = pg.url(db, "project=skew")
        let honest = try await ServeProcess.start(p, interval: "3s", extra: ["--state", state])
        defer { honest.terminate() }
        // Under faketime (wall clock only: a faked monotonic clock hangs the process's timers). `faketime` forks: the otto it
        // runs is its child, stopped by PID below (and on the way out, whatever happens).
        let ahead = try await ServeProcess.start(p, interval: "3s", extra: ["--state", state],
                                                 wrapper: ["/usr/bin/env", "FAKETIME_DONT_FAKE_MONOTONIC=1", "/usr/bin/faketime", "-f", "+1h"])
        let aheadOtto = processDescendants(of: ahead.pid)
        defer { for pid in aheadOtto { kill(pid, SIGKILL) } }
        defer { ahead.terminate() }
        try await Task.sleep(for: .seconds(15))
        await honest.stop()
        for pid in aheadOtto { kill(pid, SIGTERM) }
        for _ in 0..<200 where aheadOtto.contains(where: { kill($0, 0) == 0 }) { try await Task.sleep(for: .milliseconds(50)) }
        await ahead.stop()
        // The skewed replica's own clock really is an hour ahead (its log lines say so)...
        let stamp = ahead.log.split(separator: " ").first { $0.hasPrefix("20") && $0.contains("T") }.map(String.init) ?? ""
        let logged = ISO8601DateFormatter().date(from: stamp.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression))
        #expect((logged?.timeIntervalSinceNow ?? 0) > 3000, "the replica under faketime logged \(stamp)")
        // ...yet it ran sites, and no site ran again sooner than its interval less the jitter (3 s - 10 %).
        let byReplica = try await pg.psql("SELECT replica || ' ' || count(*) FROM otto_skew.runs GROUP BY replica", database: db)
        let honestRuns = byReplica.split(separator: "\n").filter { $0.contains("/\(honest.pid) ") }
        #expect(!aheadOtto.isEmpty, "faketime's otto was not found")
        #expect(byReplica.split(separator: "\n").count == 2 && honestRuns.count == 1, "the skewed replica ran nothing: \(byReplica)")
        let gap = try await Self.shortestGap(pg, db, schema: "otto_skew")
        #expect(gap >= 2.6, "a site ran again \(gap) s after its last run")
        let overlaps = try await Self.overlappingRuns(pg, db, schema: "otto_skew", cutoff: 1e12)
        let runs = overlaps == 0 ? "" : try await pg.psql("""
            SELECT id, replica, scopes, started, finished, outcome FROM otto_skew.runs ORDER BY scopes, started
            """, database: db)
        #expect(overlaps == 0, "\(runs)")
    }

    @Test func replicasReconnectAfterAPostgresRestartAndRunSitesAgainWithoutDoubleRuns() async throws {
        let pg = try await PostgresServer.start()
        defer { pg.stop() }
        let db = try await pg.makeDatabase()
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        for i in 0..<6 { try p.write("sites/r\(i).yml", siteYAML(site: "r\(i)", zone: "r\(i).test", wwwTarget: "r\(i).test.", extra: 2)) }
        let state = pg.url(db, "project=restart&lock_session_timeout=3s")
        var replicas: [ServeProcess] = []
        defer { for r in replicas { r.process.kill(SIGKILL) } }
        // The periodic re-read is an hour: what one replica writes reaches the other by NOTIFY alone.
        for _ in 0..<2 { replicas.append(try await ServeProcess.start(p, interval: "2s", extra: ["--state", state, "--reload-interval", "1h"])) }
        let (a, b) = (replicas[0], replicas[1])
        let first = try await Self.poll(pg, db, "SELECT count(*) FROM otto_restart.scopes WHERE last_outcome = 'ok'", seconds: 60) { $0 == "6" }
        #expect(first == "6")

        // DNS written through one replica is served by the other; so is a walker made over HTTP.
        var put = try await a.send("PUT", "/dom/dns/api0.test?rec=www+A+192.0.2.7")
        #expect([200, 201].contains(put.status), "\(put.body)")
        #expect(await b.wait(seconds: 10) { (try? await b.get("/dom/dns/api0.test"))?.body.contains("192.0.2.7") == true },
                "\(b.log.suffix(2000))")
        put = try await a.send("PUT", "/site/walk/r0?params=every%3D2s%3Bdepth%3D1%3Bmax_pages%3D2")
        #expect([200, 201].contains(put.status), "\(put.body)")
        #expect(await b.wait(seconds: 10) { (try? await b.get("/site/walk/r0/"))?.body.contains("\"source\":\"api\"") == true },
                "\(b.log.suffix(2000))")

        try await pg.restart()
        let restarted = try await Self.now(pg, db)
        // Both listen again after the restart, and writes keep reaching the other replica.
        for r in replicas {
            #expect(await r.wait(seconds: 30) { r.log.contains("listening for the other replicas' writes") }, "\(r.log.suffix(2000))")
        }
        let putStarted = Date()
        put = try await a.send("PUT", "/dom/dns/api1.test?rec=www+A+192.0.2.8")
        #expect([200, 201].contains(put.status),
                "status \(put.status) after \(Date().timeIntervalSince(putStarted)) s: \(put.body)\nreplica a:\n\(a.log.suffix(4000))")
        #expect(await b.wait(seconds: 10) { (try? await b.get("/dom/dns/api1.test"))?.body.contains("192.0.2.8") == true },
                "\(b.log.suffix(2000))")
        // Walks of r0 go on (one replica or the other each time) until its walker is removed, through the other replica.
        let walked = try await Self.poll(pg, db, "SELECT count(*) FROM otto_restart.walks WHERE site = 'r0'", seconds: 30) { (Int($0) ?? 0) >= 4 }
        #expect((Int(walked) ?? 0) >= 4, "walks of r0: \(walked)\n\(replicas.map { $0.log.suffix(3000) }.joined(separator: "\n---\n"))")
        let removed = try await b.send("DELETE", "/site/walk/r0")
        #expect([200, 204].contains(removed.status), "\(removed.body)")
        #expect(await a.wait(seconds: 10) { (try? await a.get("/site/walk/r0/"))?.body.contains("\"source\":\"api\"") == false },
                "\(a.log.suffix(2000))")
        // Every YAML site runs again after the restart (the zones written over the API are sites of their own), and both
        // replicas are still working.
        let again = try await Self.poll(pg, db, """
            SELECT count(DISTINCT scopes) FROM otto_restart.runs WHERE started > \(restarted) AND outcome = 'ok' AND scopes LIKE 'site:r_'
            """, seconds: 60) { $0 == "6" }
        #expect(again == "6", "sites run ok after the restart: \(again)\n\(replicas.map { $0.log.suffix(3000) }.joined(separator: "\n---\n"))")
        try await Task.sleep(for: .seconds(4))
        for r in replicas { #expect(r.process.isRunning, "a replica exited: \(r.log.suffix(2000))") }
        let health = try await replicas[0].get("/healthz")
        #expect(health.status == 200 && health.body.contains("\"status\":\"ok\""), "\(health.body)")
        let workers = try await pg.psql("""
            SELECT count(DISTINCT replica) FROM otto_restart.runs WHERE started > \(restarted) AND outcome = 'ok'
            """, database: db)
        let perReplica = try await pg.psql("""
            SELECT replica || ' ' || count(*) || ' ' || min(started) FROM otto_restart.runs WHERE started > \(restarted) AND outcome = 'ok'
            GROUP BY replica
            """, database: db)
        let logs = replicas.map { $0.log.suffix(3000) }.joined(separator: "\n---\n")
        #expect(workers == "2", "replicas running sites after the restart (\(restarted)): \(workers)\n\(perReplica)\n\(logs)")
        for r in replicas { await r.stop() }
        let overlaps = try await Self.overlappingRuns(pg, db, schema: "otto_restart", cutoff: 1e12)
        let overlapping = overlaps == 0 ? "" : try await pg.psql("""
            SELECT a.id, a.scopes, a.replica, a.started, a.finished, a.outcome, '|', b.id, b.replica, b.started, b.finished, b.outcome
            FROM otto_restart.runs a JOIN otto_restart.runs b ON a.scopes = b.scopes AND a.id < b.id
            WHERE a.scopes <> '' AND coalesce(a.outcome, '') <> 'fenced' AND coalesce(b.outcome, '') <> 'fenced'
              AND b.started < coalesce(a.finished, 1e12) AND a.started < coalesce(b.finished, 1e12)
            """, database: db)
        #expect(overlaps == 0, "restart at \(restarted); overlapping runs:\n\(overlapping)\n\(logs)")
        // Both replicas kept the walker of r0 while it existed, and took turns: no two walks of it at once, none sooner
        // than its interval (2 s, by the database's clock; the walks' own times are the replicas' clocks, one machine here).
        let walkGap = try await pg.psql("""
            SELECT coalesce(min(gap), 1e9) FROM (SELECT started - lag(started) OVER (ORDER BY started) AS gap
                                                 FROM otto_restart.walks WHERE site = 'r0') g
            """, database: db)
        let walkOverlaps = try await pg.psql("""
            SELECT count(*) FROM otto_restart.walks x JOIN otto_restart.walks y ON x.site = y.site AND x.id < y.id
            WHERE x.site = 'r0' AND y.started < x.finished AND x.started < y.finished
            """, database: db)
        let walkTimes = try await pg.psql("SELECT started || ' ' || finished FROM otto_restart.walks WHERE site = 'r0' ORDER BY started",
                                          database: db)
        #expect((Double(walkGap) ?? 0) >= 1.5 && walkOverlaps == "0", "shortest gap \(walkGap) s, overlaps \(walkOverlaps)\n\(walkTimes)")
    }
}
