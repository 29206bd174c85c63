/// What a remote command produced.
public struct SSHExecResult: Sendable {
    /// Exit status; 128 + N when the command was killed by signal N, 0 when the server reported neither.
    public var status: Int32
    /// Standard output, as bytes.
    public var stdout: [UInt8]
    /// Standard error, as bytes.
    public var stderr: [UInt8]
    /// How often the session thread woke because the socket was ready while the command ran (after the channel was
    /// open and the command started; waits that only timed out are not counted): about one per packet that came on its
    /// own. A cost measure for tests and traces; 0 when not measured.
    public var socketWaits = 0

    /// Creates a result.
    public init(status: Int32, stdout: [UInt8], stderr: [UInt8]) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Standard output decoded as UTF-8 (invalid sequences replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid sequences replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}
