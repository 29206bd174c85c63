import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing

@Suite("SSH exec", .tags(.sshd), .endToEnd)
struct SSHExecTests {
    @Test func statusStdoutAndStderr() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let result = try await session.exec("echo out; echo err >&2; exit 3")
                #expect(result.status == 3)
                #expect(result.stdoutText == "out\n")
                #expect(result.stderrText == "err\n")
                let ok = try await session.exec("id -un")
                #expect(ok.status == 0)
                #expect(ok.stdoutText == "root\n")
                #expect(session.hostKey == server.hostKey)
            }
        }
    }

    @Test func oneMebibyteOfStdoutWithStderrInterleaved() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let result = try await session.exec("head -c 1048576 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero | tr '\\0' e >&2")
                #expect(result.status == 0)
                #expect(result.stdout.count == 1_048_576)
                #expect(result.stdout.allSatisfy { $0 == UInt8(ascii: "x") })
                #expect(result.stderr.count == 300_000)
            }
        }
    }

    /// Many small packets on both streams: stderr is read whenever libssh2 queued a packet for it (not on every turn),
    /// so nothing of either stream is lost; every packet that came on its own is one wait of the session thread.
    @Test func smallPacketsOnBothStreamsAllArriveAndEachWaitIsCounted() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let result = try await session.exec("i=0; while [ $i -lt 40 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done; "
                                                    + "for j in 1 2 3 4 5; do sleep 0.05; echo late$j >&2; done")
                #expect(result.status == 0)
                #expect(result.stdoutText == (0..<40).map { "o\($0)\n" }.joined())
                #expect(result.stderrText == (0..<40).map { "e\($0)\n" }.joined() + (1...5).map { "late\($0)\n" }.joined())
                // Five writes 50 ms apart cannot share a packet: at least five wakeups.
                #expect(result.socketWaits >= 5, "\(result.socketWaits)")
            }
        }
    }

    @Test func stdinReachesTheCommand() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let small = try await session.exec("cat", stdin: Array("hello\nworld\n".utf8))
                #expect(small.stdoutText == "hello\nworld\n")
                // Larger than the channel window both ways: stdin and stdout must move at the same time.
                let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                let echoed = try await session.exec("cat", stdin: big)
                #expect(echoed.stdout == big)
                let counted = try await session.exec("wc -c", stdin: big)
                #expect(counted.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "3000000")
            }
        }
    }

    @Test func timeoutEndsTheWaitAndTheSessionStaysUsable() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let start = ContinuousClock.now
                let error = await sshError { _ = try await session.exec("sleep 60", timeout: .seconds(1)) }
                let elapsed = ContinuousClock.now - start
                #expect(error?.code == "ssh.timeout")
                #expect(elapsed < .seconds(20))  // far below the 60 s sleep; generous for a loaded machine
                #expect(session.isOpen)
                let after = try await session.exec("echo still here")
                #expect(after.stdoutText == "still here\n")
                let quick = try await session.exec("echo fast", timeout: .seconds(120))  // a deadline not reached does not fire
                #expect(quick.stdoutText == "fast\n")
            }
        }
    }

    @Test func shellQuoteSurvivesTheRemoteShell() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                for value in ["it's", "", "a b", "$(touch /tmp/otto-never)", "`id`", "x\ny", "'\"'\"", "\\n*?[]"] {
                    let result = try await session.exec("printf %s \(ShellQuote.quote(value))")
                    #expect(result.stdoutText == value)
                }
                #expect(ShellQuote.quote("it's") == "'it'\\''s'")
            }
        }
    }

    @Test func twoHundredSequentialExecs() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let start = ContinuousClock.now
                for i in 0..<200 {
                    let result = try await session.exec("echo \(i)")
                    #expect(result.stdoutText == "\(i)\n")
                }
                let elapsed = ContinuousClock.now - start
                print("200 sequential execs on one session: \(elapsed) (\(elapsed / 200) each)")
            }
        }
    }
}
