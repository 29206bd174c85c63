import Foundation

/// A fresh scratch directory under the system temp directory, for one test: removed by `cleanup()` or, at the
/// latest, when the value is released.
public final class TempDir: Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates `TMPDIR/PREFIX-UUID`.
    public init(prefix: String = "otto-test") throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { cleanup() }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `text` at `relative` (creating folders) and returns the full path.
    @discardableResult
    public func write(_ relative: String, _ text: String) -> String {
        write(relative, bytes: Array(text.utf8))
    }

    /// Writes raw bytes at `relative` (creating folders) and returns the full path.
    @discardableResult
    public func write(_ relative: String, bytes: [UInt8]) -> String {
        let full = file(relative)
        try? FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: full, contents: Data(bytes))
        return full
    }

    /// Removes the directory and everything in it (again: nothing).
    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
