import Foundation
import Synchronization

// posix_spawn + waitpid on the child's own pid, with an empty signal mask and default handlers in the child.
// Foundation's Process can miss child exits when many tests launch processes from several threads at once
// (waitUntilExit then never returns), and children it starts from pool threads inherit a mask that blocks
// SIGTERM and SIGCHLD; these helpers avoid both.

/// Runs `argv` (the first element looked up in PATH), feeding `input` on stdin (or /dev/null), collects stdout and
/// stderr and waits for it. Blocks the calling thread.
public func spawnAndWait(_ argv: [String], input: String? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    var out: [Int32] = [0, 0], err: [Int32] = [0, 0], inp: [Int32] = [-1, -1]
    guard makePipe(&out), makePipe(&err), input == nil || makePipe(&inp) else {
        throw SpawnError("pipe failed: \(String(cString: strerror(errno)))")
    }
    let pid: pid_t
    do {
        pid = try spawn(argv, environment: environment) { actions in
            if input != nil { posix_spawn_file_actions_adddup2(&actions, inp[0], 0) } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)
            posix_spawn_file_actions_adddup2(&actions, err[1], 2)
            for fd in out + err + inp where fd >= 0 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    } catch {
        for fd in out + err + inp where fd >= 0 { close(fd) }
        throw error
    }
    if let input {
        // Written from its own thread so a child that prints while it reads cannot deadlock us; a child that exits
        // early makes the write fail with EPIPE (SIGPIPE is ignored), not kill the test.
        close(inp[0])
        signal(SIGPIPE, SIG_IGN)
        let fd = inp[1]
        let bytes = Array(input.utf8)
        Thread {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
            close(fd)
        }.start()
    }
    close(out[1])
    close(err[1])
    var collected: [Int32: [UInt8]] = [out[0]: [], err[0]: []]
    var open = [out[0], err[0]]
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !open.isEmpty {
        var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue } else { break } }
        for entry in fds where entry.revents != 0 {
            let n = read(entry.fd, &buffer, buffer.count)
            if n > 0 { collected[entry.fd]!.append(contentsOf: buffer[0..<n]) } else if n == 0 || errno != EINTR {
                open.removeAll { $0 == entry.fd }
                close(entry.fd)
            }
        }
    }
    let status = waitForExit(pid)
    return ProcessResult(status: status, stdout: String(decoding: collected[out[0]]!, as: UTF8.self),
                         stderr: String(decoding: collected[err[0]]!, as: UTF8.self))
}

/// Serializes pipe creation with spawning (see `makePipe`).
private let spawnLock = Mutex(())

/// A pipe whose ends are close-on-exec, so a child spawned at the same moment from another thread (say a
/// long-running server) does not inherit them and hold them open: the reader would never see EOF. The flag is set
/// under `spawnLock`, which every spawn takes too, so no child starts between `pipe` and `fcntl`. dup2 onto
/// 0/1/2 in our own child clears the flag there.
private func makePipe(_ fds: inout [Int32]) -> Bool {
    spawnLock.withLock { _ in
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }
}

/// Starts a long-running program with stdin from /dev/null and stdout and stderr appended to `logPath`, in
/// `environment` (default: this process's); returns its pid (reap it with `waitForExit`).
public func spawnDaemon(_ argv: [String], logPath: String, environment: [String: String]? = nil) throws -> pid_t {
    try spawn(argv, environment: environment) { actions in
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
}

/// Waits for `pid` and returns its exit status (or 128 + the signal that ended it).
@discardableResult
public func waitForExit(_ pid: pid_t) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        if errno != EINTR { return -1 }
    }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Whether `pid` (a child of this process) is still running; reaps it if it has ended.
public func isRunning(_ pid: pid_t) -> Bool {
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == 0
}

private func spawn(_ argv: [String], environment: [String: String]?,
                   _ files: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
    precondition(!argv.isEmpty, "spawn needs a program")
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    files(&actions)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigfillset(&defaults)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var pid: pid_t = 0
    let rc = spawnLock.withLock { _ in posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv) }
    guard rc == 0 else { throw SpawnError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// A helper process could not be started.
public struct SpawnError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    init(_ description: String) { self.description = description }
}
