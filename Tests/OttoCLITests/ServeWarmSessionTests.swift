import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// `otto serve` keeps one SSH session per host open between its scheduled runs: a no-change run is one probe on the warm
/// session, with no new connection; a restarted sshd is reconnected on the next run, and a changed host key refused.
@Suite(.serialized, .tags(.sshd), .endToEnd) struct ServeWarmSessionTests {
    /// Logins sshd accepted so far (its log at `LogLevel INFO`).
    static func logins(_ server: SSHServer) -> Int {
        ((try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? "").components(separatedBy: "Accepted publickey").count - 1
    }

    /// Connections sshd saw closed before the key exchange (a reachability check that reads the banner and hangs up).
    static func bannerChecks(_ server: SSHServer) -> Int {
        ((try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? "").components(separatedBy: "kex_exchange_identification").count - 1
    }

    /// A project whose inventory is `server` as host `box` of group `g` (its host key in a known_hosts file).
    static func project(_ server: SSHServer) throws -> (CLIProject, knownHosts: String) {
        let knownHosts = server.directory + "/client_known_hosts"
        try "[127.0.0.1]:\(server.port) \(server.hostKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let p = try CLIProject(inventory: """
            providers:
              static: { type: static, known_hosts: \(knownHosts) }
            hosts:
              box: { address: 127.0.0.1, port: \(server.port), user: root, key: \(server.clientKeyPath), groups: [g] }
            """, environment: [:])
        return (p, knownHosts)
    }

    @Test func scheduledRunsReuseOneSessionReconnectAfterARestartAndRefuseANewHostKey() async throws {
        let server = try await SSHServer.start(logLevel: "INFO")
        defer { server.stop() }
        let (p, knownHosts) = try Self.project(server)
        let motd = server.directory + "/motd"
        try p.write("sites/warm.yml", """
            site: warm
            domain: warm.test
            provider: static
            machines:
              g: { count: 1, provider: static }
            files:
              - { on: g, path: \(motd), content: "hi\\n", mode: "0644" }
            """)
        let serve = try await ServeProcess.start(p, interval: "1s")
        defer { serve.terminate() }
        func runs() async -> Double { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 }
        #expect(await serve.wait(seconds: 60) { await runs() >= 4 }, "\(serve.log.suffix(3000))")
        #expect((try? String(contentsOfFile: motd, encoding: .utf8)) == "hi\n")
        // Four runs (the first one wrote the file), one login.
        let ran = await runs()
        #expect(Self.logins(server) == 1, "sshd accepted \(Self.logins(server)) logins over \(ran) runs")
        // Nor does the static machine's reachability check connect again while the session is open (each connection
        // costs the host an sshd process): the connections sshd saw closed before logging in stop growing.
        let probes = Self.bannerChecks(server)
        #expect(await serve.wait(seconds: 60) { await runs() >= ran + 3 }, "\(serve.log.suffix(3000))")
        #expect(Self.bannerChecks(server) == probes, "reachability checks: \(probes), then \(Self.bannerChecks(server))")

        // An inventory edit makes the run's providers again; the sessions are the process's, and stay warm.
        try p.write("inventory/main.yml", """
            providers:
              static: { type: static, known_hosts: \(knownHosts) }
            hosts:
              box: { address: 127.0.0.1, port: \(server.port), user: root, key: \(server.clientKeyPath), groups: [g], vars: { edited: 1 } }
            """)
        let edited = await runs()
        #expect(await serve.wait(seconds: 60) { await runs() >= edited + 2 }, "\(serve.log.suffix(3000))")
        #expect(Self.logins(server) == 1, "sshd accepted \(Self.logins(server)) logins after the inventory edit")

        // sshd killed and started again with the same key: the next run reconnects, once, and goes on.
        _ = try await server.restart(newHostKey: false)
        let before = await runs()
        #expect(await serve.wait(seconds: 60) { await runs() >= before + 2 }, "\(serve.log.suffix(3000))")
        #expect(Self.logins(server) == 2, "sshd accepted \(Self.logins(server)) logins")

        // A new host key: the reconnect refuses it before logging in, and runs fail saying why.
        _ = try await server.restart(newHostKey: true)
        #expect(await serve.wait(seconds: 60) { serve.log.contains("host key") }, "\(serve.log.suffix(3000))")
        #expect(Self.logins(server) == 2)
    }

    /// A run reuses the project built for the one before while nothing it was built from changed; any change is planned
    /// on the next run: a `source:` file rewritten in place with its size and modification time as they were, and a
    /// YAML edit.
    @Test func aRunSeesEveryChangeToTheFilesItsProjectWasBuiltFrom() async throws {
        let server = try await SSHServer.start()
        defer { server.stop() }
        let (p, _) = try Self.project(server)
        let motd = server.directory + "/motd", other = server.directory + "/other"
        try p.write("files/motd", "one\n")
        let site = """
            site: built
            domain: built.test
            provider: static
            machines:
              g: { count: 1, provider: static }
            files:
              - { on: g, path: \(motd), source: files/motd, mode: "0644" }
            """
        try p.write("sites/built.yml", site)
        let serve = try await ServeProcess.start(p, interval: "1s")
        defer { serve.terminate() }
        func runs() async -> Double { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 }
        func host(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        #expect(await serve.wait(seconds: 60) { await runs() >= 4 }, "\(serve.log.suffix(3000))")
        #expect(host(motd) == "one\n")

        // The source rewritten in place: same size, its times set back to the nanosecond (`touch -r` from a copy of them).
        let source = p.dir + "/files/motd", times = p.dir + "/times"
        #expect(try await runProcess(["touch", "-r", source, times]).status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: source))
        try handle.write(contentsOf: Data("two\n".utf8))
        try handle.close()
        #expect(try await runProcess(["touch", "-r", times, source]).status == 0)
        #expect(await serve.wait(seconds: 30) { host(motd) == "two\n" }, "\(serve.log.suffix(3000))")

        // A YAML edit: one more file.
        try p.write("sites/built.yml", site + "\n  - { on: g, path: \(other), content: \"three\\n\", mode: \"0644\" }\n")
        #expect(await serve.wait(seconds: 30) { host(other) == "three\n" }, "\(serve.log.suffix(3000))")
        let ran = await runs()
        #expect(await serve.wait(seconds: 60) { await runs() >= ran + 2 }, "\(serve.log.suffix(3000))")
        #expect(host(motd) == "two\n" && host(other) == "three\n")
    }
}
