import Foundation
import OttoCore
@testable import OttoProviders
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

/// `HAProxyRuntime` against a real haproxy on loopback, in master-worker mode, with the configuration otto renders
/// (`HostRender.haproxy`, a test layout for its files): two nginx servers are the two slots of one app.
@Suite(.tags(.haproxy), .endToEnd) struct HAProxyRuntimeTests {
    /// haproxy in front of two nginx servers, `m0_a` answering `/who` with `a` and `m0_b` with `b`.
    final class Fixture: Sendable {
        let scratch: TempDir
        let layout: HAProxyLayout
        let a: NginxServer
        let b: NginxServer
        let haproxy: HAProxyServer
        let runtime: HAProxyRuntime
        let appURL: String

        init(scratch: TempDir, layout: HAProxyLayout, a: NginxServer, b: NginxServer, haproxy: HAProxyServer, appURL: String) {
            self.scratch = scratch
            self.layout = layout
            self.a = a
            self.b = b
            self.haproxy = haproxy
            self.runtime = HAProxyRuntime(transport: HAProxySocketTransport(socketPath: layout.adminSocket))
            self.appURL = appURL
        }

        static func start() async throws -> Fixture {
            let scratch = try TempDir(prefix: "otto-haproxy")
            let pages = ["healthz": "ok\n"]
            let locations = "location = /boom { return 500; }"
            let a = try await NginxServer.start(files: pages.merging(["who": "a"]) { $1 }, locations: locations)
            let b: NginxServer
            do { b = try await NginxServer.start(files: pages.merging(["who": "b"]) { $1 }, locations: locations) } catch {
                a.stop()
                throw error
            }
            let layout = HAProxyLayout(adminSocket: scratch.file("admin.sock"), serverStateFile: scratch.file("server-state"),
                                       statsBind: "127.0.0.1:\(freeLoopbackPort())")
            let appPort = freeLoopbackPort()
            let attrs: [String: Value] = [
                "name": "t", "bind": .string("127.0.0.1:\(freeLoopbackPort())"), "balance": "roundrobin", "backend": "web",
                "servers": [["name": "w", "address": "127.0.0.1", "port": .int(a.port)]],
                "apps": [["name": "hello", "bind": .string("127.0.0.1:\(appPort)"), "health_path": "/healthz", "health_interval_ms": 100,
                          "slots": [["name": "m0_a", "address": "127.0.0.1", "port": .int(a.port)],
                                    ["name": "m0_b", "address": "127.0.0.1", "port": .int(b.port)]]]],
            ]
            do {
                let config = try #require(HostRender.haproxy(attrs, layout: layout))
                let haproxy = try await HAProxyServer.start(config: config, directory: scratch.path, adminSocket: layout.adminSocket)
                return Fixture(scratch: scratch, layout: layout, a: a, b: b, haproxy: haproxy, appURL: "http://127.0.0.1:\(appPort)")
            } catch {
                a.stop()
                b.stop()
                throw error
            }
        }

        func stop() {
            haproxy.stop()
            a.stop()
            b.stop()
            scratch.cleanup()
        }

        /// One request through the app's frontend on a new connection: its status and body.
        func get(_ path: String) async throws -> (status: Int, body: String) {
            let r = try await runProcess(["curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", appURL + path])
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        /// Which slot answered each of `count` requests to `/who` (`a`, `b`, or the status when not 200).
        func answers(_ count: Int) async throws -> [String] {
            var out: [String] = []
            for _ in 0..<count {
                let r = try await get("/who")
                out.append(r.status == 200 ? r.body : "\(r.status)")
            }
            return out
        }

        /// The app's slots by name.
        func slots() async throws -> [String: HAProxyServerState] {
            Dictionary(uniqueKeysWithValues: try await runtime.serversState(backend: "app_hello").map { ($0.server, $0) })
        }

        /// The app's `show stat` rows by name.
        func stats() async throws -> [String: HAProxyStat] {
            Dictionary(uniqueKeysWithValues: try await runtime.stats().filter { $0.proxy == "app_hello" && $0.type != .frontend }
                .map { ($0.name, $0) })
        }

        /// Waits (up to 10 s) until `slots` have passed a health check (haproxy reports a server UP, check `INI`,
        /// before its first check ran).
        func waitUntilUp(_ slots: [String] = ["m0_a", "m0_b"]) async throws {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let s = try await stats()
                if slots.allSatisfy({ s[$0]?.status == .up && s[$0]?.checkStatus == "L7OK" }) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the slots did not come up: \(try await stats())\n\(haproxy.log)")
            throw HAProxyServerError("slots not up")
        }
    }

    private func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        let f = try await Fixture.start()
        defer { f.stop() }
        try await f.waitUntilUp()
        try await body(f)
    }

    @Test func drainMaintAndReadyMoveTheTraffic() async throws {
        try await withFixture { f in
            #expect(Set(try await f.answers(6)) == ["a", "b"], "both slots take traffic at first")
            var slots = try await f.slots()
            #expect(slots["m0_a"]?.adminState == .ready && slots["m0_b"]?.adminState == .ready)
            #expect(slots["m0_a"]?.operationalState == .running)
            #expect(slots["m0_a"]?.port == f.a.port && slots["m0_b"]?.address == "127.0.0.1")

            try await f.runtime.setState(.drain, backend: "app_hello", server: "m0_a")
            slots = try await f.slots()
            #expect(slots["m0_a"]?.adminState == .drain)
            #expect(try await f.stats()["m0_a"]?.status == .drain)
            #expect(try await f.answers(6) == Array(repeating: "b", count: 6), "a drained slot takes no new request")

            try await f.runtime.setState(.maint, backend: "app_hello", server: "m0_a")
            #expect(try await f.slots()["m0_a"]?.adminState == .maint)
            #expect(try await f.stats()["m0_a"]?.status == .maint)
            #expect(try await f.answers(4) == Array(repeating: "b", count: 4))

            // Switch: a ready, b in maintenance.
            try await f.runtime.setState(.ready, backend: "app_hello", server: "m0_a")
            try await f.runtime.setState(.maint, backend: "app_hello", server: "m0_b")
            slots = try await f.slots()
            #expect(slots["m0_a"]?.adminState == .ready && slots["m0_b"]?.adminState == .maint)
            #expect(try await f.answers(6) == Array(repeating: "a", count: 6))

            // Weights: 0 takes no new request either.
            try await f.runtime.setState(.ready, backend: "app_hello", server: "m0_b")
            try await f.runtime.setWeight(0, backend: "app_hello", server: "m0_a")
            try await f.runtime.setWeight(7, backend: "app_hello", server: "m0_b")
            slots = try await f.slots()
            #expect(slots["m0_a"]?.weight == 0 && slots["m0_b"]?.weight == 7)
            #expect(try await f.answers(4) == Array(repeating: "b", count: 4))
        }
    }

    @Test func showStatCountsEachSlotsAnswers() async throws {
        try await withFixture { f in
            try await f.runtime.setState(.maint, backend: "app_hello", server: "m0_b")
            for _ in 0..<3 { #expect(try await f.get("/boom").status == 500) }
            for _ in 0..<2 {
                let r = try await f.get("/who")
                #expect(r.status == 200 && r.body == "a")
            }
            let s = try await f.stats()
            let a = try #require(s["m0_a"]), b = try #require(s["m0_b"]), backend = try #require(s["BACKEND"])
            #expect(a.responses5xx == 3 && a.responses2xx == 2, "\(a)")
            #expect(a.totalSessions == 5, "\(a)")
            #expect(a.connectionErrors == 0 && a.responseErrors == 0, "\(a)")
            #expect(a.checkStatus == "L7OK", "\(a)")
            #expect(b.status == .maint && b.responses5xx == 0 && b.totalSessions == 0, "\(b)")
            #expect(backend.type == .backend && backend.responses5xx == 3 && backend.status == .up, "\(backend)")
        }
    }

    /// The incident the server-state file prevents: a reload that forgets a drain.
    @Test func aDrainSurvivesAReloadAfterSaveServerState() async throws {
        try await withFixture { f in
            try await f.runtime.setState(.drain, backend: "app_hello", server: "m0_a")
            try await f.runtime.setWeight(5, backend: "app_hello", server: "m0_b")
            try await f.runtime.saveServerState(to: f.layout.serverStateFile)
            let saved = try HAProxyServerState.parse(String(contentsOfFile: f.layout.serverStateFile, encoding: .utf8))
            #expect(saved.first { $0.server == "m0_a" }?.adminState == .drain)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.scratch.path).filter { $0.contains(".otto-") }
            #expect(leftovers.isEmpty, "no temporary file is left beside the state file")

            try await f.haproxy.reload()
            let slots = try await f.slots()
            #expect(slots["m0_a"]?.adminState == .drain, "the reloaded haproxy kept the drain: \(slots)")
            #expect(slots["m0_b"]?.adminState == .ready && slots["m0_b"]?.weight == 5)
            try await f.waitUntilUp(["m0_b"])
            #expect(try await f.answers(6) == Array(repeating: "b", count: 6), "the drained slot still takes no request")

            // Without the saved state, the same reload forgets it: the file is what kept it.
            try FileManager.default.removeItem(atPath: f.layout.serverStateFile)
            try await f.haproxy.reload()
            #expect(try await f.slots()["m0_a"]?.adminState == .ready)
        }
    }

    @Test func whatHAProxyRefusesCarriesItsOwnMessage() async throws {
        try await withFixture { f in
            do {
                try await f.runtime.setState(.drain, backend: "app_hello", server: "nope")
                Issue.record("an unknown server was accepted")
            } catch let error as OttoError {
                #expect(error.code == "haproxy.runtime")
                #expect(error.cause == "No such server.", "\(error)")
                #expect(error.description.contains("set server app_hello/nope state drain"))
            }
            do {
                try await f.runtime.setWeight(3, backend: "nope", server: "m0_a")
                Issue.record("an unknown backend was accepted")
            } catch let error as OttoError {
                #expect(error.cause == "No such backend.", "\(error)")
            }
            await #expect(throws: OttoError.self) { try await f.runtime.serversState(backend: "nope") }
            // Nothing reached haproxy: the state is as it was.
            #expect(try await f.slots().values.allSatisfy { $0.adminState == .ready })
        }
    }

    /// The transport the reload path uses on a load balancer: socat run over SSH (here a real sshd on loopback, the
    /// haproxy beside it), and the state file written over SFTP.
    @Test(.tags(.sshd)) func theSSHTransportDrivesTheSameAPI() async throws {
        try await withFixture { f in
            let sshd = try await SSHServer.start()
            defer { sshd.stop() }
            let session = try await SSHSession.connect(sshd.target())
            do {
                let transport = HAProxySSHTransport(session: session, socket: f.layout.adminSocket, machine: "lb-0")
                #expect(try await transport.socketExists())
                #expect(try await HAProxySSHTransport(session: session, socket: f.scratch.file("none.sock")).socketExists() == false)
                let runtime = HAProxyRuntime(transport: transport)
                try await runtime.setState(.drain, backend: "app_hello", server: "m0_b")
                #expect(try await runtime.serversState(backend: "app_hello").first { $0.server == "m0_b" }?.adminState == .drain)
                #expect(try await runtime.stats().contains { $0.proxy == "app_hello" && $0.name == "m0_a" && $0.status == .up })
                await #expect(throws: OttoError.self) { try await runtime.setState(.maint, backend: "app_hello", server: "nope") }
                try await runtime.saveServerState(to: f.layout.serverStateFile)
                try await f.haproxy.reload()
                #expect(try await f.slots()["m0_b"]?.adminState == .drain)
                #expect(try await f.answers(4) == Array(repeating: "a", count: 4))
            } catch {
                await session.close()
                throw error
            }
            await session.close()
        }
    }
}
