import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Releases on real machines (issue 10): two web machines running the hello app behind one haproxy, deployed by
/// the `otto` binary while a load generator runs through the load balancer the whole time.
@Suite(.serialized, .enabled(if: geteuid() == 0), .tags(.machines, .haproxy), .endToEnd) struct AppReleaseTests {
    /// The repository's hello app (examples/apps/hello).
    static let helloSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/apps/hello").path

    /// A project of site `r` on its own bridge; `bundle(v)` makes `apps/hello-V` (the hello app, version V).
    static func project() throws -> MachineProject {
        let p = try MachineProject(site: "r", bridge: "otto-t3", subnet: "10.213.0.64/27")
        return p
    }

    static func bundle(_ p: MachineProject, _ version: String) throws {
        let dir = p.dir + "/apps/hello-" + version
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: p.dir + "/apps", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: helloSource, toPath: dir)
        try (version + "\n").write(toFile: dir + "/VERSION", atomically: true, encoding: .utf8)
    }

    static func site(_ p: MachineProject, version: String, strategy: String = "blue-green", environment: String = "{}",
                     deadline: String = "20s", watch: String = "4s", drain: String = "5s", web: Int = 2, bundle: String? = nil) throws {
        try p.write("sites/r.yml", """
            site: r
            domain: r.test
            provider: local
            machines:
              web: { count: \(web), image: web }
              lb:  { count: 1, image: lb }
            nginx: { on: web, root: /srv/www/r, directives: ["location = /healthz { return 200 \\"ok\\\\n\\"; }"] }
            haproxy: { on: lb, backend: web, health: { path: /healthz, interval: 1s } }
            apps:
              - name: hello
                on: web
                version: "\(version)"
                bundle: apps/hello-\(bundle ?? version)
                run: { exec: "/usr/bin/python3 {{release_dir}}/server.py", environment: \(environment) }
                port: 8080
                health: { path: /healthz, interval: 500ms, min_healthy_time: 1s, healthy_deadline: \(deadline) }
                strategy: \(strategy)
                drain_timeout: \(drain)
                watch: { for: \(watch) }
                lb: { bind: ":8080" }
            """)
    }

    /// Runs `body` while a load generator sends `rate` requests per second to the app through haproxy.
    static func underLoad(_ p: MachineProject, rate: Double = 100, _ body: () async throws -> Void) async throws -> LoadReport {
        let lb = try await p.attribute("lb[0]", "ipv4")
        let load = try await LoadGenerator.start(LoadOptions(url: "http://\(lb):8080/version", rate: rate, connections: 8,
                                                             timeout: .seconds(30)))
        try await Task.sleep(for: .seconds(1))
        do { try await body() } catch {
            _ = await load.stopAndReport()
            throw error
        }
        try await Task.sleep(for: .seconds(1))
        return await load.stopAndReport()
    }

    static func describe(_ r: LoadReport) -> String {
        "\(r.scheduled) requests: \(r.ok) 2xx, \(r.non2xx) non-2xx \(r.statuses), \(r.errors) errors \(r.errorKinds), \(r.unsent) unsent; versions \(r.versions); failures in seconds \(r.timeline.filter { $0.errors + $0.non2xx + $0.unsent > 0 }.map(\.second))"
    }

    @Test func blueGreenAndRollingDeploysLoseNoRequestAndEndOnTheNewVersion() async throws {
        let p = try Self.project()
        try Self.bundle(p, "1.0.0")
        try Self.site(p, version: "1.0.0", web: 3)
        try await p.sweep([("web[0]", "r-web-0"), ("web[1]", "r-web-1"), ("web[2]", "r-web-2"), ("lb[0]", "r-lb-0")])
        try Self.site(p, version: "1.0.0")
        try await withCleanup {
            try await Self.deploys(p)
        } cleanup: {
            _ = try? await p.otto("destroy", "--auto-approve")
            _ = try? await runProcess(["ip", "link", "del", "otto-t3"])
        }
    }

    /// The deploys of `blueGreenAndRollingDeploysLoseNoRequestAndEndOnTheNewVersion`, on site r at 1.0.0 (not applied).
    static func deploys(_ p: MachineProject) async throws {
        let first = try await p.otto("apply", "--auto-approve")
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let lb = try await p.attribute("lb[0]", "ipv4")
        #expect(try await runProcess(["curl", "-s", "-m", "5", "http://\(lb):8080/version"]).stdout == "1.0.0\n")

        // blue-green to 1.1.0 with requests flowing
        try bundle(p, "1.1.0")
        try site(p, version: "1.1.0")
        let plan = try await p.otto("plan", "--detailed-exitcode")
        #expect(plan.status == 2 && plan.stdout.contains("app.r.hello"), "\(plan.stdout)\n\(plan.stderr)")
        let blueGreen = try await underLoad(p) {
            let r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        }
        print("blue-green under load: \(describe(blueGreen)); p99 \(blueGreen.latencyMs.p99) ms")
        #expect(blueGreen.non2xx == 0 && blueGreen.errors == 0 && blueGreen.unsent == 0, "\(describe(blueGreen))")
        #expect(blueGreen.timeline.suffix(1).allSatisfy { $0.versions.keys.allSatisfy { $0 == "1.1.0" } }, "\(describe(blueGreen))")
        #expect(blueGreen.versions["1.0.0"] != nil && blueGreen.versions["1.1.0"] != nil)
        // all at once: 1.0.0 answers nothing after the switch but what was in flight (well under a second)
        if let old = blueGreen.versions["1.0.0"], let new = blueGreen.versions["1.1.0"] {
            #expect(old.lastSeconds - new.firstSeconds < 1, "\(describe(blueGreen))")
        }

        // rolling, one machine at a time, to 1.2.0
        try bundle(p, "1.2.0")
        try site(p, version: "1.2.0", strategy: "{ rolling: { max_parallel: 1 } }")
        let rolling = try await underLoad(p) {
            let r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        }
        print("rolling under load: \(describe(rolling)); p99 \(rolling.latencyMs.p99) ms")
        #expect(rolling.non2xx == 0 && rolling.errors == 0 && rolling.unsent == 0, "\(describe(rolling))")
        #expect(rolling.timeline.suffix(1).allSatisfy { $0.versions.keys.allSatisfy { $0 == "1.2.0" } }, "\(describe(rolling))")

        // `otto rollback`: release 4 is 1.1.0's build again (copied from kept release 2, nothing uploaded), under load
        var rollbackTook = Duration.zero
        let rollback = try await underLoad(p) {
            let start = ContinuousClock.now
            let r = try await p.otto("rollback", "hello", "--auto-approve")
            rollbackTook = ContinuousClock.now - start
            #expect(r.status == 0 && r.stdout.contains("held on release 2"), "\(r.stdout)\n\(r.stderr)")
        }
        print("rollback under load (\(rollbackTook)): \(describe(rollback))")
        #expect(rollback.non2xx == 0 && rollback.errors == 0 && rollback.unsent == 0, "\(describe(rollback))")
        #expect(rollback.timeline.suffix(1).allSatisfy { $0.versions.keys.allSatisfy { $0 == "1.1.0" } }, "\(describe(rollback))")
        let afterRollback = try await p.otto("releases", "hello", "--json")
        #expect(afterRollback.stdout.contains("\"rollback_of\" : 2") && afterRollback.stdout.contains("otto rollback to release 2"), "\(afterRollback.stdout)")
        // held: a plan of the unchanged site (still 1.2.0) has nothing to do
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)
        // a release that never succeeded cannot be gone back to; `otto release` of the site's version ends the hold
        let refused = try await p.otto("release", "hello", "9.9.9", "--auto-approve")
        #expect(refused.status == 1 && refused.stderr.contains("never succeeded here"), "\(refused.stdout)\n\(refused.stderr)")
        let back = try await p.otto("release", "hello", "1.2.0", "--auto-approve")
        #expect(back.status == 0 && back.stdout.contains("back on the site's own version"), "\(back.stdout)\n\(back.stderr)")
        #expect(try await runProcess(["curl", "-s", "-m", "5", "http://\(lb):8080/version"]).stdout == "1.2.0\n")

        // the ledger: five releases, all succeeded; a second plan has nothing to do
        let releases = try await p.otto("releases", "hello")
        #expect(releases.status == 0 && releases.stdout.contains("1.2.0") && releases.stdout.contains("succeeded"), "\(releases.stdout)\(releases.stderr)")
        let again = try await p.otto("plan", "--detailed-exitcode")
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")

        // a release that never gets healthy: no request reaches it, exit 1 within the deadline + 5 s, 1.2.0 serves
        try bundle(p, "1.3.0")
        try site(p, version: "1.3.0", environment: "{ FAIL_HEALTH: \"1\" }", deadline: "8s")
        var took = Duration.zero
        let unhealthy = try await underLoad(p) {
            let start = ContinuousClock.now
            let r = try await p.otto("apply", "--auto-approve")
            took = ContinuousClock.now - start
            #expect(r.status == 1 && (r.stdout + r.stderr).contains("did not become healthy"), "\(r.stdout)\n\(r.stderr)")
        }
        print("never healthy: apply exited after \(took); load: \(describe(unhealthy))")
        #expect(took < .seconds(8 + 5 + 15), "the apply took \(took) (deadline 8 s, plus the run's own plan and refresh)")
        #expect(unhealthy.versions["1.3.0"] == nil && unhealthy.non2xx == 0 && unhealthy.errors == 0, "\(describe(unhealthy))")

        // 500s after the switch: the watch sees them and moves all traffic back to 1.2.0 at once
        try bundle(p, "1.4.0")
        try site(p, version: "1.4.0", environment: "{ FAIL_AFTER: \"8\" }", watch: "20s")
        var output = ""
        let failing = try await underLoad(p) {
            let r = try await p.otto("apply", "--auto-approve")
            output = r.stdout + r.stderr
            #expect(r.status == 1 && output.contains("rolled back"), "\(output)")
        }
        print("500s after the switch: \(describe(failing))")
        let served140 = failing.versions["1.4.0"]
        #expect(served140 != nil, "1.4.0 never took traffic: \(describe(failing))")
        // once 1.4.0 answered its first 500, every answer within 10 s came from 1.2.0 again
        let first500 = failing.timeline.first { $0.statuses[500] != nil }?.second
        let last140 = failing.timeline.last { $0.versions["1.4.0"] != nil }?.second
        if let first500, let last140 { #expect(last140 - first500 <= 10, "\(describe(failing))") }
        #expect(failing.timeline.suffix(1).allSatisfy { $0.versions.keys.allSatisfy { $0 == "1.2.0" } }, "\(describe(failing))")
        #expect(failing.errors == 0, "\(describe(failing))")
        let ledger = try await p.otto("releases", "hello")
        #expect(ledger.stdout.contains("rolled_back"), "\(ledger.stdout)")
        // and the project's deployment ledger: 1.4.0's deployment FAILED, 1.3.0's (never healthy) too, 1.2.0's COMPLETED
        let history = try await p.otto("history", "--json")
        let rows = ((try? JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])?["items"] as? [[String: Any]]) ?? []
        let states = rows.map { "\($0["version"] as? String ?? "") \($0["state"] as? String ?? "") \($0["environment"] as? String ?? "")" }
        #expect(states.prefix(2) == ["1.4.0 FAILED default", "1.3.0 FAILED default"], "\(states)")
        #expect(states.contains("1.2.0 COMPLETED default"), "\(states)")

        // back to 1.2.0 in the configuration: nothing to do
        try site(p, version: "1.2.0", strategy: "{ rolling: { max_parallel: 1 } }")
        let settled = try await p.otto("plan", "--detailed-exitcode")
        #expect(settled.status == 0, "\(settled.stdout)\n\(settled.stderr)")

        // drift: a stopped app process is found and put back
        _ = try await p.ssh("web[0]", "systemctl stop 'otto-app-hello-*'")
        let drift = try await p.otto("plan", "--detailed-exitcode")
        #expect(drift.status == 2 && drift.stdout.contains("app.r.hello"), "\(drift.stdout)\n\(drift.stderr)")
        let repair = try await p.otto("apply", "--auto-approve")
        #expect(repair.status == 0, "\(repair.stdout)\n\(repair.stderr)")
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)

        // drift: a changed file of the serving release is found, and that machine is taken out of traffic, given the
        // release's files again and restarted, while requests flow
        _ = try await p.ssh("web[0]", "echo '# changed' >> /srv/apps/hello/releases/$(cat /srv/apps/hello/current)/server.py")
        let changed = try await p.otto("plan", "--detailed-exitcode")
        #expect(changed.status == 2 && changed.stdout.contains("intact: false"), "\(changed.stdout)\n\(changed.stderr)")
        let restored = try await underLoad(p) {
            let r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0 && r.stderr.contains("repairing release"), "\(r.stdout)\n\(r.stderr)")
        }
        print("changed file repaired under load: \(describe(restored))")
        #expect(restored.non2xx == 0 && restored.errors == 0 && restored.unsent == 0, "\(describe(restored))")
        #expect(try await p.ssh("web[0]", "grep -c '# changed' /srv/apps/hello/releases/$(cat /srv/apps/hello/current)/server.py").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)

        // a 20 s request in flight at the switch completes, and haproxy reloaded during the watch keeps the old slots
        // drained (the server-state file): no answer of the old version after the reload, no failed request
        try bundle(p, "1.5.0")
        try site(p, version: "1.5.0", strategy: "{ rolling: { max_parallel: 1 } }", watch: "6s", drain: "30s")
        let slow = Task { try await runProcess(["curl", "-s", "-m", "60", "-D", "-", "http://\(lb):8080/slow?s=20"]) }
        var reloadedAt = 0.0
        let reloading = try await underLoad(p) {
            let clock = ContinuousClock.now
            let apply = Task { try await p.otto("apply", "--auto-approve") }
            // once both machines answer 1.5.0 (the rolling switch is over), reload haproxy during the watch
            var switched = false
            while !switched && ContinuousClock.now - clock < .seconds(60) {
                try await Task.sleep(for: .milliseconds(200))
                switched = try await p.ssh("lb[0]", "echo 'show stat' | socat stdio /run/haproxy/admin.sock | grep '^app_hello,' | grep -c ',DRAIN,'")
                    .stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2"
            }
            #expect(switched, "the old slots never both drained")
            let reload = try await p.ssh("lb[0]", "systemctl reload haproxy")
            reloadedAt = Date().timeIntervalSince1970
            #expect(reload.status == 0, "\(reload.stdout)\(reload.stderr)")
            let r = try await apply.value
            #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        }
        print("reload during the watch: \(describe(reloading))")
        #expect(reloading.non2xx == 0 && reloading.errors == 0 && reloading.unsent == 0, "\(describe(reloading))")
        if let old = reloading.versions["1.2.0"] {
            let reloadSecond = reloadedAt - reloading.startedUnix
            #expect(old.lastSeconds < reloadSecond, "1.2.0 answered at \(old.lastSeconds) s, after the reload at \(reloadSecond) s: the drain was forgotten")
        }
        let slowAnswer = try await slow.value
        #expect(slowAnswer.status == 0 && slowAnswer.stdout.hasPrefix("HTTP/1.1 200") && slowAnswer.stdout.lowercased().contains("x-app-version: 1.2.0"),
                "the 20 s request: \(slowAnswer.stdout.prefix(400)) \(slowAnswer.stderr)")

        // `otto apply` SIGKILLed at moments of a deploy (before the switch, right after it, during the watch, at a random
        // time), then run to the end: one release everywhere, one process and one port per machine, no failed request
        try bundle(p, "1.6.0")
        try site(p, version: "1.6.0", watch: "3s")
        let randomDelay = Double.random(in: 0.5...6)
        let moments: [(String, @Sendable (String) -> Bool)] = [
            ("while waiting until healthy", { $0.contains("waiting until healthy") }),
            ("right after the switch", { $0.contains("traffic on release") }),
            ("during the watch", { $0.contains("watching release") }),
        ]
        var killedAt: [String] = []
        let killed = try await underLoad(p) {
            for (name, moment) in moments {
                let log = p.dir + "/kill-\(killedAt.count).log"
                let child = try await ChildProcess.start([CLIProject.binary, "apply", "--auto-approve", "--dir", p.dir], logPath: log,
                                                         environment: p.environment)
                let text = try await child.waitForLog(timeout: .seconds(60), until: moment)
                child.kill(SIGKILL)
                await child.waitForExit()
                #expect(moment(text), "the apply never got \(name):\n\(text.suffix(2000))")
                killedAt.append(name)
            }
            let child = try await ChildProcess.start([CLIProject.binary, "apply", "--auto-approve", "--dir", p.dir],
                                                     logPath: p.dir + "/kill-random.log", environment: p.environment)
            try await Task.sleep(for: .seconds(randomDelay))
            child.kill(SIGKILL)
            await child.waitForExit()
            killedAt.append(String(format: "after %.1f s", randomDelay))
            let last = try await p.otto("apply", "--auto-approve")
            #expect(last.status == 0, "\(last.stdout)\n\(last.stderr)")
        }
        print("killed \(killedAt), then applied: \(describe(killed))")
        if killed.errors + killed.non2xx > 0 {
            for i in 0..<moments.count {
                print("--- run \(i) (killed \(killedAt[i])), load started \(killed.startedUnix):\n" + ((try? String(contentsOfFile: p.dir + "/kill-\(i).log", encoding: .utf8)) ?? ""))
            }
            print("--- random kill:\n" + ((try? String(contentsOfFile: p.dir + "/kill-random.log", encoding: .utf8)) ?? ""))
        }
        #expect(killed.non2xx == 0 && killed.errors == 0 && killed.unsent == 0, "\(describe(killed))")
        #expect(killed.timeline.suffix(1).allSatisfy { $0.versions.keys.allSatisfy { $0 == "1.6.0" } }, "\(describe(killed))")
        #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)
        for m in ["web[0]", "web[1]"] {
            let units = try await p.ssh(m, "systemctl list-units 'otto-app-hello-*' --state=active --no-legend --plain | wc -l")
            #expect(units.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(m): \(units.stdout)\(units.stderr)")
            let ports = try await p.ssh(m, "for port in 8080 8081; do curl -s -m 2 -o /dev/null -w '%{http_code} ' http://127.0.0.1:$port/version; done")
            #expect(["200 000 ", "000 200 "].contains(ports.stdout), "\(m): the two slots answer \(ports.stdout)")
        }
        let finalLedger = try await p.otto("releases", "hello", "--json")
        let rows160 = finalLedger.stdout.components(separatedBy: "\"version\" : \"1.6.0\"").count - 1
        #expect(rows160 == 1, "the killed deploys resumed one release of 1.6.0: \(finalLedger.stdout.prefix(3000))")

        // a new version of the same bundle is a new release too (the app is told its version: APP_VERSION)
        try site(p, version: "1.6.1", watch: "1s", bundle: "1.6.0")
        let sameBundle = try await p.otto("apply", "--auto-approve")
        #expect(sameBundle.status == 0, "\(sameBundle.stdout)\n\(sameBundle.stderr)")
        #expect(try await runProcess(["curl", "-s", "-m", "5", "http://\(lb):8080/version"]).stdout == "1.6.1\n")
        #expect(try await p.otto("releases", "hello").stdout.contains("1.6.1"))

        // a machine new in the group gets the serving release, and traffic once it passed its checks: haproxy is
        // reloaded for its servers (hitless) while requests flow
        try site(p, version: "1.6.1", watch: "1s", web: 3, bundle: "1.6.0")
        let grown = try await underLoad(p) {
            let r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0 && r.stderr.contains("repairing release") && r.stderr.contains("r-web-2"), "\(r.stdout)\n\(r.stderr)")
        }
        print("a third machine joined under load: \(describe(grown))")
        #expect(grown.non2xx == 0 && grown.errors == 0 && grown.unsent == 0, "\(describe(grown))")
        #expect(try await p.ssh("web[2]", ". /srv/apps/hello/meta/$(cat /srv/apps/hello/current).env && curl -s -m 2 http://127.0.0.1:$PORT/version")
            .stdout == "1.6.1\n")
        let after = try await p.otto("plan", "--detailed-exitcode")
        #expect(after.status == 0, "\(after.stdout)\n\(after.stderr)")

        // drift that `otto serve` corrects on its own schedule: the app's process stopped on one machine and a file of
        // the serving release changed on another; within a few runs both serve 1.6.1 from intact files again
        try await serveCorrectsAppDrift(p)
    }

    /// A running `otto serve` (drift interval 3 s) finds a stopped app process and a changed release file and repairs both.
    static func serveCorrectsAppDrift(_ p: MachineProject) async throws {
        let serve = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "3s")
        defer { serve.terminate() }
        #expect(await serve.wait(seconds: 60) { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 >= 1 },
                "\(serve.log.suffix(3000))")
        let release = "/srv/apps/hello/releases/$(cat /srv/apps/hello/current)"
        let answer = ". /srv/apps/hello/meta/$(cat /srv/apps/hello/current).env && curl -s -m 2 http://127.0.0.1:$PORT/version"
        _ = try await p.ssh("web[0]", "systemctl stop 'otto-app-hello-*'")
        _ = try await p.ssh("web[1]", "echo '# changed' >> \(release)/server.py")
        #expect(try await p.ssh("web[0]", answer).stdout != "1.6.1\n", "the app on web[0] was stopped")
        let repaired = await serve.wait(seconds: 90) {
            let stopped = (try? await p.ssh("web[0]", answer).stdout) ?? ""
            let changed = (try? await p.ssh("web[1]", "grep -c '# changed' \(release)/server.py").stdout) ?? ""
            return stopped == "1.6.1\n" && changed.trimmingCharacters(in: .whitespacesAndNewlines) == "0"
        }
        #expect(repaired, "otto serve did not repair the app: \(serve.log.suffix(6000))")
        // the run that repaired them ends after the files and processes are back: its outcome is counted then
        #expect(await serve.wait(seconds: 60) { (try? await serve.metric("otto_drift_corrected_total")) ?? 0 >= 1 },
                "\(serve.log.suffix(3000))")
        #expect(await serve.stop() == 0)
        let settled = try await p.otto("plan", "--detailed-exitcode")
        #expect(settled.status == 0, "\(settled.stdout)\n\(settled.stderr)")
    }
}
