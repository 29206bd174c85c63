/// Quoting for POSIX shells.
public enum ShellQuote {
    /// `s` in single quotes, each `'` written as `'\''`: `it's` becomes `'it'\''s'`. The result is one word
    /// that the shell takes literally (no expansion of `$`, backticks, globs or newlines).
    public static func quote(_ s: String) -> String {
        "'" + s.replacing("'", with: "'\\''") + "'"
    }
}
