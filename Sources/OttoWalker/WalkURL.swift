/// An absolute `http`/`https` URL in the walker's normal form, so one resource has one spelling: scheme and host
/// lower case, no default port, no user info, no fragment, `.`/`..` segments removed, an empty path as `/`, and
/// bytes that may not appear in a URL (spaces, non-ASCII, quotes, angle brackets…) percent-encoded.
///
/// Relative references are resolved as RFC 3986 §5 says, with the web's leniency: surrounding whitespace, tabs and
/// newlines are removed and `\` counts as `/`. Anything that is not http(s) (`mailto:`, `javascript:`, `tel:`,
/// `data:`, `ftp:`…) resolves to nil.
public struct WalkURL: Hashable, Sendable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The host, lower case (an IPv6 literal keeps its brackets).
    public let host: String
    /// The port when it is not the scheme's default.
    public let port: Int?
    /// The path, starting with `/`.
    public let path: String
    /// The query without `?`, when there is one (possibly empty).
    public let query: String?
    /// The whole URL in normal form.
    public let description: String

    /// Parses an absolute http(s) URL; nil for anything else.
    public init?(_ text: String) {
        guard let url = WalkURL.parseAbsolute(WalkURL.clean(text)) else { return nil }
        self = url
    }

    init(scheme: String, host: String, port: Int?, path: String, query: String?) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        var text = scheme + "://" + host
        if let port { text += ":" + String(port) }
        text += path
        if let query { text += "?" + query }
        description = text
    }

    /// The port connections go to (the default one when none is written).
    public var effectivePort: Int { port ?? (scheme == "https" ? 443 : 80) }

    /// `host:port`, the key connection limits are counted under.
    public var hostAndPort: String { host + ":" + String(effectivePort) }

    /// Resolves `reference` (as written in an `href` or `src`) against this URL; nil when it is not http(s) or is
    /// malformed. A reference that is only a fragment resolves to this URL.
    public func resolve(_ reference: String) -> WalkURL? {
        var ref = WalkURL.clean(reference)
        if let hash = ref.firstIndex(of: "#") { ref = String(ref[..<hash]) }
        if let scheme = WalkURL.scheme(of: ref) {
            let lower = scheme.lowercased()
            guard lower == "http" || lower == "https" else { return nil }
            let rest = ref.dropFirst(scheme.count + 1)
            if rest.hasPrefix("//") { return WalkURL.parseAbsolute(ref) }
            // `http:page.html` with the base's own scheme is a relative reference (as browsers read it).
            guard lower == self.scheme else { return nil }
            ref = String(rest)
        }
        if ref.hasPrefix("//") { return WalkURL.parseAbsolute(scheme + ":" + ref) }
        var refPath = ref
        var refQuery: String? = nil
        if let q = ref.firstIndex(of: "?") {
            refPath = String(ref[..<q])
            refQuery = String(ref[ref.index(after: q)...])
        }
        let newPath: String
        let newQuery: String?
        if refPath.isEmpty {
            newPath = path
            newQuery = refQuery ?? query
        } else if refPath.hasPrefix("/") {
            newPath = WalkURL.removeDotSegments(refPath)
            newQuery = refQuery
        } else {
            let directory = path[...path.lastIndex(of: "/")!]
            newPath = WalkURL.removeDotSegments(String(directory) + refPath)
            newQuery = refQuery
        }
        return WalkURL(scheme: scheme, host: host, port: port, path: WalkURL.encode(newPath, query: false),
                       query: newQuery.map { WalkURL.encode($0, query: true) })
    }

    // MARK: Parsing helpers

    /// Removes leading/trailing whitespace and control characters, tabs and newlines anywhere, and turns `\` into `/`.
    static func clean(_ text: String) -> String {
        let utf8 = text.utf8
        if let first = utf8.first, let last = utf8.last, first > 0x20, last > 0x20,
           !utf8.contains(where: { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == UInt8(ascii: "\\") }) {
            return text  // the usual case: nothing to clean
        }
        var bytes = Array(utf8)
        while let first = bytes.first, first <= 0x20 { bytes.removeFirst() }
        while let last = bytes.last, last <= 0x20 { bytes.removeLast() }
        if bytes.contains(where: { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == UInt8(ascii: "\\") }) {
            bytes = bytes.compactMap { b in
                if b == 0x09 || b == 0x0A || b == 0x0D { return nil }
                return b == UInt8(ascii: "\\") ? UInt8(ascii: "/") : b
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The scheme when `text` starts with `letter (letter|digit|+|-|.)* :`.
    static func scheme(of text: String) -> String? {
        var length = 0
        for (i, b) in text.utf8.enumerated() {
            if b == UInt8(ascii: ":") {
                length = i
                break
            }
            let letter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
            let ok = letter || (i > 0 && ((b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "+")
                                          || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")))
            guard ok else { return nil }
        }
        return length > 0 ? String(text.utf8.prefix(length))! : nil
    }

    /// `scheme://[userinfo@]host[:port][/path][?query][#fragment]` with scheme http or https.
    static func parseAbsolute(_ text: String) -> WalkURL? {
        guard let scheme = scheme(of: text)?.lowercased(), scheme == "http" || scheme == "https" else { return nil }
        var rest = Substring(text.dropFirst(scheme.count + 1))
        guard rest.hasPrefix("//") else { return nil }
        rest = rest.dropFirst(2)
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = Substring(authority)
        var port: Int? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = parsePort(after.dropFirst()) else { return nil }
                port = p
            } else if !after.isEmpty { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = parsePort(authority[authority.index(after: colon)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "<")
                                                    && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "\"") }) else { return nil }
        if let p = port, p == (scheme == "https" ? 443 : 80) { port = nil }
        var path = Substring(tail)
        var query: String? = nil
        if let q = tail.firstIndex(of: "?") {
            path = tail[..<q]
            query = String(tail[tail.index(after: q)...])
        }
        let normalPath = path.isEmpty ? "/" : removeDotSegments(String(path))
        return WalkURL(scheme: scheme, host: host.lowercased(), port: port, path: encode(normalPath, query: false),
                       query: query.map { encode($0, query: true) })
    }

    /// A port number: empty means none (the default); nil when not a number in 0…65535.
    static func parsePort(_ text: Substring) -> Int?? {
        if text.isEmpty { return .some(nil) }
        guard text.count <= 5, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let n = Int(text), n <= 65535 else { return nil }
        return .some(n)
    }

    /// RFC 3986 §5.2.4 on a path that starts with `/` (a path without dot segments is returned as it is).
    static func removeDotSegments(_ path: String) -> String {
        guard path.contains("/.") || path.hasPrefix(".") else { return path.hasPrefix("/") ? path : "/" + path }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var out: [Substring] = []
        for (i, segment) in segments.enumerated() where i > 0 || !segment.isEmpty {
            let last = i == segments.count - 1
            switch segment {
            case ".", "%2e", "%2E":
                if last { out.append("") }
            case "..", ".%2e", "%2e.", "%2e%2e", ".%2E", "%2E.", "%2E%2E":
                if !out.isEmpty { out.removeLast() }
                if last { out.append("") }
            default:
                out.append(segment)
            }
        }
        return "/" + out.joined(separator: "/")
    }

    /// Percent-encodes bytes that may not appear in a path (or query): controls, space, non-ASCII, `"`, `<`, `>`,
    /// `` ` ``, `{`, `}`, `|`, `^` (and `#`, which would start a fragment). `%` and everything else stay as written.
    static func encode(_ text: String, query: Bool) -> String {
        func needs(_ b: UInt8) -> Bool {
            b <= 0x20 || b >= 0x7F || b == UInt8(ascii: "\"") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">")
                || b == UInt8(ascii: "`") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") || b == UInt8(ascii: "|")
                || b == UInt8(ascii: "^") || b == UInt8(ascii: "#") || (!query && b == UInt8(ascii: "?"))
        }
        guard text.utf8.contains(where: needs) else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for b in text.utf8 {
            if needs(b) {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
