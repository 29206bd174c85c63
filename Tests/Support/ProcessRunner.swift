import Foundation

/// The outcome of a finished process.
public struct ProcessResult: Sendable {
    /// Exit status (or the terminating signal number).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Runs `argv` (the first element looked up in PATH), optionally feeding `input` on standard input, and waits
/// for it. Blocks the calling thread: tests call it from a test body, never product code.
@discardableResult
public func runProcess(_ argv: [String], input: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    precondition(!argv.isEmpty, "runProcess needs a program")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = argv
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input == nil ? FileHandle.nullDevice : inp
    try process.run()
    let errBox = DataBox()
    let errThread = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); errBox.done.signal() }
    errThread.start()
    if let input {
        let writer = inp.fileHandleForWriting
        let data = Data(input.utf8)
        Thread {
            writer.write(data)
            try? writer.close()
        }.start()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errBox.done.wait()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errBox.data, as: UTF8.self))
}

/// Hands a reader thread's bytes back; `done` orders the write before the read.
private final class DataBox: @unchecked Sendable {  // `data` is written before `done.signal()` and read after `done.wait()`
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
