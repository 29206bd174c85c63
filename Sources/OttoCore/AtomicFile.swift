import Foundation

/// Files written whole or not at all: the bytes go to a temporary file beside the target, created with the final
/// mode (never readable by others in between), which is then renamed over it.
public enum AtomicFile {
    /// Writes `bytes` to `path` with `mode`; a failure throws `OttoError(code)` naming the file and leaves any file
    /// already there as it was. Blocks on disk.
    public static func write(_ bytes: some DataProtocol, to path: String, mode: Int, code: String) throws {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes), attributes: [.posixPermissions: mode]) else {
            throw OttoError(code, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw OttoError(code, "cannot write \(path): \(reason)")
        }
    }
}
