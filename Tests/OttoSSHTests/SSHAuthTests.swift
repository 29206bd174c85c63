import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

@Suite("SSH authentication", .tags(.sshd), .endToEnd)
struct SSHAuthTests {
    @Test(arguments: [[String](), ["-m", "PEM"]])
    func rsaKeyIsRecognisedBeforeTrying(format: [String]) async throws {
        try await withServer { server in
            let rsa = server.directory + "/client_rsa"
            try await SSHServer.keygen(rsa, type: "rsa", extra: ["-b", "2048"] + format)
            try server.authorize(publicKeyFile: rsa + ".pub")
            let error = await sshError { _ = try await SSHSession.connect(server.target(identityFiles: [rsa])) }
            #expect(error?.code == "ssh.rsa_unsupported")
            #expect(error?.message.contains("ssh-keygen -t ed25519") == true)
            #expect(error?.message.contains("PubkeyAcceptedAlgorithms +ssh-rsa") == true)
            #expect(error?.message.contains(rsa) == true)

            // With a usable key listed as well, the RSA key is skipped and the login works.
            let session = try await SSHSession.connect(server.target(identityFiles: [rsa, server.clientKeyPath]))
            #expect(try await session.exec("echo in").stdoutText == "in\n")
            await session.close()
        }
    }

    @Test func unauthorizedKeyListsTriedKeysWithoutKeyMaterial() async throws {
        try await withServer { server in
            let stranger = server.directory + "/stranger"
            try await SSHServer.keygen(stranger)
            let error = await sshError { _ = try await SSHSession.connect(server.target(identityFiles: [stranger, "/nonexistent/key"])) }
            #expect(error?.code == "ssh.auth")
            let message = error?.message ?? ""
            #expect(message.contains(stranger))
            #expect(message.contains("/nonexistent/key"))
            let privateText = try String(contentsOfFile: stranger, encoding: .utf8)
            let publicBase64 = try SSHHostKey.read(publicKeyFile: stranger + ".pub").split(separator: " ")[1]
            #expect(!message.contains(publicBase64))
            for line in privateText.split(separator: "\n") where !line.hasPrefix("-----") { #expect(!message.contains(line)) }
        }
    }

    @Test func sshAgent() async throws {
        try await withServer { server in
            let socket = server.directory + "/agent.sock"
            let started = try await runProcess(["ssh-agent", "-s", "-a", socket])
            #expect(started.status == 0)
            let pidText = started.stdout.split(separator: ";").first { $0.contains("SSH_AGENT_PID=") }?
                .split(separator: "=").last.map(String.init)
            let agentPID = try #require(pidText.flatMap { Int32($0) })
            defer { kill(agentPID, SIGTERM) }

            let empty = await sshError {
                _ = try await SSHSession.connect(server.target(identityFiles: []).withAgent(socket))
            }
            #expect(empty?.code == "ssh.auth")
            #expect(empty?.message.contains("holds no keys") == true)

            let environment = ProcessInfo.processInfo.environment.merging(["SSH_AUTH_SOCK": socket]) { $1 }
            let added = try await runProcess(["ssh-add", server.clientKeyPath], environment: environment)
            #expect(added.status == 0, "ssh-add: \(added.stderr)")
            let session = try await SSHSession.connect(server.target(identityFiles: []).withAgent(socket))
            #expect(try await session.exec("echo agent").stdoutText == "agent\n")
            await session.close()

            let gone = await sshError {
                _ = try await SSHSession.connect(server.target(identityFiles: []).withAgent(server.directory + "/no-agent"))
            }
            #expect(gone?.code == "ssh.auth")
        }
    }
}

extension SSHTarget {
    /// This target, authenticating with the agent at `socket`.
    func withAgent(_ socket: String) -> SSHTarget {
        var copy = self
        copy.agentSocket = socket
        return copy
    }
}
