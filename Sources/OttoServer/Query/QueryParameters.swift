import OttoCore

/// A request's query string, parsed strictly: names and values percent-decoded (`+` is a space, as in HTML forms),
/// every name checked against what the route accepts.
struct QueryParameters: Sendable {
    /// Name/value pairs in the order given (a name may repeat).
    var pairs: [(name: String, value: String)] = []

    /// Parses `query` (the part after `?`, or nil); malformed percent-escapes or invalid UTF-8 are a 400.
    init(_ query: String?) throws(APIError) {
        guard let query, !query.isEmpty else { return }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let nameEnd = part.firstIndex(of: "=") ?? part.endIndex
            let name = try Self.decode(part[..<nameEnd])
            let value = nameEnd == part.endIndex ? "" : try Self.decode(part[part.index(after: nameEnd)...])
            pairs.append((name, value))
        }
    }

    /// Fails with 400 `query.unknown` when a parameter other than `allowed` was given, and with `query.repeated`
    /// when one not in `repeatable` was given twice.
    func check(allowed: Set<String>, repeatable: Set<String> = []) throws(APIError) {
        var seen = Set<String>()
        for (name, _) in pairs {
            guard allowed.contains(name) else {
                let list = allowed.sorted().map { "`\($0)`" }.joined(separator: ", ")
                throw APIError.badRequest("query.unknown", "unknown query parameter \(JSONQuoted(name))"
                                          + (allowed.isEmpty ? "; this route takes none" : "; this route takes \(list)"))
            }
            if !seen.insert(name).inserted, !repeatable.contains(name) {
                throw APIError.badRequest("query.repeated", "query parameter `\(name)` is given more than once")
            }
        }
    }

    /// The value of `name` (the last one when repeated).
    subscript(name: String) -> String? { pairs.last { $0.name == name }?.value }

    /// Every value of `name`, in order.
    func all(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    static func decode(_ text: Substring) throws(APIError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var it = text.utf8.makeIterator()
        while let b = it.next() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let h = it.next(), let l = it.next(), let hi = hex(h), let lo = hex(l) else {
                    throw APIError.badRequest("query.malformed", "malformed percent-escape in the query string")
                }
                bytes.append(hi << 4 | lo)
            default: bytes.append(b)
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw APIError.badRequest("query.malformed", "the query string is not valid UTF-8")
        }
        return s
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}

/// `"text"` with quotes and control characters escaped, for messages that echo client input.
func JSONQuoted(_ text: String) -> String {
    let clipped = text.count > 80 ? String(text.prefix(80)) + "…" : text
    return JSON.string(clipped).encodedString
}
