import Foundation
import OttoCore
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

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "childWriter"]
        var environment = ProcessInfo.processInfo.environment
        environment[Self.childDatabaseVariable] = path
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = FileHandle.nullDevice
        try child.run()

        var text = ""
        var reported = 0
        let reader = output.fileHandleForReading
        while reported < 300 {
            let chunk = reader.availableData
            if chunk.isEmpty { break } // the child ended early; the expectations below will say so
            text += String(decoding: chunk, as: UTF8.self)
            reported = text.split(separator: "\n").filter { $0.hasPrefix("PUT ") }.count
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        text += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        #expect(child.terminationReason == .uncaughtSignal)

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
