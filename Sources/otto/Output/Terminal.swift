import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where output goes and how it looks: live progress on a terminal, plain lines otherwise.
enum Terminal {
    static let stdoutIsTTY = isatty(STDOUT_FILENO) == 1
    static let stdinIsTTY = isatty(STDIN_FILENO) == 1
    static let color = stdoutIsTTY && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    /// Writes to stdout without buffering surprises.
    static func out(_ text: String) {
        // The text's own bytes, not a copy (a 100k plan is tens of megabytes).
        var text = text
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
            FileHandle.standardOutput.write(Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: bytes.count,
                                                 deallocator: .none))
        }
    }

    /// Writes to stderr.
    static func err(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Asks a yes/no question on the terminal; only `yes` counts.
    static func confirm(_ question: String) -> Bool {
        out(question + "\n  Only 'yes' will be accepted: ")
        guard let answer = readLine() else { return false }
        return answer.trimmingCharacters(in: .whitespaces) == "yes"
    }
}
