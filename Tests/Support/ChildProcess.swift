import Foundation
import Subprocess
import Synchronization
#if canImport(System)
import System
#else
import SystemPackage
#endif

// Child processes of tests, through swift-subprocess: it spawns with an empty signal mask and default handlers, and
// waits for a child's exit and its output with a pidfd and epoll on its own monitor thread, so no wait blocks the
// cooperative pool.

/// The outcome of a finished process.
public struct ProcessResult: Sendable {
    /// Exit status (or 128 + the signal that ended it).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// The most output `runProcess` collects from one stream.
private let outputLimit = 64 << 20

/// Runs `argv` (the first element looked up in PATH unless it is a path), feeding `input` on standard input (or
/// /dev/null), in `environment` (default: this process's), and returns its status and output once it has exited.
@discardableResult
public func runProcess(_ argv: [String], input: String? = nil, environment: [String: String]? = nil) async throws -> ProcessResult {
    precondition(!argv.isEmpty, "runProcess needs a program")
    let executable = subprocessExecutable(argv[0])
    let arguments = Arguments(Array(argv.dropFirst()))
    let env = subprocessEnvironment(environment)
    if let input {
        let result = try await run(executable, arguments: arguments, environment: env, input: .string(input),
                                   output: .bytes(limit: outputLimit), error: .bytes(limit: outputLimit))
        return ProcessResult(status: terminationCode(result.terminationStatus),
                             stdout: String(decoding: result.standardOutput, as: UTF8.self),
                             stderr: String(decoding: result.standardError, as: UTF8.self))
    }
    let result = try await run(executable, arguments: arguments, environment: env, input: .none,
                               output: .bytes(limit: outputLimit), error: .bytes(limit: outputLimit))
    return ProcessResult(status: terminationCode(result.terminationStatus),
                         stdout: String(decoding: result.standardOutput, as: UTF8.self),
                         stderr: String(decoding: result.standardError, as: UTF8.self))
}

/// A long-running child (sshd, pdns_server, nginx, moto_server, `otto serve`, an `otto apply` to interrupt): started
/// now, stopped later by PID.
///
/// swift-subprocess runs a child inside a closure and returns once it has exited; a server outlives the call that
/// starts it, so that call runs in a task of its own, which hands the PID back at once and finishes when the child
/// exits (swift-subprocess reaps it: never `waitpid` a ChildProcess yourself). stdin is /dev/null; stdout and stderr
/// go to a log file (appended) or are discarded; `waitForLog` waits for what the child writes there.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t
    /// The file its standard output (and error, unless discarded) is appended to, if any.
    public let logPath: String?
    private let exit: Task<Int32, Never>
    private let exitStatus: ExitStatus

    /// The child's status once it has exited (set by the task that runs it).
    private final class ExitStatus: Sendable {
        let value = Mutex<Int32?>(nil)
    }

    private init(pid: pid_t, logPath: String?, exit: Task<Int32, Never>, exitStatus: ExitStatus) {
        self.pid = pid
        self.logPath = logPath
        self.exit = exit
        self.exitStatus = exitStatus
    }

    /// Starts `argv` (the first element looked up in PATH unless it is a path) in `environment` (default: this
    /// process's), with standard output and error appended to `logPath` (nil: discarded; `discardingErrors`: only
    /// standard output goes there, standard error is discarded).
    public static func start(_ argv: [String], logPath: String? = nil, environment: [String: String]? = nil,
                             discardingErrors: Bool = false) async throws -> ChildProcess {
        precondition(!argv.isEmpty, "ChildProcess needs a program")
        let executable = subprocessExecutable(argv[0])
        let arguments = Arguments(Array(argv.dropFirst()))
        let env = subprocessEnvironment(environment)
        let log: FileDescriptor?
        if let logPath {
            log = try FileDescriptor.open(FilePath(logPath), .writeOnly, options: [.append, .create, .closeOnExec],
                                          permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } else {
            log = nil
        }
        let status = ExitStatus()
        let (started, announce) = AsyncStream<Result<pid_t, SpawnError>>.makeStream()
        let exit = Task<Int32, Never> {
            let code: Int32
            do {
                let termination: TerminationStatus
                if let log, discardingErrors {
                    termination = try await run(executable, arguments: arguments, environment: env, input: .none,
                                                output: .fileDescriptor(log, closeAfterSpawningProcess: true),
                                                error: .discarded) { execution in
                        announce.yield(.success(execution.processIdentifier.value))
                    }.terminationStatus
                } else if let log {
                    termination = try await run(executable, arguments: arguments, environment: env, input: .none,
                                                output: .fileDescriptor(log, closeAfterSpawningProcess: true),
                                                error: .combinedWithOutput) { execution in
                        announce.yield(.success(execution.processIdentifier.value))
                    }.terminationStatus
                } else {
                    termination = try await run(executable, arguments: arguments, environment: env, input: .none,
                                                output: .discarded, error: .discarded) { execution in
                        announce.yield(.success(execution.processIdentifier.value))
                    }.terminationStatus
                }
                code = terminationCode(termination)
            } catch {
                announce.yield(.failure(SpawnError("cannot start \(argv[0]): \(error)")))
                code = -1
            }
            announce.finish()
            status.value.withLock { $0 = code }
            return code
        }
        var announcements = started.makeAsyncIterator()
        guard let first = await announcements.next() else { throw SpawnError("cannot start \(argv[0])") }
        return ChildProcess(pid: try first.get(), logPath: logPath, exit: exit, exitStatus: status)
    }

    /// Whether the child is still running.
    public var isRunning: Bool { exitStatus.value.withLock { $0 == nil } }

    /// Sends `signal` to the child, unless it has already exited.
    public func kill(_ signal: Int32 = SIGKILL) {
        if isRunning { signalProcess(pid, signal) }
    }

    /// Waits (without blocking a thread) until the child has exited; returns its status (or 128 + the signal that
    /// ended it; -1 when it could not be watched).
    @discardableResult
    public func waitForExit() async -> Int32 { await exit.value }

    /// What the child has written to its log so far ("" without a log, or before it wrote anything).
    public func log() -> String {
        guard let logPath, let data = FileManager.default.contents(atPath: logPath) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Polls the log (every 10 ms, without blocking a thread) until `done` holds for its text, the child has exited,
    /// or `timeout` has passed; returns the text it last read, which the caller checks.
    @discardableResult
    public func waitForLog(timeout: Duration = .seconds(30), until done: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let running = isRunning
            let text = log()
            if done(text) || !running || ContinuousClock.now >= deadline { return text }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A helper process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}

/// `kill(2)`, under a name the `ChildProcess.kill` method does not shadow.
private func signalProcess(_ pid: pid_t, _ signal: Int32) { _ = kill(pid, signal) }

private func subprocessExecutable(_ program: String) -> Executable {
    program.contains("/") ? .path(FilePath(program)) : .name(program)
}

private func subprocessEnvironment(_ environment: [String: String]?) -> Environment {
    guard let environment else { return .inherit }
    var out: [Environment.Key: String] = [:]
    for (key, value) in environment { if let key = Environment.Key(rawValue: key) { out[key] = value } }
    return .custom(out)
}

/// Exit status, or 128 + the signal that ended the process (as a shell reports it).
private func terminationCode(_ status: TerminationStatus) -> Int32 {
    switch status {
    case .exited(let code): return code
    case .signaled(let signal): return 128 + signal
    }
}

/// Every process below `pid` (children, their children, ...), read from /proc: what a server forked (sshd's
/// connections, haproxy's workers), to kill by PID.
public func processDescendants(of pid: Int32) -> [Int32] {
    var children: [Int32: [Int32]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let child = Int32(entry),
              let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(child) }
    }
    var result: [Int32] = []
    var queue = [pid]
    while let next = queue.popLast() {
        for child in children[next] ?? [] {
            result.append(child)
            queue.append(child)
        }
    }
    return result
}
