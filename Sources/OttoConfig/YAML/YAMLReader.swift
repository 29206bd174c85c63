#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OttoCore

/// Reads YAML files into ``YAMLNode`` trees (one per document), with positions, anchors, aliases and `<<` merges
/// resolved, duplicate keys rejected and ``YAMLLimits`` enforced.
///
/// Every problem is reported as a ``Diagnostic`` at `file:line:col`; the calls are synchronous and CPU-bound, so
/// callers that live on the cooperative pool should run them on their own thread.
public enum YAMLReader {
    /// Reads and parses the file at `path`; diagnostics name it `displayPath`.
    public static func parse(contentsOf path: String, displayPath: String,
                             limits: YAMLLimits = .default) throws(DiagnosticsError) -> [YAMLNode] {
        let bytes = try readFile(path, displayPath: displayPath, limits: limits)
        return try parse(bytes: bytes, displayPath: displayPath, limits: limits)
    }

    /// Parses YAML text.
    public static func parse(_ text: String, displayPath: String,
                             limits: YAMLLimits = .default) throws(DiagnosticsError) -> [YAMLNode] {
        try parse(bytes: Array(text.utf8), displayPath: displayPath, limits: limits)
    }

    /// Parses raw bytes, which must be UTF-8 text.
    public static func parse(bytes: [UInt8], displayPath: String,
                             limits: YAMLLimits = .default) throws(DiagnosticsError) -> [YAMLNode] {
        if bytes.count > limits.maxFileSize {
            throw DiagnosticsError([Diagnostic(at: SourceLocation(file: displayPath, line: 1, column: 1),
                "file is \(bytes.count) bytes, more than the limit of \(limits.maxFileSize) bytes")])
        }
        if let problem = TextCheck.firstProblem(in: bytes) {
            let location = SourceLocation(file: displayPath, line: problem.line, column: problem.column)
            let message = problem.isNUL
                ? "looks like a binary file (NUL byte at byte \(problem.offset)), not YAML text"
                : "not valid UTF-8 text at byte \(problem.offset)"
            throw DiagnosticsError([Diagnostic(at: location, message)])
        }
        let parser = LibYAMLParser(bytes: bytes, displayPath: displayPath, limits: limits)
        return try parser.run()
    }

    /// Reads a whole file, refusing anything larger than the limit before reading it.
    static func readFile(_ path: String, displayPath: String, limits: YAMLLimits) throws(DiagnosticsError) -> [UInt8] {
        func fail(_ message: String) -> DiagnosticsError {
            DiagnosticsError([Diagnostic(at: SourceLocation(file: displayPath, line: 1, column: 1), message)])
        }
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw fail("cannot open file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw fail("cannot read file: \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        if size > limits.maxFileSize {
            throw fail("file is \(size) bytes, more than the limit of \(limits.maxFileSize) bytes")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        var failure: Int32 = 0
        bytes.withUnsafeMutableBytes { buffer in
            while filled < size {
                let n = read(fd, buffer.baseAddress! + filled, size - filled)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                if n == 0 { break }
                filled += n
            }
        }
        if failure != 0 { throw fail("cannot read file: \(String(cString: strerror(failure)))") }
        if filled < size { bytes.removeLast(size - filled) }
        return bytes
    }
}

/// Finds the first NUL byte or invalid UTF-8 sequence, with its line and column.
enum TextCheck {
    struct Problem { var offset: Int; var line: Int; var column: Int; var isNUL: Bool }

    static func firstProblem(in bytes: [UInt8]) -> Problem? {
        bytes.withUnsafeBufferPointer { b -> Problem? in
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                if c < 0x80 {
                    if c == 0 { return problem(b, at: i, nul: true) }
                    i += 1
                    continue
                }
                var need = 0
                var minimum: UInt32 = 0
                var scalar: UInt32 = 0
                switch c {
                case 0xC2...0xDF: need = 1; scalar = UInt32(c & 0x1F); minimum = 0x80
                case 0xE0...0xEF: need = 2; scalar = UInt32(c & 0x0F); minimum = 0x800
                case 0xF0...0xF4: need = 3; scalar = UInt32(c & 0x07); minimum = 0x10000
                default: return problem(b, at: i, nul: false)
                }
                if i + need >= n { return problem(b, at: i, nul: false) }
                for k in 1...need {
                    let cc = b[i + k]
                    if cc & 0xC0 != 0x80 { return problem(b, at: i, nul: false) }
                    scalar = scalar << 6 | UInt32(cc & 0x3F)
                }
                if scalar < minimum || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) {
                    return problem(b, at: i, nul: false)
                }
                i += need + 1
            }
            return nil
        }
    }

    private static func problem(_ b: UnsafeBufferPointer<UInt8>, at offset: Int, nul: Bool) -> Problem {
        var line = 1
        var column = 1
        var i = 0
        while i < offset {
            let c = b[i]
            if c == 0x0A { line += 1; column = 1 } else if c & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return Problem(offset: offset, line: line, column: column, isNUL: nul)
    }
}
