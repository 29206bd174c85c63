import Foundation
import OttoCore

/// Opens a state store from a `--state` URL.
public enum StateURL {
    /// The state used when none is given: `.otto/state.db` under the project root.
    public static let defaultPath = ".otto/state.db"

    /// The project's deployment ledger (DeployDB), shared by its environments: `.otto/deploydb.db` under the root.
    public static let deployLedgerPath = "sqlite:.otto/deploydb.db"

    /// The forms `open` accepts, for help texts and errors.
    public static let supportedForms = ["sqlite:PATH", "a plain file path", "postgres://USER@HOST:PORT/DATABASE"]

    /// Opens `url`: `sqlite:PATH` or a plain path (relative paths are relative to `root`), or
    /// `postgres://…` (`PostgresLocation`; `root` names the project when the URL does not); an empty `url` means
    /// `defaultPath`. Blocks (disk, network): call it from blocking code. Throws `OttoError` `state.url` for another
    /// scheme or a malformed URL, `state.connect` when a server cannot be reached, or `state.open` when the database
    /// cannot be opened.
    public static func open(_ url: String, root: String) throws -> any StateStore {
        if PostgresLocation.matches(url) {
            return try PostgresStateStore(PostgresLocation(url, root: root))
        }
        return try SQLiteStateStore(path: sqlitePath(url, root: root))
    }

    /// `url` as it may be shown: a PostgreSQL URL without its password.
    public static func display(_ url: String) -> String {
        PostgresLocation.matches(url) ? PostgresLocation.redacted(url) : url
    }

    /// The SQLite file `url` names, resolved against `root`.
    public static func sqlitePath(_ url: String, root: String) throws -> String {
        var path = url.trimmingCharacters(in: .whitespaces)
        if path.hasPrefix("sqlite://") {
            path.removeFirst("sqlite://".count)
        } else if path.hasPrefix("sqlite:") {
            path.removeFirst("sqlite:".count)
        } else if PostgresLocation.matches(path) {
            throw OttoError("state.url", "`\(PostgresLocation.redacted(path))` is a PostgreSQL state, not an SQLite file", causeText: nil)
        } else if let scheme = scheme(of: path) {
            throw OttoError("state.url", "unsupported state URL scheme `\(scheme):` in `\(url)`; supported: "
                            + supportedForms.joined(separator: ", "), causeText: nil)
        }
        if path.isEmpty { path = defaultPath }
        if path.hasPrefix("/") { return path }
        let base = root.isEmpty ? "." : root
        return (base as NSString).appendingPathComponent(path)
    }

    /// The scheme of `text` when it starts like `scheme:` (letters, digits, `+`, `-`, `.`, starting with a letter).
    static func scheme(of text: String) -> String? {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let candidate = text[..<colon]
        guard let first = candidate.first, first.isASCII, first.isLetter,
              candidate.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else {
            return nil
        }
        return String(candidate)
    }
}
