import Foundation
import Synchronization

/// One authenticated SSH connection. All its libssh2 work runs on the session's own thread, one call at a time
/// (concurrent `exec`/`upload` calls queue); the async methods suspend without holding a cooperative thread.
/// After a network failure the session stays closed (`isOpen` is false) and calls fail with `ssh.closed`;
/// `SSHPool` then connects a new one.
public final class SSHSession: Sendable {
    /// Where this session goes.
    public let target: SSHTarget
    /// The host key as the server presented it, `"ssh-ed25519 AAAA..."`.
    public let hostKey: String
    private let thread: SessionThread
    private let memos = Mutex<[String: any Sendable]>([:])

    private init(target: SSHTarget, hostKey: String, thread: SessionThread) {
        self.target = target
        self.hostKey = hostKey
        self.thread = thread
    }

    /// Connects, checks the host key against `target.hostKeyPolicy` (before authenticating) and authenticates.
    public static func connect(_ target: SSHTarget) async throws -> SSHSession {
        let thread = SessionThread(name: "otto-ssh \(target.endpoint)")
        do {
            let hostKey = try await thread.perform(closedError: closed(target, "connecting")) { thread in
                let connection = try Connection(target: target)
                thread.connection = connection
                thread.isOpen = true
                return connection.hostKey
            }
            return SSHSession(target: target, hostKey: hostKey, thread: thread)
        } catch {
            thread.shutdown()
            throw error
        }
    }

    /// What a caller noted about the host on this session, by key (nil: nothing). Memos live as long as the session:
    /// a reconnect (a new session, maybe to a machine since replaced) starts without any.
    /// A memo of another type than `T` reads as nil.
    public func memo<T: Sendable>(_ key: String, as type: T.Type = T.self) -> T? { memos.withLock { $0[key] as? T } }

    /// Notes `value` under `key` for later calls on this session (nil forgets it).
    public func setMemo<T: Sendable>(_ key: String, _ value: T?) { memos.withLock { $0[key] = value } }

    /// False once the session was closed or its connection failed.
    public var isOpen: Bool { thread.isOpen }

    /// Runs `command` (through the remote user's shell), feeding `stdin`, and returns its status and output.
    /// A non-zero exit status is a result, not an error. With `timeout`, a command still running at the deadline
    /// fails with `ssh.timeout` (its channel is closed; libssh2 1.10 cannot signal the remote process).
    /// Quote values you put into `command` with `ShellQuote.quote`.
    public func exec(_ command: String, stdin: [UInt8] = [], timeout: Duration? = nil) async throws -> SSHExecResult {
        let cancel = CancelFlag()
        return try await withTaskCancellationHandler {
            try await run("running a command") { connection in
                try connection.exec(command, stdin: stdin, timeout: timeout, cancel: cancel)
            }
        } onCancel: {
            cancel.set()
        }
    }

    /// Runs `script` (POSIX sh) in the session's resident shell: a `sh` kept running on the host from the first call,
    /// each script in a subshell of it with `/dev/null` as input, one at a time; its output (text) comes back in one piece. Cheaper than `exec("sh -s", ...)` for a
    /// script run again and again on a warm session (no channel set-up, no new login shell on the host): same status
    /// and output. With `timeout`, a script still running at the deadline fails with `ssh.timeout` and its shell is
    /// closed; the next call starts a new one.
    public func runInShell(_ script: String, timeout: Duration? = nil) async throws -> SSHExecResult {
        let cancel = CancelFlag()
        return try await withTaskCancellationHandler {
            try await run("running a script") { connection in
                try connection.runInShell(script, timeout: timeout, cancel: cancel)
            }
        } onCancel: {
            cancel.set()
        }
    }

    /// SFTP upload to a temporary file in the same directory, then chmod/chown and an atomic rename over `path`.
    /// `mode` is the permission bits (e.g. `0o644`); `owner`/`group` are names (or numeric ids) set with chown.
    public func upload(_ data: [UInt8], to path: String, mode: UInt32, owner: String? = nil, group: String? = nil) async throws {
        try await run("uploading \(path)") { connection in
            try connection.upload(data, to: path, mode: mode, owner: owner, group: group)
        }
    }

    /// Disconnects and stops the session's thread. Later calls fail with `ssh.closed`. Safe to call twice.
    public func close() async {
        _ = try? await thread.perform(closedError: Self.closed(target, "closing")) { thread in
            thread.connection?.disconnect()
            thread.connection = nil
            thread.isOpen = false
            thread.stopAfterQueue()
        }
    }

    deinit { thread.shutdown() }

    /// Runs `body` with the connection on the session thread; a connection failure closes the session.
    private func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let target = self.target
        return try await thread.perform(closedError: Self.closed(target, what)) { thread in
            guard let connection = thread.connection else { throw Self.closed(target, what) }
            defer {
                if connection.broken != nil {
                    thread.isOpen = false
                    thread.connection = nil
                    thread.stopAfterQueue()
                }
            }
            return try body(connection)
        }
    }

    private static func closed(_ target: SSHTarget, _ what: String) -> SSHError {
        SSHError("ssh.closed", "\(what) on \(target.endpoint) failed: the SSH session is closed; connect again", host: target.endpoint)
    }
}
