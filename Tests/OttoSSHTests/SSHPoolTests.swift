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
