import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// "A killed apply loses nothing that completed": a child process (this test binary, running only
/// `childWriter`) puts records one by one and reports each completed put; it is killed with SIGKILL
/// mid-stream, and every reported put must be in the state.
@Suite("State durability")
struct StateDurabilityTests {
    static let childDatabaseVariable = "OTTO_STATE_TEST_CHILD_DB"

    @Test("the child writer (runs only inside the durability test's child process)",
          .enabled(if: ProcessInfo.processInfo.environment[childDatabaseVariable] != nil))
    func childWriter() async throws {
        let path = ProcessInfo.processInfo.environment[Self.childDatabaseVariable]!
        let store = try SQLiteStateStore(path: path)
        for i in 0..<1_000_000 {
            try await store.put(StatePerformanceTests.record(i))
            FileHandle.standardOutput.write(Data("PUT \(i)\n".utf8)) // unbuffered: one write(2) per line
        }
    }

    @Test("every put that returned survives SIGKILL of the writer")
    func killedWriterLosesNothing() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")

        // Its standard output goes to a log file, read as it grows (standard error is discarded).
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childDatabaseVariable] = path
        let child = try await ChildProcess.start([CommandLine.arguments[0], "--testing-library", "swift-testing", "--filter", "childWriter"],
                                                 logPath: dir.file("child.log"), environment: environment, discardingErrors: true)
        // Until 300 puts are reported, or the child ended early (the expectations below will say so).
        _ = try await child.waitForLog(timeout: .seconds(120)) { text in
            text.split(separator: "\n").filter { $0.hasPrefix("PUT ") }.count >= 300
        }
        child.kill(SIGKILL)
        let status = await child.waitForExit()
        let text = child.log()
        #expect(status == 128 + SIGKILL)

        let completed = text.split(separator: "\n").compactMap { line -> Int? in
            line.hasPrefix("PUT ") ? Int(line.dropFirst(4)) : nil
        }
        #expect(completed.count >= 300)
        let last = try #require(completed.max())

        print("DURABILITY: \(completed.count) puts reported before SIGKILL, last \(last)")
        let state = try await SQLiteStateStore(path: path).snapshot()
        for i in 0...last {
            let expected = StatePerformanceTests.record(i)
            #expect(state.records[expected.address] == expected, "put \(i) was reported done but is missing")
        }
        #expect(state.serial >= last + 1)
        #expect(state.serial == state.records.count)
    }
}
