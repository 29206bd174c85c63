/// Quoting for POSIX shells.
public enum ShellQuote {
    /// `s` in single quotes, each `'` written as `'\''`: `it's` becomes `'it'\''s'`. The result is one word
    /// that the shell takes literally (no expansion of `$`, backticks, globs or newlines).
    public static func quote(_ s: String) -> String {
        // Most values have no quote: no search-and-replace then (the host probe quotes every path on every pass).
        s.utf8.contains(UInt8(ascii: "'")) ? "'" + s.replacing("'", with: "'\\''") + "'" : "'" + s + "'"
    }
}
