import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

/// Writes into a guest root file system from the host without ever following a symlink out of it.
struct LocalRootFS {
    /// The root directory (a debootstrap tree or a mounted overlay).
    var root: String

    /// Writes `text` at the absolute guest `path` with `mode`; every directory on the way must be a real
    /// directory (created 0755 when missing) and an existing symlink at `path` is replaced.
    func write(_ path: String, _ text: String, mode: Int = 0o644) throws {
        let dir = try directory((path as NSString).deletingLastPathComponent)
        let target = dir + "/" + (path as NSString).lastPathComponent
        var st = stat()
        if lstat(target, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK { unlink(target) }
        try LocalHost.write(text, to: target, mode: mode)
        chmod(target, mode_t(mode)) // createFile applies the umask
    }

    /// The text of the guest file at `path`, nil when it is missing, not a regular file (a symlink is not followed)
    /// or below something that is not a real directory.
    func read(_ path: String) -> String? {
        var current = root
        let parts = path.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            guard part != "..", part != "." else { return nil }
            current += "/" + part
            var st = stat()
            guard lstat(current, &st) == 0 else { return nil }
            let wanted = i == parts.count - 1 ? S_IFREG : S_IFDIR
            guard (st.st_mode & S_IFMT) == wanted else { return nil }
        }
        return (try? String(contentsOfFile: current, encoding: .utf8))
    }

    /// Removes the guest file at `path` when present (never through a symlinked directory).
    func remove(_ path: String) throws {
        let dir = try directory((path as NSString).deletingLastPathComponent)
        let target = dir + "/" + (path as NSString).lastPathComponent
        var st = stat()
        if lstat(target, &st) == 0 { unlink(target) }
    }

    /// The host path of guest directory `path`, created (0755, or `mode` for the last component) when missing;
    /// throws when a component is a symlink or not a directory.
    @discardableResult
    func directory(_ path: String, mode: Int = 0o755) throws -> String {
        var current = root
        let parts = path.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            guard part != "..", part != "." else { throw OttoError("provider.local.path", "invalid guest path \(path)") }
            current += "/" + part
            var st = stat()
            if lstat(current, &st) != 0 {
                guard mkdir(current, mode_t(i == parts.count - 1 ? mode : 0o755)) == 0 || errno == EEXIST else {
                    throw OttoError("provider.local.path", "cannot create \(current): \(String(cString: strerror(errno)))")
                }
                continue
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw OttoError("provider.local.path", "\(current) is not a directory (a symlink or file): refusing to write through it")
            }
        }
        return current
    }

    /// Unmounts everything mounted below the root (deepest first); a no-op when nothing is.
    func unmountAll(includingRoot: Bool = false) async throws {
        let points = LocalHost.mountPoints().filter { $0.hasPrefix(root + "/") || (includingRoot && $0 == root) }
        for p in points.sorted(by: { $0.count > $1.count }) {
            try await LocalCommand.run(["umount", p])
        }
    }

    /// Environment of commands run in a chroot.
    static let chrootEnvironment = ["PATH": LocalCommand.defaultPath, "DEBIAN_FRONTEND": "noninteractive",
                                    "LC_ALL": "C", "HOME": "/root", "TERM": "dumb"]

    /// Removes a directory tree that may hold mounts: refuses while anything is still mounted below it.
    static func removeTree(_ path: String) throws {
        if LocalHost.mountPoints().contains(where: { $0 == path || $0.hasPrefix(path + "/") }) {
            throw OttoError("provider.local.remove", "refusing to remove \(path): something is still mounted below it")
        }
        try LocalHost.remove(path)
    }
}
