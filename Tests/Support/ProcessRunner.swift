/// The outcome of a finished process.
public struct ProcessResult: Sendable {
    /// Exit status (or 128 + the signal that ended it).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Runs `argv` (the first element looked up in PATH), optionally feeding `input` on standard input, and waits
/// for it (through `spawnAndWait`). Blocks the calling thread: tests call it from a test body, never product code.
@discardableResult
public func runProcess(_ argv: [String], input: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    try spawnAndWait(argv, input: input, environment: environment)
}
