import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Host commands of the local provider, through swift-subprocess.
@Suite struct LocalCommandTests {
    @Test func collectsStdoutAndStderrInterleavedWithTheStatus() async throws {
        let out = try await LocalCommand.run(["sh", "-c", "echo one; echo two >&2; echo three"])
        #expect(out.status == 0)
        #expect(out.text == "one\ntwo\nthree\n")
        let failed = try await LocalCommand.run(["sh", "-c", "echo nope >&2; exit 3"], check: false)
        #expect(failed.status == 3)
        #expect(failed.text == "nope\n")
        let killed = try await LocalCommand.run(["sh", "-c", "kill -TERM $$"], check: false)
        #expect(killed.status == 128 + SIGTERM)
    }

    @Test func aFailureIsAnErrorWithTheCommandAndItsOutput() async throws {
        let error = await #expect(throws: OttoError.self) {
            try await LocalCommand.run(["sh", "-c", "echo broken pipe >&2; exit 2"])
        }
        #expect(error?.code == "provider.local.command")
        #expect(error?.message == "`sh -c echo broken pipe >&2; exit 2` failed with status 2")
        #expect("\(error.map { String(describing: $0) } ?? "")".contains("broken pipe"))
        let missing = await #expect(throws: OttoError.self) { try await LocalCommand.run(["otto-no-such-tool"]) }
        #expect(missing?.code == "provider.local.tool")
    }

    @Test func environmentIsTheOneGivenWithADefaultPath() async throws {
        let out = try await LocalCommand.run(["sh", "-c", "echo \"$OTTO_X|$PATH\""], environment: ["OTTO_X": "y"])
        #expect(out.text == "y|\(LocalCommand.defaultPath)\n")
    }

    @Test func aLogReceivesTheOutputAppended() async throws {
        let dir = try TempDir(prefix: "otto-localcmd")
        defer { dir.cleanup() }
        let log = dir.file("tool.log")
        dir.write("tool.log", "before\n")
        let out = try await LocalCommand.run(["sh", "-c", "echo out; echo err >&2"], log: log)
        #expect(out.text.isEmpty)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "before\nout\nerr\n")
        let error = await #expect(throws: OttoError.self) { try await LocalCommand.run(["sh", "-c", "exit 1"], log: log) }
        #expect("\(error.map { String(describing: $0) } ?? "")".contains("(full output in \(log))"))
    }

    @Test func aDaemonOutlivesTheCallAndWritesItsLog() async throws {
        let dir = try TempDir(prefix: "otto-localdaemon")
        defer { dir.cleanup() }
        let log = dir.file("daemon.log")
        let pidFile = dir.file("daemon.pid")
        // The daemon records its pid, says hello and waits: spawnDaemon returns while it runs.
        try await LocalCommand.spawnDaemon(["sh", "-c", "echo $$ > \(pidFile); echo hello; exec sleep 30"], log: log)
        var pid: Int32?
        for _ in 0..<200 where pid == nil {
            pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if pid == nil { try await Task.sleep(for: .milliseconds(25)) }
        }
        let daemon = try #require(pid)
        defer { kill(daemon, SIGKILL) }
        #expect(kill(daemon, 0) == 0, "the daemon is running")
        #expect(getsid(daemon) == daemon, "the daemon leads a session of its own")
        var text = ""
        for _ in 0..<200 where !text.contains("hello") {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if !text.contains("hello") { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(text == "hello\n")
    }
}
