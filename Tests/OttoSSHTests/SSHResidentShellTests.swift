import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

/// `SSHSession.runInShell`: scripts one after another in one `sh` kept on the host, against a real sshd.
@Suite("SSH resident shell", .tags(.sshd), .endToEnd)
struct SSHResidentShellTests {
    /// Status, output and error as `exec` gives them; one shell for every script (same PID), and nothing a script
    /// sets (variables, functions, directory) is seen by the next; a script's input is empty, not the next script.
    @Test func scriptsRunOneAfterAnotherInOneShellWithoutLeavingAnythingBehind() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let first = try await session.runInShell("x=1; f() { echo f; }; cd /tmp; echo \"shell $$\"; echo oops >&2; exit 3")
                #expect(first.status == 3)
                #expect(first.stdoutText.hasPrefix("shell "))
                #expect(first.stderrText == "oops\n")
                let second = try await session.runInShell("echo \"shell $$\"; echo \"x=${x-unset}${otto_out-}\"; pwd; command -v f || echo no-f; cat; echo end")
                #expect(second.status == 0)
                let lines = second.stdoutText.split(separator: "\n").map(String.init)
                #expect(lines.first == first.stdoutText.split(separator: "\n").first.map(String.init), "\(lines)")
                #expect(Array(lines.dropFirst()) == ["x=unset", "/root", "no-f", "end"], "\(lines)")
                // Output without a final newline, output that looks like a marker, and many lines: all exact.
                let odd = try await session.runInShell("printf 'no newline'")
                #expect(odd.stdoutText == "no newline" && odd.status == 0)
                let big = try await session.runInShell("i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; printf '\\notto-0 7\\n'")
                #expect(big.stdoutText == (0..<20000).map { "line \($0)\n" }.joined() + "\notto-0 7\n")
                #expect(big.status == 0)
            }
        }
    }

    /// A script that kills its shell fails; the next script gets a new shell. One that overruns its timeout fails with
    /// `ssh.timeout`, and the session stays usable.
    @Test func aShellThatDiedOrOverranIsReplacedByTheNextCall() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let pid = try await session.runInShell("echo $$").stdoutText
                let killed = await sshError { _ = try await session.runInShell("kill -9 $$; sleep 1") }
                #expect(killed?.code == "ssh.exec")
                let again = try await session.runInShell("echo $$")
                #expect(again.status == 0 && !again.stdoutText.isEmpty && again.stdoutText != pid)
                let slow = await sshError { _ = try await session.runInShell("sleep 5", timeout: .milliseconds(300)) }
                #expect(slow?.code == "ssh.timeout")
                let after = try await session.runInShell("echo ok")
                #expect(after.stdoutText == "ok\n")
                #expect(try await session.exec("echo exec").stdoutText == "exec\n")
            }
        }
    }

    /// `otto serve`'s pass, a thousand times on one pooled session: one connection, one shell on the host (the same
    /// PID throughout), and this process's open descriptors stay where they were.
    @Test func aThousandScriptsOnAWarmSessionLeakNothing() async throws {
        try await withServer { server in
            let pool = SSHPool()
            let target = server.target()
            let shell = try await pool.withSession(for: target) { try await $0.runInShell("echo $$") }.stdoutText
            let before = SSHPoolTests.openDescriptors()
            var wrong = 0
            for i in 0..<1000 {
                let r = try await pool.withSession(for: target) { try await $0.runInShell("echo \(i) $$") }
                if r.status != 0 || r.stdoutText != "\(i) \(shell)" { wrong += 1 }
            }
            #expect(wrong == 0)
            #expect(await pool.connects == 1)
            #expect(SSHPoolTests.openDescriptors() <= before, "open descriptors went from \(before) to \(SSHPoolTests.openDescriptors())")
            await pool.closeAll()
        }
    }
}

