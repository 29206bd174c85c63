import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a file, held across awaits and released by `release()` or deinit.
/// Serializes image builds and address allocation between tasks and between otto processes.
final class LocalFileLock: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Waits (on a dedicated thread) until the lock on `path` is held.
    static func acquire(_ path: String) async throws -> LocalFileLock {
        try await LocalCommand.offPool {
            let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw OttoError("provider.local.lock", "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
            while flock(fd, LOCK_EX) != 0 {
                if errno != EINTR {
                    let e = String(cString: strerror(errno))
                    close(fd)
                    throw OttoError("provider.local.lock", "cannot lock \(path): \(e)")
                }
            }
            return LocalFileLock(fd: fd)
        }
    }

    deinit { close(fd) } // closing the descriptor releases the flock
}
