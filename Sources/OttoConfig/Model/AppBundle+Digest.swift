import Crypto
import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

extension AppBundle {
    /// The sha256 (64 lowercase hex digits) that identifies the bundle, the `digest` of its releases:
    /// - a URL: the `sha256` written beside it (the download is checked against it);
    /// - a `.tar.gz` / `.tgz` file: the sha256 of the file, as `sha256sum FILE` prints it;
    /// - a directory: the sha256 of its manifest (``directoryManifest(_:)``): one line per entry below the directory,
    ///   sorted by relative path (UTF-8 bytes), so the digest changes exactly when a path, a permission mode, a file's
    ///   content or a link's target changes (not with times or owners).
    ///
    /// Relative paths are under `root`, the project root. Blocks on disk: call it off the cooperative pool. Throws
    /// `OttoError` `app.bundle` when the bundle cannot be read.
    public func digest(root: String) throws -> String {
        switch self {
        case .url(_, let sha256): return sha256
        case .archive(let path): return try Self.fileDigest(Self.resolve(path, root: root))
        case .directory(let path):
            return Self.hex(SHA256.hash(data: Array(try Self.directoryManifest(Self.resolve(path, root: root)).utf8)))
        }
    }

    static func resolve(_ path: String, root: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }

    /// The manifest a directory bundle's digest is the sha256 of. One line per entry (the directory itself excluded),
    /// sorted by relative path (UTF-8 byte order), `/` between path components, modes as four octal digits of the
    /// permission bits:
    /// ```
    /// dir 0755 hooks
    /// file 0755 <sha256 of the content> hooks/before-start
    /// link <sha256 of the link's target text> current
    /// file 0644 <sha256 of the content> server.py
    /// ```
    /// A path or link target holding a newline, and anything but directories, regular files and symbolic links
    /// (sockets, devices, fifos), is refused.
    public static func directoryManifest(_ directory: String) throws -> String {
        var lines: [(path: [UInt8], line: String)] = []
        func walk(_ relative: String) throws {
            let dir = relative.isEmpty ? directory : directory + "/" + relative
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                throw OttoError("app.bundle", "cannot list the bundle directory \(dir)", cause: error)
            }
            for name in names {
                let rel = relative.isEmpty ? name : relative + "/" + name
                let full = directory + "/" + rel
                guard !rel.contains("\n") else { throw OttoError("app.bundle", "bundle path \(full) holds a newline: rename it") }
                var st = stat()
                guard lstat(full, &st) == 0 else {
                    throw OttoError("app.bundle", "cannot read \(full) in the bundle: \(String(cString: strerror(errno)))")
                }
                let mode = String(format: "%04o", Int(st.st_mode) & 0o7777)
                // S_IFMT and its types, as octal constants (POSIX fixes their values)
                switch Int(st.st_mode) & 0o170000 {
                case 0o040000:
                    lines.append((Array(rel.utf8), "dir \(mode) \(rel)\n"))
                    try walk(rel)
                case 0o100000:
                    lines.append((Array(rel.utf8), "file \(mode) \(try fileDigest(full)) \(rel)\n"))
                case 0o120000:
                    let target: String
                    do { target = try FileManager.default.destinationOfSymbolicLink(atPath: full) } catch {
                        throw OttoError("app.bundle", "cannot read the link \(full) in the bundle", cause: error)
                    }
                    lines.append((Array(rel.utf8), "link \(hex(SHA256.hash(data: Array(target.utf8)))) \(rel)\n"))
                default:
                    throw OttoError("app.bundle", "\(full) in the bundle is neither a file, a directory nor a symbolic link")
                }
            }
        }
        try walk("")
        lines.sort { $0.path.lexicographicallyPrecedes($1.path) }
        return lines.map(\.line).joined()
    }

    /// The sha256 of a file's bytes, read in 1 MiB pieces.
    static func fileDigest(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw OttoError("app.bundle", "cannot open \(path) to compute the bundle's digest")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch {
            throw OttoError("app.bundle", "cannot read \(path) to compute the bundle's digest", cause: error)
        }
        return hex(hasher.finalize())
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
