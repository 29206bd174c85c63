import Crypto
import Foundation
import OttoCore

/// The API's bearer tokens, kept only as SHA-256 hashes of their secrets.
///
/// Sources (both may be used; names must be unique):
/// - a file (`otto serve --tokens FILE`): one token per line, `NAME SCOPE SECRET`, separated by spaces or tabs;
///   blank lines and lines starting with `#` are skipped. NAME is `[A-Za-z0-9._-]+` (it is what logs show), SCOPE is
///   `read` or `write`, SECRET at least 16 characters without spaces. The file must not be readable by group or
///   others (mode 0600 or stricter), like an SSH key.
/// - the environment variable `OTTO_API_TOKENS`: the same lines, separated by newlines or `;`.
///
/// A request's token is hashed and compared with every known hash in constant time (no early exit, no lookup keyed by
/// the secret), so timing reveals nothing about which bytes matched. Secrets are never stored, logged or returned.
public struct TokenSet: Sendable {
    /// One token: its name, its scope and the SHA-256 of its secret.
    public struct Token: Sendable {
        /// Name (shown in logs, never the secret).
        public var name: String
        /// Scope.
        public var scope: Scope
        /// SHA-256 of the secret.
        var hash: [UInt8]
    }

    /// The tokens, in the order they were read.
    public private(set) var tokens: [Token] = []

    /// Creates an empty set (every protected route answers 401).
    public init() {}

    /// The environment variable tokens are read from.
    public static let environmentVariable = "OTTO_API_TOKENS"

    /// Shortest secret accepted.
    public static let minimumSecretLength = 16

    /// Adds a token.
    public mutating func add(name: String, scope: Scope, secret: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ Self.nameByte($0) }) else {
            throw OttoError("serve.tokens", "invalid token name \(Value.string(name)): use letters, digits, `.`, `-` and `_`")
        }
        guard secret.utf8.count >= Self.minimumSecretLength else {
            throw OttoError("serve.tokens", "the secret of token `\(name)` is shorter than \(Self.minimumSecretLength) characters")
        }
        guard !tokens.contains(where: { $0.name == name }) else {
            throw OttoError("serve.tokens", "token `\(name)` is defined twice")
        }
        tokens.append(Token(name: name, scope: scope, hash: Self.hash(secret)))
    }

    /// Reads `NAME SCOPE SECRET` lines; `origin` names where they come from in errors (`FILE:LINE`), never the secret.
    public mutating func add(lines text: String, origin: String, separators: Set<Character> = ["\n"]) throws {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { separators.contains($0) || $0 == "\n" })
        for (i, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 else {
                throw OttoError("serve.tokens", "\(origin):\(i + 1): expected `NAME SCOPE SECRET` (scope read or write)")
            }
            guard let scope = Scope(rawValue: fields[1]) else {
                throw OttoError("serve.tokens", "\(origin):\(i + 1): unknown scope \(Value.string(fields[1])); expected read or write")
            }
            do {
                try add(name: fields[0], scope: scope, secret: fields[2])
            } catch let e as OttoError {
                throw OttoError("serve.tokens", "\(origin):\(i + 1): \(e.message)")
            }
        }
    }

    /// Reads a tokens file; refuses one that group or others can read.
    public mutating func add(file path: String) throws {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw OttoError("serve.tokens", "cannot read the tokens file \(path)", cause: error)
        }
        if let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            throw OttoError("serve.tokens", "the tokens file \(path) can be read by others (mode \(String(mode & 0o777, radix: 8))); "
                            + "run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw OttoError("serve.tokens", "cannot read the tokens file \(path) as UTF-8 text")
        }
        try add(lines: text, origin: path)
    }

    /// Reads `OTTO_API_TOKENS` from `environment` when it is set.
    public mutating func add(environment: [String: String]) throws {
        guard let text = environment[Self.environmentVariable], !text.isEmpty else { return }
        try add(lines: text, origin: Self.environmentVariable, separators: [";"])
    }

    /// The token whose secret is `secret`, if any; takes the same time whichever token (or none) matches.
    public func verify(_ secret: some StringProtocol) -> Token? { verify(Array(secret.utf8)[...]) }

    /// The token whose secret is `secret` (UTF-8 bytes), if any; constant time as above.
    func verify(_ secret: ArraySlice<UInt8>) -> Token? {
        let candidate = Array(SHA256.hash(data: secret))
        var match: Token?
        for token in tokens {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= token.hash[i] ^ candidate[i] }
            if difference == 0 { match = token }
        }
        return match
    }

    static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }

    static func nameByte(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 46 || c == 45 || c == 95
    }
}
