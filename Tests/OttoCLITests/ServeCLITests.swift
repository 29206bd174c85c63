import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// A running `otto serve` (its own process) against a real PowerDNS: scheduled drift correction, /metrics, JSON
/// logs, the status page in headless Chromium, and graceful shutdown.
final class ServeProcess: Sendable {
    static let readToken = "read-0123456789abcdef0123"
    static let writeToken = "write-fedcba9876543210fedc"
    let process: ChildProcess
    let port: Int
    let logPath: String
    var pid: Int32 { process.pid }

    /// The address the API listens on.
    let host: String

    private init(process: ChildProcess, port: Int, logPath: String, host: String) {
        self.process = process
        self.port = port
        self.logPath = logPath
        self.host = host
    }

    /// Starts `otto serve` for `project` with the test tokens, waiting until it answers.
    static func start(_ project: CLIProject, interval: String, extra: [String] = [], wrapper: [String] = [],
                      host: String = "127.0.0.1") async throws -> ServeProcess {
        try await start(dir: project.dir, environment: project.environment, interval: interval, extra: extra, wrapper: wrapper, host: host)
    }

    /// Starts `otto serve --dir DIR` with the test tokens (under `wrapper`, e.g. `faketime`), waiting until it answers.
    /// `host` is the address it listens on (not loopback: a network namespace's, with `wrapper` `ip netns exec NS`).
    static func start(dir: String, environment: [String: String], interval: String, extra: [String] = [],
                      wrapper: [String] = [], host: String = "127.0.0.1") async throws -> ServeProcess {
        let tokens = dir + "/tokens"
        try "ops read \(Self.readToken)\nci write \(Self.writeToken)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let port = freeLoopbackPort()
        let logPath = dir + "/serve-\(UUID().uuidString.prefix(6)).log"
        var env = environment
        env["NO_COLOR"] = "1"
        let listen = host == "127.0.0.1" ? [] : ["--insecure-listen"]
        let process = try await ChildProcess.start(wrapper + [CLIProject.binary, "serve", "--dir", dir, "--listen", "\(host):\(port)", "--tokens", tokens,
                                                    "--drift-interval", interval] + listen + extra, logPath: logPath, environment: env)
        let serve = ServeProcess(process: process, port: port, logPath: logPath, host: host)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let r = try? await serve.get("/healthz"), r.status == 200 { return serve }
            guard process.isRunning else { throw CloudTestError("otto serve exited: \(serve.log)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        await serve.stop()
        throw CloudTestError("otto serve did not answer within 30 s: \(serve.log)")
    }

    var base: String { "http://\(host):\(port)" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// GET `path` with the read token; the body and the status.
    func get(_ path: String, token: String? = ServeProcess.readToken) async throws -> (status: Int, body: String) {
        var argv = ["curl", "-s", "--max-time", "10", "-w", "\n%{http_code}", base + path]
        if let token { argv += ["-H", "Authorization: Bearer \(token)"] }
        let r = try await runProcess(argv)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// `METHOD path` with the write token and an optional JSON body; the body and the status.
    func send(_ method: String, _ path: String, body: String? = nil) async throws -> (status: Int, body: String) {
        var argv = ["curl", "-s", "--max-time", "10", "-X", method, "-w", "\n%{http_code}", "-H", "Authorization: Bearer \(Self.writeToken)",
                    base + path]
        if let body { argv += ["-H", "Content-Type: application/json", "--data", body] }
        let r = try await runProcess(argv)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// The value of a metric line (`name` or `name{labels}`) in /metrics.
    func metric(_ name: String) async throws -> Double? {
        for line in try await get("/metrics").body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    /// Waits (up to `seconds`) until `condition` holds.
    func wait(seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }

    /// The status page as headless Chromium renders it (the DOM after layout), logged in with the read token.
    func renderedStatusPage(screenshot: String? = nil) async throws -> String {
        let url = "http://ops:\(Self.readToken)@127.0.0.1:\(port)/"
        var argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=390,2000"]
        if let screenshot {
            let shot = try await runProcess(argv + ["--screenshot=\(screenshot)", url])
            guard FileManager.default.fileExists(atPath: screenshot) else { throw CloudTestError("chromium made no screenshot: \(shot.stderr)") }
        }
        argv += ["--dump-dom", url]
        let r = try await runProcess(argv)
        guard r.status == 0 else { throw CloudTestError("chromium failed (\(r.status)): \(r.stderr.suffix(2000))") }
        return r.stdout
    }

    /// SIGTERM, then waits for the exit; returns the exit status.
    /// SIGTERM without waiting (for `defer`); swift-subprocess reaps it.
    func terminate() { process.kill(SIGTERM) }

    @discardableResult
    func stop() async -> Int32 {
        process.kill(SIGTERM)
        return await process.waitForExit()
    }
}

@Suite(.serialized, .tags(.powerDNS, .liveServer), .endToEnd) struct ServeCLITests {
    static func project(_ pdns: PowerDNSServer, drift: String = "correct") throws -> CLIProject {
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML() + "drift: \(drift)\n")
        return p
    }

    /// PowerDNS's API, behind otto's back: deletes an rrset.
    static func deleteRecord(_ p: CLIProject, _ name: String, _ type: String) async throws {
        let body = #"{"rrsets":[{"name":"\#(name)","type":"\#(type)","changetype":"DELETE"}]}"#
        #expect(try await p.api("PATCH", "/api/v1/servers/localhost/zones/demo.test.", body).stdout.hasSuffix("204"))
    }

    @Test func driftIsCorrectedWithinAnIntervalAndShownOnThePageAndInMetrics() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        // The site's pages, with one broken link, for the scheduled walk the page shows.
        let nginx = try await NginxServer.start(files: ["index.html": "<a href=\"/about.html\">about</a> <a href=\"/gone.html\">gone</a>",
                                            "about.html": "<p>about</p>"])
        defer { nginx.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/demo.yml", siteYAML() + "drift: correct\nwalk: { every: 1h, start: \"\(nginx.baseURL)/\" }\n")
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        let serve = try await ServeProcess.start(p, interval: "2s", extra: ["--log-format", "json"])
        defer { serve.terminate() }
        #expect(await serve.wait(seconds: 10) { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 >= 1 })

        // Deleted (PowerDNS answered 204) and, within one interval (2 s, plus the run), put back. Whether a dig between
        // the two still sees it gone depends on how soon the next run comes (under load, often not): the drift
        // counters below say the run found it missing.
        try await Self.deleteRecord(p, "v6.demo.test.", "AAAA")
        #expect(await serve.wait(seconds: 8) { (try? await pdns.dig("v6.demo.test", "AAAA")) == ["2001:db8::1"] }, "\(serve.log.suffix(3000))")
        #expect(try await serve.metric("otto_drift_found_total") ?? 0 >= 1)
        #expect(try await serve.metric("otto_drift_corrected_total") ?? 0 >= 1)
        #expect(try await serve.metric("otto_last_success_timestamp_seconds") ?? 0 > 1_700_000_000)

        // Logs are one JSON object per line, and say what was corrected.
        let lines = serve.log.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(!lines.isEmpty)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count)
        #expect(objects.contains { $0["message"] as? String == "drift" && $0["address"] as? String == "dns_record.demo.v6.AAAA"
            && $0["corrected"] as? String == "true" })

        // The status page, as a browser shows it after the next run: every record with its value, and the run that
        // corrected the drift.
        let runs = try await serve.metric("otto_runs_total{outcome=\"ok\"}") ?? 0
        #expect(await serve.wait(seconds: 8) { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 > runs })
        let shot = p.dir + "/status.png"
        let dom = try await serve.renderedStatusPage(screenshot: shot)
        #expect(dom.contains("6 of 6 resources in sync"), "\(dom.prefix(3000))")
        #expect(dom.contains("dns_record.demo.v6.AAAA"))
        #expect(dom.contains("2001:db8::1"))
        #expect(dom.contains("in state but no longer exists (deleted outside otto)"))
        #expect(dom.contains(">corrected<"))
        // The walk scheduled from `walk:` ran at start: the page names the broken link and the page it is on.
        #expect(dom.contains("1 broken"), "\(dom.suffix(4000))")
        #expect(dom.contains("\(nginx.baseURL)/gone.html"))
        #expect(dom.contains("HTTP 404") || dom.contains("404"))
        // And the API lists it.
        let walks = try await serve.get("/site/walk/demo/")
        #expect(walks.status == 200 && walks.body.contains("\"broken\""), "\(walks.body)")
        #expect(walks.body.contains("\"depth\":3"), "\(walks.body)")
        // An edit of the site's walk: settings reaches the walker with the next scheduled run, without a restart.
        try p.write("sites/demo.yml", siteYAML() + "drift: correct\nwalk: { every: 1h, depth: 1, start: \"\(nginx.baseURL)/\" }\n")
        let walkEdited = await serve.wait(seconds: 10) { (try? await serve.get("/site/walk/demo/").body.contains("\"depth\":1")) == true }
        let walkBody = (try? await serve.get("/site/walk/demo/").body) ?? ""
        #expect(walkEdited, "\(walkBody)")
        let png = try #require(FileManager.default.contents(atPath: shot))
        #expect(png.count > 5_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]))

        // Without a token the page is refused, and asks a browser for one.
        #expect(try await serve.get("/", token: nil).status == 401)
        // A graceful stop.
        #expect(await serve.stop() == 0, "\(serve.log.suffix(2000))")
    }

    @Test func badIntervalsAreRefusedWithTheirReason() async throws {
        let p = try CLIProject(inventory: "hosts: {}\n", environment: [:])
        let reload = try await p.otto("serve", "--listen", "127.0.0.1:0", "--reload-interval", "10ms")
        #expect(reload.status != 0 && reload.stderr.contains("--reload-interval must be a duration of at least 100ms"), "\(reload.stderr)")
        let drift = try await p.otto("serve", "--listen", "127.0.0.1:0", "--drift-interval", "soon")
        #expect(drift.status != 0 && drift.stderr.contains("--drift-interval must be a duration"), "\(drift.stderr)")
    }

    @Test func dnsWrittenOverTheAPIIsConvergedByTheScheduledRun() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try Self.project(pdns)
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        let serve = try await ServeProcess.start(p, interval: "1s")
        defer { serve.terminate() }
        // A zone no YAML declares, and a record in it, over the API: desired state the next run applies.
        var r = try await serve.send("PUT", "/dom/dns/api.test?rec=www+A+192.0.2.7&rec=www+A+192.0.2.8")
        #expect([200, 201].contains(r.status), "\(r.body)")
        #expect(await serve.wait(seconds: 10) { (try? await pdns.dig("www.api.test", "A").sorted()) == ["192.0.2.7", "192.0.2.8"] },
                "\(serve.log.suffix(3000))")
        // What YAML owns is read-only over HTTP, with the file and line that owns it.
        r = try await serve.send("PUT", "/dom/dns/demo.test?rec=www+A+192.0.2.9")
        #expect(r.status == 409, "\(r.body)")
        #expect(r.body.contains("sites/demo.yml:"))
        // Deleting it over the API removes it from DNS on the next run.
        r = try await serve.send("DELETE", "/dom/dns/api.test")
        #expect([200, 204].contains(r.status), "\(r.body)")
        #expect(await serve.wait(seconds: 10) { (try? await pdns.dig("www.api.test", "A")) == [] }, "\(serve.log.suffix(3000))")

        // An apply started over the API returns a run at once, followed at /v1/runs/{id} until it succeeds.
        try await Self.deleteRecord(p, "www.demo.test.", "CNAME")
        r = try await serve.send("POST", "/v1/apply", body: "{}")
        #expect([200, 202].contains(r.status), "\(r.body)")
        let run = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        let id = try #require(run["id"].map { "\($0)" })
        var state = ""
        #expect(await serve.wait(seconds: 15) {
            let followed = try? await serve.get("/v1/runs/\(id)")
            let object = followed.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any] }
            state = object?["state"] as? String ?? ""
            return state != "running" && !state.isEmpty
        })
        // Either the API's run or a scheduled one (whichever took the state lock first) put the record back.
        #expect(["succeeded", "failed"].contains(state))
        #expect(await serve.wait(seconds: 10) { (try? await pdns.dig("www.demo.test", "CNAME")) == ["demo.test."] })

        // Walkers over HTTP: scheduled with parameters, listed, removed.
        r = try await serve.send("PUT", "/site/walk/demo?params=every%3D1h%3Bdepth%3D2")
        #expect([200, 201].contains(r.status), "\(r.body)")
        #expect(try await serve.get("/site/walk/demo/").body.contains("\"depth\":2") || r.body.contains("\"depth\":2"), "\(r.body)")
        r = try await serve.send("DELETE", "/site/walk/demo")
        #expect([200, 204].contains(r.status), "\(r.body)")
    }

    @Test func reportPolicyRecordsDriftAndLeavesItAlone() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try Self.project(pdns, drift: "report")
        #expect(try await p.otto("apply", "--auto-approve").status == 0)
        let serve = try await ServeProcess.start(p, interval: "1s")
        defer { serve.terminate() }
        try await Self.deleteRecord(p, "v6.demo.test.", "AAAA")
        #expect(await serve.wait(seconds: 8) { (try? await serve.metric("otto_drift_reported_total")) ?? 0 >= 1 }, "\(serve.log.suffix(3000))")
        #expect(try await pdns.dig("v6.demo.test", "AAAA").isEmpty)
        #expect(try await serve.metric("otto_drift_corrected_total") == 0)
        let dom = try await serve.renderedStatusPage()
        #expect(dom.contains(">reported<"))
        #expect(dom.contains("missing"))
        // The plan still shows it, for a person to apply (waiting while a scheduled run holds the site's lock).
        let plan = try await p.otto("plan", "--detailed-exitcode", "--lock-timeout", "30s")
        #expect(plan.status == 2, "\(plan.stdout.suffix(2000))\n\(plan.stderr.suffix(2000))")
    }
}
