import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

@Suite("SSH pool and connection failures", .tags(.sshd), .endToEnd)
struct SSHPoolTests {
    @Test func poolReusesOneSessionPerTarget() async throws {
        try await withServer { server in
            let pool = SSHPool()
            let target = server.target()
            let sessions = try await withThrowingTaskGroup(of: SSHSession.self) { group in
                for _ in 0..<10 { group.addTask { try await pool.session(for: target) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(sessions.count == 10)
            #expect(sessions.allSatisfy { $0 === sessions[0] })
            #expect(await pool.count == 1)
            let again = try await pool.session(for: target)
            #expect(again === sessions[0])
            // Exactly one client TCP connection to the server exists (client side: destination port = the server's).
            let peers = try await again.exec("ss -Htn state established '( dport = :\(server.port) )' | wc -l")
            #expect(peers.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "1")

            await again.close()
            let replaced = try await pool.session(for: target)
            #expect(replaced !== again)
            #expect(try await replaced.exec("echo new").stdoutText == "new\n")
            await pool.closeAll()
            #expect(!replaced.isOpen)
            #expect(await pool.count == 0)
        }
    }

    @Test func aWarmSessionWhoseServerWasKilledIsReplacedAndAChangedHostKeyRefused() async throws {
        try await withServer { server in
            let pool = SSHPool()
            let target = server.target()
            #expect(try await pool.withSession(for: target) { try await $0.exec("echo one").stdoutText } == "one\n")
            #expect(try await pool.withSession(for: target) { try await $0.exec("echo two").stdoutText } == "two\n")
            #expect(await pool.connects == 1)
            // sshd killed and started again while the session waited: the next use reconnects and runs the work again.
            _ = try await server.restart(newHostKey: false)
            #expect(try await pool.withSession(for: target) { try await $0.exec("echo three").stdoutText } == "three\n")
            #expect(await pool.connects == 2)
            // A new host key behind a warm session: the reconnect checks the pinned key and refuses.
            _ = try await server.restart(newHostKey: true)
            let error = await sshError { _ = try await pool.withSession(for: target) { try await $0.exec("echo four") } }
            #expect(error?.code == "ssh.hostkey.mismatch", "\(String(describing: error))")
            await pool.closeAll()
        }
    }

    @Test func thePoolKeepsAtMostItsBoundClosingTheLeastRecentlyUsed() async throws {
        try await withServer { server in
            let pool = SSHPool(maxSessions: 2)
            // Three targets for one server (they differ in their connect timeout).
            let targets = (1...3).map { server.target(connectTimeout: .seconds($0 * 10)) }
            let first = try await pool.session(for: targets[0])
            let second = try await pool.session(for: targets[1])
            #expect(try await pool.session(for: targets[0]) === first)   // the first is now the more recently used
            let third = try await pool.session(for: targets[2])
            let (count, evictions) = (await pool.count, await pool.evictions)
            #expect(count == 2 && evictions == 1)
            var closed = false
            for _ in 0..<200 where !closed {
                closed = !second.isOpen
                if !closed { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(closed, "the least recently used session was not closed")
            #expect(first.isOpen && third.isOpen)
            #expect(try await pool.session(for: targets[0]) === first)
            await pool.closeAll()
        }
    }

    /// Open file descriptors of this process.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    @Test func noSessionLeaksOverTwoHundredRunsAndFiftyReconnects() async throws {
        try await withServer { server in
            let pool = SSHPool()
            let target = server.target()
            _ = try await pool.withSession(for: target) { try await $0.exec("true") }
            let before = Self.openDescriptors()
            for _ in 0..<200 { _ = try await pool.withSession(for: target) { try await $0.exec("true") } }
            #expect(await pool.connects == 1)
            for _ in 0..<50 {
                await pool.closeAll()
                _ = try await pool.withSession(for: target) { try await $0.exec("true") }
            }
            #expect(await pool.connects == 51)
            // Session threads end shortly after their session closed.
            var after = Self.openDescriptors()
            for _ in 0..<100 where after > before {
                try await Task.sleep(for: .milliseconds(20))
                after = Self.openDescriptors()
            }
            #expect(after <= before, "open descriptors went from \(before) to \(after)")
            await pool.closeAll()
        }
    }

    @Test func twentyConcurrentSessionsToOneServer() async throws {
        try await withServer { server in
            let outputs = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let session = try await SSHSession.connect(server.target())
                        let result = try await session.exec("echo \(i)")
                        let uploaded = server.directory + "/concurrent-\(i)"
                        try await session.upload(Array("file \(i)".utf8), to: uploaded, mode: 0o600)
                        let back = try await session.exec("cat \(ShellQuote.quote(uploaded))")
                        await session.close()
                        return result.stdoutText + back.stdoutText
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(outputs == Set((0..<20).map { "\($0)\nfile \($0)" }))
        }
    }

    @Test func killedServerGivesClosedNotACrash() async throws {
        try await withServer { server in
            let session = try await SSHSession.connect(server.target())
            #expect(try await session.exec("echo up").stdoutText == "up\n")
            await server.killAll()
            let error = await sshError { _ = try await session.exec("echo down") }
            #expect(error.map { ["ssh.closed", "ssh.connect"].contains($0.code) } == true, "got \(String(describing: error))")
            #expect(!session.isOpen)
            let again = await sshError { _ = try await session.exec("echo again") }
            #expect(again?.code == "ssh.closed")
            let upload = await sshError { try await session.upload([1], to: "/tmp/x", mode: 0o600) }
            #expect(upload?.code == "ssh.closed")
            await session.close()

            let refused = await sshError { _ = try await SSHSession.connect(server.target()) }
            #expect(refused?.code == "ssh.connect")
            #expect(refused?.message.contains("Connection refused") == true)
        }
    }

    @Test func poolReconnectsAfterTheServerCameBack() async throws {
        try await withServer { server in
            let pool = SSHPool()
            let first = try await pool.session(for: server.target())
            await server.killAll()
            _ = try? await first.exec("true")
            _ = try await server.restart(newHostKey: false)
            let second = try await pool.session(for: server.target())
            #expect(second !== first)
            #expect(try await second.exec("echo back").stdoutText == "back\n")
            await pool.closeAll()
        }
    }

    @Test func closedSessionRejectsCalls() async throws {
        try await withServer { server in
            let session = try await SSHSession.connect(server.target())
            await session.close()
            await session.close()
            let error = await sshError { _ = try await session.exec("true") }
            #expect(error?.code == "ssh.closed")
        }
    }

    @Test func connectTimeoutToASilentPort() async throws {
        // A listening socket that never speaks SSH: the handshake must give up after connectTimeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound == 0)
        listen(fd, 5)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let target = SSHTarget(host: "127.0.0.1", port: port, hostKeyPolicy: .pinned("ssh-ed25519 AAAA"),
                               connectTimeout: .milliseconds(500))
        let start = ContinuousClock.now
        let error = await sshError { _ = try await SSHSession.connect(target) }
        #expect(error?.code == "ssh.timeout")
        #expect(ContinuousClock.now - start < .seconds(5))
    }
}
