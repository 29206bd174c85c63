import Foundation
import OttoCore
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs host commands (ip, mount, debootstrap, chroot, ssh-keygen, ...) as argv, never through a shell string,
/// through swift-subprocess: the child's exit and its output are awaited (pidfd and epoll on swift-subprocess's own
/// monitor thread), so the cooperative pool never blocks.
enum LocalCommand {
    /// The result of a finished command.
    struct Output: Sendable {
        /// Exit status (or 128 + signal).
        var status: Int32
        /// stdout and stderr, interleaved.
        var text: String
    }

    /// The most output `run` collects from one command (tools this chatty write to a `log` instead).
    static let outputLimit = 16 << 20

    /// Runs `argv` and returns its output; throws when it exits non-zero (unless `check` is false).
    ///
    /// `log`, when set, receives the output instead (appended), for long chatty tools like debootstrap.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String]? = nil, log: String? = nil,
                    check: Bool = true) async throws -> Output {
        let executable = Executable.path(FilePath(try resolve(argv[0])))
        let arguments = Arguments(Array(argv.dropFirst()))
        var env = environment ?? ProcessInfo.processInfo.environment
        if env["PATH"] == nil { env["PATH"] = defaultPath }
        let childEnvironment = Environment.custom(subprocessEnvironment(env))
        let out: Output
        do {
            if let log {
                let file = try openLog(log)
                let result = try await Subprocess.run(executable, arguments: arguments, environment: childEnvironment,
                                                      input: .none, output: .fileDescriptor(file, closeAfterSpawningProcess: true),
                                                      error: .combinedWithOutput)
                out = Output(status: exitStatus(result.terminationStatus), text: "")
            } else {
                let result = try await Subprocess.run(executable, arguments: arguments, environment: childEnvironment,
                                                      input: .none, output: .bytes(limit: outputLimit),
                                                      error: .combinedWithOutput)
                out = Output(status: exitStatus(result.terminationStatus),
                             text: String(decoding: result.standardOutput, as: UTF8.self))
            }
        } catch let error as OttoError {
            throw error
        } catch {
            throw OttoError("provider.local.command", "cannot run \(argv[0])", cause: error)
        }
        if check && out.status != 0 {
            var tail = out.text.count > 2000 ? "…" + String(out.text.suffix(2000)) : out.text
            if let log { tail += (tail.isEmpty ? "" : "\n") + "(full output in \(log))" }
            throw OttoError("provider.local.command",
                            "`\(argv.joined(separator: " "))` failed with status \(out.status)",
                            causeText: tail.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return out
    }

    /// Runs `body` (a blocking call that is not a child process: a file lock, a socket probe) on a new dedicated
    /// thread and resumes with its result.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// PATH used when the environment has none.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The absolute path of `tool` (searched in the default PATH when not absolute).
    static func resolve(_ tool: String) throws -> String {
        if tool.hasPrefix("/") { return tool }
        for dir in defaultPath.split(separator: ":") {
            let path = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw OttoError("provider.local.tool", "`\(tool)` is not installed: the local provider needs the Debian packages systemd-container, debootstrap, iproute2 and openssh-client")
    }

    /// Starts `argv` as a daemon that outlives otto: through `setsid --fork` (own session, reparented away from
    /// otto), stdin /dev/null, stdout and stderr appended to `log`. `setsid --fork` exits at once and is what is
    /// awaited; its child carries on as the daemon. swift-subprocess watches the exit of the process it started
    /// (a pidfd), not a descriptor the daemon inherits, so the daemon keeps nothing of otto's open.
    static func spawnDaemon(_ argv: [String], log: String) async throws {
        let setsid = try resolve("setsid")
        let environment: [String: String] = ["PATH": defaultPath, "LC_ALL": "C"]
        let file = try openLog(log)
        do {
            _ = try await Subprocess.run(.path(FilePath(setsid)), arguments: Arguments(["--fork"] + argv),
                                         environment: .custom(subprocessEnvironment(environment)), input: .none,
                                         output: .fileDescriptor(file, closeAfterSpawningProcess: true),
                                         error: .combinedWithOutput)
        } catch {
            throw OttoError("provider.local.command", "cannot start \(argv.first ?? "?")", cause: error)
        }
    }

    /// `log` opened for appending (created with mode 0600 when missing).
    private static func openLog(_ log: String) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(FilePath(log), .writeOnly, options: [.append, .create, .closeOnExec],
                                           permissions: [.ownerReadWrite])
        } catch {
            throw OttoError("provider.local.command", "cannot write the log file \(log)", cause: error)
        }
    }

    /// An environment as swift-subprocess takes it.
    private static func subprocessEnvironment(_ environment: [String: String]) -> [Environment.Key: String] {
        var out: [Environment.Key: String] = [:]
        for (key, value) in environment { if let key = Environment.Key(rawValue: key) { out[key] = value } }
        return out
    }

    /// Exit status, or 128 + the signal that ended the process (as a shell reports it).
    private static func exitStatus(_ status: TerminationStatus) -> Int32 {
        switch status {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }
}
