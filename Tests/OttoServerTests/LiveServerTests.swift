import Foundation
import Logging
import OttoServer
import OttoTestSupport
import OttoTestTags
import ServiceLifecycle
import Synchronization
import Testing

/// The server on real sockets: HTTPS with a certificate, and `otto serve` as a process checked by schemathesis.
@Suite(.serialized, .tags(.liveServer, .powerDNS), .endToEnd) struct LiveServerTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The `otto` binary next to the test runner (both are built by `swift build --build-tests`).
    static let ottoBinary: String = {
        if let explicit = ProcessInfo.processInfo.environment["OTTO_BIN"] { return explicit }
        var dir = (Bundle.main.executablePath ?? CommandLine.arguments[0]) as NSString
        for _ in 0..<5 {
            dir = dir.deletingLastPathComponent as NSString
            if FileManager.default.isExecutableFile(atPath: (dir as String) + "/otto") { return (dir as String) + "/otto" }
        }
        return packageRoot + "/.build/debug/otto"
    }()

    @Test func servesHTTPSWithACertificate() async throws {
        let f = try ServerFixture()
        let cert = f.dir + "/cert.pem", key = f.dir + "/key.pem"
        let made = try await runProcess(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                   "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost"])
        try #require(made.status == 0, "openssl: \(made.stderr)")
        var config = f.configuration()
        config.tls = (cert, key)
        let port = Mutex(0)
        let server = try APIServer(configuration: config, desiredState: f.desired, runs: f.runs, walks: f.walks, releases: f.store, deployments: f.store,
                                   onListening: { address in port.withLock { $0 = address.port } })
        let group = ServiceGroup(configuration: .init(services: [server], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var p = 0
            for _ in 0..<200 where p == 0 {
                try await Task.sleep(for: .milliseconds(25))
                p = port.withLock { $0 }
            }
            try #require(p > 0)
            let https = try await runProcess(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(p)/healthz"])
            #expect(https.stdout == "200")
            let authed = try await runProcess(["curl", "-sk", "-H", "Authorization: Bearer \(TestTokens.read)", "https://127.0.0.1:\(p)/inv"])
            #expect(authed.stdout.contains("yamlhost"))
            let plain = try await runProcess(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(p)/healthz"])
            #expect(plain.stdout != "200")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func badCertificateIsAClearError() throws {
        let f = try ServerFixture()
        var config = f.configuration()
        config.tls = (f.dir + "/missing.pem", f.dir + "/missing.key")
        #expect(throws: (any Error).self) {
            _ = try APIServer(configuration: config, desiredState: f.desired, runs: f.runs, walks: f.walks, releases: f.store, deployments: f.store)
        }
    }

    /// `otto serve` on a temp project, started and stopped (SIGTERM, by pid) by the test; schemathesis generates
    /// requests for every operation of /openapi.json and finds no 5xx and no answer that breaks the document.
    @Test func schemathesisFindsNoProblems() async throws {
        let schemathesis = Self.packageRoot + "/.venv/bin/schemathesis"
        try #require(FileManager.default.isExecutableFile(atPath: schemathesis),
                     "schemathesis is missing: run scripts/install-deps.sh to create the project venv")
        // A real PowerDNS behind the project's DNS, so plans, applies and status made by schemathesis's requests
        // reach a real provider (on loopback) and fail only where the input is bad.
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let f = try ServerFixture(inventory: """
            providers:
              pdns: { type: powerdns, url: "\(pdns.apiURL)", api_key_env: OTTO_TEST_PDNS_KEY }
            hosts:
              yamlhost: { address: 192.0.2.50 }
            """, sites: ["shop": """
            site: shop
            domain: shop.test
            dns:
              provider: pdns
              records:
                - { name: www, type: A, value: 192.0.2.10 }
            walk: { every: 5m }
            """, "blog": TestProject.plainSite])
        let tokens = f.dir + "/tokens"
        try "ci write \(TestTokens.write)\nro read \(TestTokens.read)\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let log = f.dir + "/serve.log"
        let serve = try await ChildProcess.start([Self.ottoBinary, "serve", "--dir", f.dir, "--listen", "127.0.0.1:0", "--tokens", tokens,
                                                  "--max-body", "65536"], logPath: log,
                                                 environment: ProcessInfo.processInfo.environment.merging(["OTTO_TEST_PDNS_KEY": pdns.apiKey]) { _, b in b })
        defer { serve.kill(SIGKILL) }
        var base: String?
        for _ in 0..<400 where base == nil {
            try await Task.sleep(for: .milliseconds(25))
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("otto serve: listening on ") }) {
                base = line.components(separatedBy: "listening on ").last
            }
            try #require(serve.isRunning, "otto serve exited: \(text)")
        }
        let url = try #require(base, "otto serve did not report its address")
        let run = try await runProcess([schemathesis, "run", url + "/openapi.json",
                                  "--header", "Authorization: Bearer \(TestTokens.write)",
                                  "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                                  "--max-examples", "40", "--seed", "1", "--request-timeout", "10", "--no-color"],
                                 environment: ProcessInfo.processInfo.environment.merging(["SCHEMATHESIS_HOOKS": ""]) { _, b in b })
        let out = run.stdout + run.stderr
        try? out.write(toFile: "/tmp/otto-schemathesis.log", atomically: true, encoding: .utf8)
        #expect(run.status == 0, "schemathesis: \(out.suffix(6000))")
        serve.kill(SIGTERM)
        #expect(await serve.waitForExit() == 0, "otto serve did not shut down cleanly")
        let serveLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!serveLog.contains(TestTokens.write) && !serveLog.contains(TestTokens.read))
    }
}
