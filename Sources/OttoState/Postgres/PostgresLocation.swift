import Foundation
import OttoCore

/// Where a PostgreSQL state lives, parsed from a `--state` URL:
/// `postgres://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE[?project=NAME&sslmode=disable|prefer|require&lock_session_timeout=10s&host=/socket/dir]`
/// (`postgresql://` too). A missing password is taken from `PGPASSWORD`; a missing user from `PGUSER`, else the
/// operating-system user.
///
/// Several projects share one database: each keeps its tables in a schema of its own, `otto_NAME`, where NAME is
/// `project=` or else the name of the project's directory (lower-cased, letters, digits and `_`).
///
/// The password never appears in `description`, errors or logs.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// TLS use, as libpq's `sslmode` names it (only the three forms otto supports).
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    /// Server host name or address (nil with `socketDirectory`).
    public var host: String?
    /// TCP port.
    public var port: Int
    /// A directory holding the server's Unix socket (`host=/run/postgresql`), instead of TCP.
    public var socketDirectory: String?
    /// The role to log in as.
    public var user: String
    /// The password, if any (never printed).
    public var password: String?
    /// The database.
    public var database: String
    /// The project's name in the database; its tables are in the schema `schema`.
    public var project: String
    /// TLS use.
    public var tls: TLSMode
    /// How long the server lets the lock connection stay idle before it ends the session (and so frees its locks):
    /// `idle_session_timeout`. The holder sends a heartbeat at a quarter of it.
    public var lockSessionTimeout: Duration

    /// The schema holding this project's tables.
    public var schema: String { "otto_" + project }

    /// The default `idle_session_timeout` of the lock connection.
    public static let defaultLockSessionTimeout: Duration = .seconds(10)

    /// True when `url` names a PostgreSQL state.
    public static func matches(_ url: String) -> Bool {
        let t = url.trimmingCharacters(in: .whitespaces)
        return t.hasPrefix("postgres://") || t.hasPrefix("postgresql://")
    }

    /// Parses `url`; `root` (the project directory) names the project when the URL does not. Throws `OttoError`
    /// `state.url` naming what is wrong (without the password).
    public init(_ url: String, root: String) throws {
        let text = url.trimmingCharacters(in: .whitespaces)
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw OttoError("state.url", "`\(Self.redacted(text))` is not a postgres://USER@HOST:PORT/DATABASE URL", causeText: nil)
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard let value = item.value else {
                throw OttoError("state.url", "the state URL's parameter `\(item.name)` has no value (write \(item.name)=VALUE)", causeText: nil)
            }
            query[item.name] = value
        }
        let known: Set<String> = ["project", "sslmode", "lock_session_timeout", "host", "user", "password"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw OttoError("state.url", "the state URL's parameter `\(unknown)` is not one otto knows; known: "
                            + known.sorted().joined(separator: ", "), causeText: nil)
        }
        let environment = ProcessInfo.processInfo.environment
        socketDirectory = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? query["host"].flatMap { $0.hasPrefix("/") ? nil : $0 }
        if host == nil && socketDirectory == nil { host = "localhost" }
        port = components.port ?? 5432
        user = components.user.flatMap { $0.isEmpty ? nil : $0 }?.removingPercentEncoding ?? query["user"]
            ?? environment["PGUSER"] ?? ProcessIdentity.user
        password = components.password?.removingPercentEncoding ?? query["password"] ?? environment["PGPASSWORD"]
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else {
            throw OttoError("state.url", "the state URL `\(Self.redacted(text))` names no database: write postgres://HOST/DATABASE",
                            causeText: nil)
        }
        database = path.removingPercentEncoding ?? path
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer
        case "require", "verify-ca", "verify-full": tls = .require
        case let other:
            throw OttoError("state.url", "sslmode=\(other) is not one of disable, prefer, require", causeText: nil)
        }
        if let text = query["lock_session_timeout"] {
            guard let seconds = Self.seconds(text), seconds >= 1 else {
                throw OttoError("state.url", "lock_session_timeout=\(text) is not a duration of at least 1 s (e.g. 10s, 1500ms)",
                                causeText: nil)
            }
            lockSessionTimeout = .milliseconds(Int64((seconds * 1000).rounded()))
        } else {
            lockSessionTimeout = Self.defaultLockSessionTimeout
        }
        let named = query["project"] ?? (root.isEmpty ? "." : root)
        let base = query["project"] != nil ? named
            : ((named as NSString).standardizingPath as NSString).lastPathComponent
        project = try Self.projectName(base == "." || base == "/" || base.isEmpty
                                       ? (FileManager.default.currentDirectoryPath as NSString).lastPathComponent : base)
    }

    /// `name` as a schema suffix: lower-cased, every run of other characters as `_`, at most 50 characters.
    static func projectName(_ name: String) throws -> String {
        var out = ""
        for scalar in name.lowercased().unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else if !out.hasSuffix("_") {
                out += "_"
            }
        }
        let trimmed = String(out.trimmingCharacters(in: CharacterSet(charactersIn: "_")).prefix(50))
        guard !trimmed.isEmpty else {
            throw OttoError("state.url", "cannot make a project name from `\(name)`: pass ?project=NAME in the state URL", causeText: nil)
        }
        return trimmed
    }

    /// `10s`, `1500ms`, `1m` or a bare number of seconds.
    static func seconds(_ text: String) -> Double? {
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(text)
    }

    /// `url` with any password replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "postgres://…" }
        if components.password != nil { components.password = "***" }
        if let items = components.queryItems, items.contains(where: { $0.name == "password" }) {
            components.queryItems = items.map { $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0 }
        }
        return components.string ?? "postgres://…"
    }

    /// `postgres://USER@HOST:PORT/DATABASE (project NAME)`, without the password.
    public var description: String {
        let server = socketDirectory.map { "\($0) (socket)" } ?? "\(host ?? "localhost"):\(port)"
        return "postgres://\(user)@\(server)/\(database) (project \(project))"
    }
}
