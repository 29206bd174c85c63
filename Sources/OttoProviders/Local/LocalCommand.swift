import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs host commands (ip, mount, debootstrap, chroot, ssh-keygen, ...) as argv, never through a shell string,
/// each on its own dedicated thread so the cooperative pool never blocks.
enum LocalCommand {
    /// The result of a finished command.
    struct Output: Sendable {
        /// Exit status (or 128 + signal).
        var status: Int32
        /// stdout and stderr, interleaved.
        var text: String
    }

    /// Runs `argv` and returns its output; throws when it exits non-zero (unless `check` is false).
    ///
    /// `log`, when set, receives the output instead (appended), for long chatty tools like debootstrap.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String]? = nil, log: String? = nil,
                    check: Bool = true) async throws -> Output {
        let out = try await offPool { try runBlocking(argv, environment: environment, log: log) }
        if check && out.status != 0 {
            var tail = out.text.count > 2000 ? "…" + String(out.text.suffix(2000)) : out.text
            if let log { tail += (tail.isEmpty ? "" : "\n") + "(full output in \(log))" }
            throw OttoError("provider.local.command",
                            "`\(argv.joined(separator: " "))` failed with status \(out.status)",
                            causeText: tail.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return out
    }

    /// Runs `body` on a new dedicated thread and resumes with its result.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let thread = Thread {
                do { c.resume(returning: try body()) } catch { c.resume(throwing: error) }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// The blocking part of `run`: spawn, read output to EOF, wait.
    static func runBlocking(_ argv: [String], environment: [String: String]? = nil, log: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(argv[0]))
        process.arguments = Array(argv.dropFirst())
        var env = environment ?? ProcessInfo.processInfo.environment
        if env["PATH"] == nil { env["PATH"] = defaultPath }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        if let log {
            if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
            guard let handle = FileHandle(forWritingAtPath: log) else {
                throw OttoError("provider.local.command", "cannot write the log file \(log)")
            }
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            do { try process.run() } catch {
                throw OttoError("provider.local.command", "cannot run \(argv[0])", cause: error)
            }
            process.waitUntilExit()
            try? handle.close()
            return Output(status: process.terminationStatus, text: "")
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            throw OttoError("provider.local.command", "cannot run \(argv[0])", cause: error)
        }
        try? pipe.fileHandleForWriting.close()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, text: String(decoding: data, as: UTF8.self))
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
    /// otto), stdin /dev/null, stdout and stderr appended to `log`. Descriptors without close-on-exec are inherited:
    /// the daemon must close what it does not need first (the supervisor script does).
    ///
    /// Not Foundation's `Process`: it detects a child's exit through a socket the child inherits, which a daemon
    /// would keep open forever.
    static func spawnDaemon(_ argv: [String], log: String) async throws {
        let setsid = try resolve("setsid")
        try await offPool {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_APPEND | O_CREAT, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            let args = [setsid, "--fork"] + argv
            var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { for p in cArgs { free(p) } }
            let envText: [String] = ["PATH=\(defaultPath)", "LC_ALL=C"]
            var env: [UnsafeMutablePointer<CChar>?] = envText.map { strdup($0) } + [nil]
            defer { for p in env { free(p) } }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, setsid, &actions, nil, &cArgs, &env)
            guard rc == 0 else {
                throw OttoError("provider.local.command", "cannot start \(argv.first ?? "?"): \(String(cString: strerror(rc)))")
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // setsid --fork exits at once; its child carries on as the daemon
        }
    }
}
