import Foundation

/// One entry of a resolve map, like curl's `--resolve HOST:PORT:ADDRESS`: requests to `host` on `port` connect to
/// `addresses` without asking DNS. The `Host` header and TLS name stay `host`, so name-based virtual hosts work.
public struct ResolveEntry: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The host name, lower case, as it appears in URLs.
    public var host: String
    /// The port the pin applies to.
    public var port: Int
    /// The addresses to connect to, tried in order (IPv4 dotted, or IPv6 without brackets).
    public var addresses: [String]

    /// Creates an entry; the host is lower-cased.
    public init(host: String, port: Int, addresses: [String]) {
        self.host = host.lowercased()
        self.port = port
        self.addresses = addresses
    }

    /// Parses `HOST:PORT:ADDRESS[,ADDRESS…]` (an IPv6 address may be written in brackets); nil when malformed.
    public init?(parsing text: String) {
        guard let firstColon = text.firstIndex(of: ":") else { return nil }
        let host = text[..<firstColon]
        let rest = text[text.index(after: firstColon)...]
        guard let secondColon = rest.firstIndex(of: ":"), let port = Int(rest[..<secondColon]), (1...65535).contains(port) else { return nil }
        let addresses = rest[rest.index(after: secondColon)...].split(separator: ",").map { part -> String in
            var a = part.trimmingCharacters(in: .whitespaces)
            if a.hasPrefix("["), a.hasSuffix("]") { a = String(a.dropFirst().dropLast()) }
            return a
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "/" }), !addresses.isEmpty,
              addresses.allSatisfy({ ResolveEntry.isAddress($0) }) else { return nil }
        self.init(host: String(host), port: port, addresses: addresses)
    }

    /// The form libcurl's `CURLOPT_RESOLVE` takes: `host:port:addr1,[v6addr]`.
    public var description: String {
        "\(host):\(port):" + addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
    }

    /// True for a dotted IPv4 address or an IPv6 address (hex groups and colons, possibly ending in dotted IPv4).
    public static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 4, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) && Int($0)! <= 255 }) {
            return true
        }
        return text.contains(":") && text.count <= 45
            && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && text.filter({ $0 == ":" }).count >= 2
    }
}

extension Character {
    /// `0`–`9` only (not other Unicode digits).
    var isASCIIDigit: Bool { isASCII && isNumber }
}
