import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

@Suite("SSH host keys", .tags(.sshd), .endToEnd)
struct SSHHostKeyTests {
    @Test func fingerprintMatchesSSHKeygen() async throws {
        try await withServer { server in
            let listed = try await runProcess(["ssh-keygen", "-l", "-f", server.clientKeyPath + ".pub"])
            let expected = listed.stdout.split(separator: " ")[1]
            let key = try SSHHostKey.read(publicKeyFile: server.clientKeyPath + ".pub")
            #expect(key.hasPrefix("ssh-ed25519 AAAA"))
            #expect(!key.contains("otto-test"))  // the comment is dropped
            #expect(SSHHostKey.fingerprint(key) == String(expected))
            #expect(SSHHostKey.fingerprint(key + " some comment") == String(expected))
            #expect(SSHHostKey.fingerprint("not a key") != String(expected))
        }
    }

    @Test func pinnedMismatchIsRefusedWithBothFingerprints() async throws {
        try await withServer { server in
            let wrong = try SSHHostKey.read(publicKeyFile: server.clientKeyPath + ".pub")  // a valid key, not the host's
            let error = await sshError { _ = try await SSHSession.connect(server.target(policy: .pinned(wrong))) }
            #expect(error?.code == "ssh.hostkey.mismatch")
            let message = error?.message ?? ""
            #expect(message.contains("host key for 127.0.0.1:\(server.port) changed"))
            #expect(message.contains("expected \(SSHHostKey.fingerprint(wrong))"))
            #expect(message.contains("got \(SSHHostKey.fingerprint(server.hostKey))"))
            #expect(message.contains("rebuilt on purpose"))
        }
    }

    @Test func pinnedKeyWithCommentIsAccepted() async throws {
        try await withServer { server in
            let session = try await SSHSession.connect(server.target(policy: .pinned(server.hostKey + " root@somewhere")))
            #expect(session.hostKey == server.hostKey)
            await session.close()
        }
    }

    /// While otto replaces a cloud machine's first key, two keys are pinned (one per line): either is accepted, a
    /// third is refused naming both.
    @Test func severalPinnedKeysAcceptAnyOfThem() async throws {
        try await withServer { server in
            let other = try SSHHostKey.read(publicKeyFile: server.clientKeyPath + ".pub")
            let session = try await SSHSession.connect(server.target(policy: .pinned(other + "\n" + server.hostKey)))
            #expect(session.hostKey == server.hostKey)
            await session.close()
            let error = await sshError { _ = try await SSHSession.connect(server.target(policy: .pinned(other + "\n" + other))) }
            #expect(error?.code == "ssh.hostkey.mismatch")
            #expect(error?.message.contains("expected \(SSHHostKey.fingerprint(other)) or \(SSHHostKey.fingerprint(other))") == true)
            #expect(error?.message.contains("otto apply --replace") == true)
        }
    }

    @Test func changedHostKeyAfterRebuildIsRefused() async throws {
        try await withServer { server in
            let old = server.hostKey
            let first = try await SSHSession.connect(server.target())
            await first.close()
            let new = try await server.restart(newHostKey: true)
            #expect(new != old)
            let error = await sshError { _ = try await SSHSession.connect(server.target(policy: .pinned(old))) }
            #expect(error?.code == "ssh.hostkey.mismatch")
            #expect(error?.message.contains("expected \(SSHHostKey.fingerprint(old)), got \(SSHHostKey.fingerprint(new))") == true)
        }
    }

    @Test func knownHostsUnknownHostIsRefusedAndNothingIsAdded() async throws {
        try await withServer { server in
            let file = server.directory + "/known_hosts_other"
            let unrelated = "[127.0.0.1]:1 \(server.hostKey)\nexample.org \(server.hostKey)\n"
            try unrelated.write(toFile: file, atomically: true, encoding: .utf8)
            let error = await sshError { _ = try await SSHSession.connect(server.target(policy: .knownHosts(path: file))) }
            #expect(error?.code == "ssh.hostkey.unknown")
            #expect(error?.message.contains("127.0.0.1:\(server.port) is not in \(file)") == true)
            #expect(error?.message.contains(SSHHostKey.fingerprint(server.hostKey)) == true)
            #expect(error?.message.contains("ssh-keyscan -p \(server.port) 127.0.0.1 >> \(file)") == true)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == unrelated)

            let missing = server.directory + "/no_known_hosts"
            let none = await sshError { _ = try await SSHSession.connect(server.target(policy: .knownHosts(path: missing))) }
            #expect(none?.code == "ssh.hostkey.unknown")
            #expect(!FileManager.default.fileExists(atPath: missing))
        }
    }

    @Test(arguments: [false, true])
    func knownHostsFromKeyscanIsAccepted(hashed: Bool) async throws {
        try await withServer { server in
            let scan = try await runProcess(["ssh-keyscan", "-p", String(server.port), "-t", "ed25519"] + (hashed ? ["-H"] : []) + ["127.0.0.1"])
            #expect(scan.stdout.contains(hashed ? "|1|" : "[127.0.0.1]:\(server.port) ssh-ed25519"))
            let file = server.directory + "/known_hosts"
            // Other hosts and a line libssh2 cannot parse come first; they must not stop the read.
            let noise = "@cert-authority *.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBogus\nother.example.org \(server.hostKey)\n"
            try (noise + scan.stdout).write(toFile: file, atomically: true, encoding: .utf8)
            let session = try await SSHSession.connect(server.target(policy: .knownHosts(path: file)))
            #expect(session.hostKey == server.hostKey)
            #expect(try await session.exec("echo ok").stdoutText == "ok\n")
            await session.close()

            // After a rebuild with a new key the same file reports a mismatch, with the fix.
            let new = try await server.restart(newHostKey: true)
            let error = await sshError { _ = try await SSHSession.connect(server.target(policy: .knownHosts(path: file))) }
            #expect(error?.code == "ssh.hostkey.mismatch")
            #expect(error?.message.contains("got \(SSHHostKey.fingerprint(new))") == true)
            #expect(error?.message.contains("ssh-keygen -R") == true)
        }
    }

    @Test func knownHostsWrittenFromTheServerKeyIsAccepted() async throws {
        try await withServer { server in
            let file = server.directory + "/known_hosts_written"
            try "[127.0.0.1]:\(server.port) \(server.hostKey) written-by-test\n".write(toFile: file, atomically: true, encoding: .utf8)
            let session = try await SSHSession.connect(server.target(policy: .knownHosts(path: file)))
            #expect(session.hostKey == server.hostKey)
            await session.close()
        }
    }
}
