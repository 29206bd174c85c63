import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Locks per site that die with their holder, through the real `otto` binary against a real PowerDNS.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct LockCLITests {
    /// Two sites, each with its own zone and `extra` records; `blogProvider` names the DNS provider of the blog.
    static func twoSites(_ p: CLIProject, extra: Int, round: Int = 0, blogProvider: String = "powerdns") throws {
        try p.write("sites/shop.yml", siteYAML(site: "shop", zone: "shop.test", wwwTarget: "shop.test.", extra: extra)
                    .replacingOccurrences(of: "v=spf1 -all", with: "v=spf1 -all r\(round)"))
        try p.write("sites/blog.yml", siteYAML(site: "blog", zone: "blog.test", wwwTarget: "blog.test.", extra: extra)
                    .replacingOccurrences(of: "v=spf1 -all", with: "v=spf1 -all r\(round)")
                    .replacingOccurrences(of: "provider: powerdns", with: "provider: \(blogProvider)"))
    }

    /// A second PowerDNS as provider `powerdns2` of `p` (its key in a file of the project): PowerDNS's sqlite backend
    /// answers concurrent writers with HTTP 500 at times, and two sites applied at once must not share one.
    static func secondPowerDNS(_ p: CLIProject, _ pdns: PowerDNSServer) throws {
        try p.write("keys/pdns2", pdns.apiKey)
        try p.write("inventory/dns2.yml", """
            providers:
              powerdns2:
                type: powerdns
                url: \(pdns.apiURL)
                server: localhost
                api_key_file: keys/pdns2
                concurrency: 8
            """)
    }

    @Test func appliesOnDifferentSitesRunAtOnceAndTheSameSiteIsRefusedOrWaitedFor() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let pdns2 = try await PowerDNSServer.start()
        defer { pdns2.stop() }
        let p = try CLIProject(pdns: pdns)
        try Self.secondPowerDNS(p, pdns2)
        try Self.twoSites(p, extra: 400, blogProvider: "powerdns2")
        let shop = try await p.start("apply", "--auto-approve", "--site", "shop", "--parallelism", "1")
        defer { shop.kill(SIGKILL) }
        try await p.waitForState("locks WHERE scope = 'site:shop'", atLeast: 1, seconds: 10)
        #expect(shop.isRunning, "the first apply finished before the second could overlap it")

        // The other site is not locked: its apply runs (and finishes) while the first still holds its site.
        let blog = try await p.otto("apply", "--auto-approve", "--site", "blog")
        #expect(blog.status == 0, "\(blog.stdout.suffix(2000))\n\(blog.stderr)")
        #expect(shop.isRunning, "the blog apply did not overlap the shop apply")
        #expect(await p.stateCount("resources WHERE site = 'blog'") == 406)

        // The same site: refused at once, naming the holder.
        let t0 = Date()
        let refused = try await p.otto("apply", "--auto-approve", "--site", "shop")
        #expect(Date().timeIntervalSince(t0) < 5)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("site shop is locked by `otto apply`"), "\(refused.stderr)")
        #expect(refused.stderr.contains("pid \(shop.pid)"))
        // A whole-project apply needs every site, so it is refused too.
        #expect(try await p.otto("plan").stderr.contains("site shop is locked"))

        // With --lock-timeout it waits for the holder instead, then finds nothing left to do.
        let waited = try await p.otto("plan", "--site", "shop", "--lock-timeout", "120s", "--detailed-exitcode")
        #expect(!shop.isRunning)
        #expect(await shop.waitForExit() == 0)
        #expect(waited.status == 0, "\(waited.stdout)\n\(waited.stderr)")
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)
    }

    @Test func aSavedPlanIsRefusedOnlyWhenASiteItCoversMoved() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try Self.twoSites(p, extra: 2)
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        try Self.twoSites(p, extra: 3)
        let planned = try await p.otto("plan", "--site", "shop", "-out", p.dir + "/shop.plan")
        #expect(planned.status == 0, "\(planned.stderr)")
        // Another site moves: the shop plan still applies.
        #expect(try await p.otto("apply", "--auto-approve", "--site", "blog").status == 0)
        let applied = try await p.otto("apply", p.dir + "/shop.plan")
        #expect(applied.status == 0, "\(applied.stderr)")
        // Its own site moved: refused.
        try Self.twoSites(p, extra: 4)
        #expect(try await p.otto("plan", "--site", "shop", "-out", p.dir + "/again.plan").status == 0)
        #expect(try await p.otto("apply", "--auto-approve", "--site", "shop").status == 0)
        let stale = try await p.otto("apply", p.dir + "/again.plan")
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("the state changed since the plan was made (site shop: serial"), "\(stale.stderr)")
    }

    @Test func anApplyKilledAtRandomMomentsNeverNeedsForceUnlockAndServeKeepsRunning() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try Self.twoSites(p, extra: 150)
        let serve = try await ServeProcess.start(p, interval: "1s")
        var moments: [Int] = []
        for round in 1...20 {
            // Every round changes a record of each site, so each apply has work to be killed in.
            try Self.twoSites(p, extra: 150, round: round)
            let child = try await p.start("apply", "--auto-approve", "--parallelism", "2", "--lock-timeout", "30s")
            let moment = Int.random(in: 0..<600)
            moments.append(moment)
            try await Task.sleep(for: .milliseconds(moment))
            child.kill(SIGKILL)
            _ = await child.waitForExit()
            // The next command never trips over the dead apply's lock (it may wait for a scheduled run of serve).
            let next = try await p.otto("plan", "--lock-timeout", "60s")
            #expect(next.status == 0, "round \(round), killed after \(moment) ms: \(next.stderr)")
            #expect(!next.stderr.contains("locked"), "round \(round): \(next.stderr)")
        }
        // otto serve carries out its next scheduled runs after the last kill, and converges the project.
        let killedAt = Date().timeIntervalSince1970
        let ran = await serve.wait(seconds: 30) {
            await p.stateCount("runs WHERE command = 'otto serve (scheduled run)' AND outcome = 'ok' AND started > \(killedAt)") >= 2
        }
        #expect(ran, "no scheduled run after the kills (moments \(moments)): \(serve.log.suffix(2000))")
        let converged = await serve.wait(seconds: 30) { (try? await p.otto("plan", "--detailed-exitcode", "--lock-timeout", "30s").status) == 0 }
        #expect(converged)
        _ = await serve.stop()
    }

    @Test func processesOpeningOneNewStateAtOnceCreateItOnce() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try Self.twoSites(p, extra: 0)
        for round in 0..<10 {
            let state = "sqlite:\(p.dir)/new-\(round).db"
            var children: [ChildProcess] = []
            for _ in 0..<6 { children.append(try await p.start("state", "list", "--state", state)) }
            var statuses: [Int32] = []
            for child in children { statuses.append(await child.waitForExit()) }
            #expect(statuses == Array(repeating: 0, count: 6), "round \(round)")
            let lineages = try await runProcess(["sqlite3", "\(p.dir)/new-\(round).db", "SELECT count(*) FROM meta"])
            #expect(lineages.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        }
    }
}
