import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on one file. The kernel holds it for the open file description, so it ends when `unlock()`
/// is called, when this object is released, or when the process ends in any way (SIGKILL included): a lock that
/// outlives its holder cannot exist. Two opens of the same file, even in one process, exclude each other.
final class FileLock: Sendable {
    /// The locked file.
    let path: String
    private let descriptor: Mutex<Int32>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { unlock() }

    /// Takes the lock without waiting: nil when another open file description holds it.
    static func tryLock(_ path: String) throws -> FileLock? {
        try acquire(path, wait: false)
    }

    /// Takes the lock, waiting for the holder as long as it takes. Blocks the calling thread: keep it off the
    /// cooperative pool.
    static func lock(_ path: String) throws -> FileLock {
        try acquire(path, wait: true)!
    }

    private static func acquire(_ path: String, wait: Bool) throws -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw FileLockError(path: path, operation: "open", errno: code)
        }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw FileLockError(path: path, operation: "flock", errno: code)
        }
        return FileLock(path: path, descriptor: fd)
    }

    /// Releases the lock, then closes the file. Calling it again does nothing.
    ///
    /// The explicit `LOCK_UN` matters: a child process forked by any thread of this process (a test's `sqlite3`, an
    /// `ssh`) shares the open file description from `fork` until its `exec` closes the descriptor (`O_CLOEXEC`); a bare
    /// `close` would leave the lock held through that window, so a lock given back could still be refused to the next
    /// taker. `LOCK_UN` releases it on the description itself, whoever else holds a copy.
    func unlock() {
        descriptor.withLock { fd in
            guard fd >= 0 else { return }
            _ = flock(fd, LOCK_UN)
            close(fd)
            fd = -1
        }
    }
}

/// A lock file could not be opened or locked.
struct FileLockError: Error, CustomStringConvertible {
    let path: String
    let operation: String
    let errno: Int32
    var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}
