import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Environments and a promotion pipeline on real machines (issue 11): one site, staging and production on their own
/// bridges, subnets and states; the hello app deployed to staging, refused by production's gates, approved, soaked,
/// promoted as the identical digest; a failed staging deploy put back on the last good release without a person.
@Suite(.serialized, .enabled(if: geteuid() == 0), .tags(.machines, .haproxy), .endToEnd) struct PipelineCLITests {
    static let site = """
        site: p
        domain: p.test
        provider: local
        machines:
          web: { count: 1, image: web }
          lb:  { count: 1, image: lb }
        nginx: { on: web, root: /srv/www/p, directives: ["location = /healthz { return 200 \\"ok\\\\n\\"; }"] }
        haproxy: { on: lb, backend: web, health: { path: /healthz, interval: 1s } }
        apps:
          - name: hello
            on: web
            version: "VERSION"
            bundle: apps/hello-VERSION
            run: { exec: "/usr/bin/python3 {{release_dir}}/server.py" }
            port: 8080
            health: { path: /healthz, interval: 500ms, min_healthy_time: 1s, healthy_deadline: 8s }
            watch: { for: 2s }
            lb: { bind: ":8080" }
        """

    static func pipeline(freeze: Bool) -> String {
        var text = """
            pipeline: hello
            stages:
              - environment: staging
                on_failure: redeploy_last_good
              - environment: production
                soak: 20s
                error_budget: { max_5xx_per_mille: 10 }
                approval: true

            """
        if freeze {
            let f = ISO8601DateFormatter(), now = Date()
            text += "    freezes: [{ from: \"\(f.string(from: now.addingTimeInterval(-3600)))\", to: \"\(f.string(from: now.addingTimeInterval(3600)))\", reason: release freeze }]\n"
        }
        return text
    }

    /// An attribute of `address` in `environment`'s state.
    static func attribute(_ p: MachineProject, _ environment: String, _ address: String, _ name: String) async throws -> String {
        let show = try await p.otto("state", "show", address, "--env", environment).stdout
        for line in show.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix(name + " = ") {
            return String(line.split(separator: "=", maxSplits: 1)[1]).trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        }
        throw PowerDNSServerError("\(address) has no \(name) in \(environment)'s state:\n\(show)")
    }

    static func version(_ p: MachineProject, _ environment: String) async throws -> String {
        let lb = try await attribute(p, environment, "machine.p.lb[0]", "ipv4")
        return try await runProcess(["curl", "-s", "-m", "5", "http://\(lb):8080/version"]).stdout
    }

    /// `otto history --json`: (environment, version, state) newest first.
    static func history(_ p: MachineProject) async throws -> [[String]] {
        let out = try await p.otto("history", "--json")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
        return ((json?["items"] as? [[String: Any]]) ?? []).map { d in
            [d["environment"] as? String ?? "", d["version"] as? String ?? "", d["state"] as? String ?? "", d["reason"] as? String ?? ""]
        }
    }

    @Test func aBuildMovesFromStagingToProductionThroughItsGates() async throws {
        let p = try MachineProject(site: "p", bridge: "otto-t4", subnet: "10.213.0.96/27")
        try AppReleaseTests.bundle(p, "1.0.0")
        try p.write("sites/p.yml", Self.site.replacingOccurrences(of: "VERSION", with: "1.0.0"))
        try FileManager.default.createDirectory(atPath: p.dir + "/environments", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: p.dir + "/pipelines", withIntermediateDirectories: true)
        try p.write("environments/staging.yml", "environment: staging\nproviders:\n  local: { subnet: 10.213.0.96/27, bridge: otto-t4 }\n")
        try p.write("environments/production.yml", "environment: production\nproviders:\n  local: { subnet: 10.213.0.32/27, bridge: otto-t5 }\n")
        try p.write("pipelines/hello.yml", Self.pipeline(freeze: true))
        for env in ["staging", "production"] {
            try await p.sweep([("web[0]", "p-\(env)-web-0"), ("lb[0]", "p-\(env)-lb-0")], "--env", env)
        }
        try await withCleanup {
            try await Self.pipelineRun(p)
        } cleanup: {
            _ = try? await p.otto("destroy", "--auto-approve", "--env", "staging")
            _ = try? await p.otto("destroy", "--auto-approve", "--env", "production")
            _ = try? await runProcess(["ip", "link", "del", "otto-t4"])
            _ = try? await runProcess(["ip", "link", "del", "otto-t5"])
        }
    }

    static func pipelineRun(_ p: MachineProject) async throws {
        // staging takes the site's own build
        let staging = try await p.otto("apply", "--env", "staging", "--auto-approve")
        let soakEnds = Date().addingTimeInterval(21)
        #expect(staging.status == 0, "\(staging.stdout.suffix(3000))\n\(staging.stderr)")
        #expect(try await version(p, "staging") == "1.0.0\n")
        #expect(try await history(p).map { Array($0.prefix(3)) } == [["staging", "1.0.0", "COMPLETED"]])

        // every gate that refuses says so, and nothing happens
        let refused = try await p.otto("promote", "hello", "--to", "production", "--auto-approve")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("- soak: soak not over"), "\(refused.stderr)")
        #expect(refused.stderr.contains("- approval: no approval: nobody approved 1.0.0"), "\(refused.stderr)")
        #expect(refused.stderr.contains("- freeze: production is frozen until") && refused.stderr.contains("release freeze"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("error_budget"), "the error budget is measurable and within budget: \(refused.stderr)")
        #expect(try await history(p).count == 1)

        // production gets machines and a load balancer, and no app before a promotion
        let production = try await p.otto("apply", "--env", "production", "--auto-approve")
        #expect(production.status == 0, "\(production.stdout.suffix(3000))\n\(production.stderr)")
        #expect((production.stdout + production.stderr).contains("app `hello` enters production only by promotion"))
        #expect(try await version(p, "production") != "1.0.0\n")

        let approved = try await p.otto("approve", "hello", "--to", "production", "--note", "CAB-7")
        #expect(approved.status == 0 && approved.stdout.contains("may enter production"), "\(approved.stdout)\n\(approved.stderr)")
        try p.write("pipelines/hello.yml", Self.pipeline(freeze: false))
        for _ in 0..<20 { _ = try await version(p, "staging") }  // traffic in staging over the soak
        try await Task.sleep(for: .seconds(max(0, soakEnds.timeIntervalSinceNow)))

        let promoted = try await p.otto("promote", "hello", "--to", "production", "--auto-approve")
        #expect(promoted.status == 0, "\(promoted.stdout.suffix(3000))\n\(promoted.stderr)")
        #expect(promoted.stdout.contains("gates passed: success, soak, error_budget, approval"), "\(promoted.stdout)")
        #expect(try await version(p, "production") == "1.0.0\n")
        let stagingDigest = try await attribute(p, "staging", "app.p.hello", "digest")
        let productionDigest = try await attribute(p, "production", "app.p.hello", "digest")
        #expect(stagingDigest.count == 64 && stagingDigest == productionDigest)
        let rows = try await history(p)
        #expect(rows.first.map { Array($0.prefix(3)) } == ["production", "1.0.0", "COMPLETED"], "\(rows)")
        #expect(rows.first?[3].hasPrefix("promoted from staging (deployment ") == true, "\(rows)")
        // production's plan is about production alone, and has nothing left to do
        let plan = try await p.otto("plan", "--env", "production", "--detailed-exitcode")
        #expect(plan.status == 0 && !plan.stdout.contains("p-staging"), "\(plan.stdout)\n\(plan.stderr)")

        // production's status page draws its topology and the pipeline, as headless Chromium renders them
        let serve = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "2s", extra: ["--env", "production"])
        let ran = await serve.wait(seconds: 40) { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 >= 1 }
        let dom = try await serve.renderedStatusPage(screenshot: ProcessInfo.processInfo.environment["OTTO_TEST_SCREENSHOT"])
        _ = await serve.stop()
        #expect(ran, "\(serve.log.suffix(3000))")
        #expect(dom.contains("<title>otto · ") && dom.contains("production"))
        #expect(dom.contains("id=\"topology\"") && dom.contains("p-production-web-0") && dom.contains("hello 1.0.0 · UP"), "\(dom.suffix(6000))")
        #expect(dom.contains("haproxy on haproxy.p.lb[0]"), "\(dom.suffix(6000))")
        #expect(dom.contains("id=\"pipeline-hello\"") && dom.contains("data-environment=\"staging\"") && dom.contains("data-environment=\"production\""))
        #expect(dom.contains("1.0.0 · \(stagingDigest.prefix(12))"), "both stages run the build: \(dom.suffix(6000))")
        for gate in ["success", "soak", "approval"] {
            #expect(dom.contains("<g class=\"gate pass\" data-gate=\"\(gate)\">"), "\(gate): \(dom.suffix(6000))")
        }
        #expect(dom.contains("<g class=\"gate later\" data-gate=\"error_budget\">"), "\(dom.suffix(6000))")
        // and who deployed, promoted and approved what, when
        #expect(dom.contains("id=\"audit\"") && dom.contains("from staging to production") && dom.contains("approval 1: hello 1.0.0 for production"),
                "\(dom.suffix(6000))")

        // a build that never gets healthy in staging: on_failure redeploy_last_good puts 1.0.0 back, nobody acts
        try AppReleaseTests.bundle(p, "1.1.0")
        try "import sys\nsys.exit(3)\n".write(toFile: p.dir + "/apps/hello-1.1.0/server.py", atomically: true, encoding: .utf8)
        try p.write("sites/p.yml", Self.site.replacingOccurrences(of: "VERSION", with: "1.1.0"))
        let failed = try await p.otto("apply", "--env", "staging", "--auto-approve")
        #expect(failed.status != 0)
        #expect((failed.stdout + failed.stderr).contains("the app is back on release 1 (1.0.0) and held there (on_failure: redeploy_last_good)"), "\(failed.stdout.suffix(3000))\n\(failed.stderr)")
        #expect(try await version(p, "staging") == "1.0.0\n")
        let held = try await p.otto("plan", "--env", "staging", "--detailed-exitcode")
        #expect(held.status == 0, "held on the last good release, staging has nothing to do: \(held.stdout)\n\(held.stderr)")
        let after = try await history(p).filter { $0[0] == "staging" }.map { Array($0.prefix(3)) }
        #expect(after.prefix(2) == [["staging", "1.0.0", "COMPLETED"], ["staging", "1.1.0", "FAILED"]], "\(after)")

        // and the failed build cannot be promoted
        let refusedFailed = try await p.otto("promote", "hello", "--to", "production", "--version", "1.1.0", "--auto-approve")
        #expect(refusedFailed.status != 0 && refusedFailed.stderr.contains("- success: 1.1.0 failed in staging"), "\(refusedFailed.stderr)")
        #expect(try await version(p, "production") == "1.0.0\n")

        // a CI job registers build 1.2.0 with deploy_to: staging; otto serve of staging deploys it (totem's orchestrator)
        try AppReleaseTests.bundle(p, "1.2.0")
        try p.write("sites/p.yml", Self.site.replacingOccurrences(of: "VERSION", with: "1.2.0"))
        let staged = try await p.otto("plan", "--env", "staging", "--json")
        let changes = (try JSONSerialization.jsonObject(with: Data(staged.stdout.utf8)) as? [String: Any])?["changes"] as? [[String: Any]] ?? []
        let digest = changes.first { $0["address"] as? String == "app.p.hello" }
            .flatMap { ($0["attributes"] as? [[String: Any]])?.first { $0["name"] as? String == "digest" }?["after"] as? String }
        let build = try #require(digest, "\(staged.stdout.prefix(3000))")
        let orchestrator = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "off", extra: ["--env", "staging"])
        let registered = try await orchestrator.send("POST", "/v1/artifacts",
                                              body: #"{"name": "hello", "version": "1.2.0", "digest": "\#(build)", "deploy_to": "staging"}"#)
        #expect(registered.status == 201, "\(registered.body)")
        let id = ((try JSONSerialization.jsonObject(with: Data(registered.body.utf8)) as? [String: Any])?["deployment"] as? [String: Any])?["id"] as? Int
        var state = ""
        let deadline = Date().addingTimeInterval(90)
        while !["COMPLETED", "FAILED"].contains(state) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(300))
            let d = try await orchestrator.get("/v1/deployments/\(id ?? 0)")
            state = (try? JSONSerialization.jsonObject(with: Data(d.body.utf8)) as? [String: Any])?["state"] as? String ?? ""
        }
        _ = await orchestrator.stop()
        #expect(state == "COMPLETED", "\(orchestrator.log.suffix(3000))")
        #expect(try await version(p, "staging") == "1.2.0\n")
        #expect(try await history(p).first.map { Array($0.prefix(3)) } == ["staging", "1.2.0", "COMPLETED"])
    }
}
