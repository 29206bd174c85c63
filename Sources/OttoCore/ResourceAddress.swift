/// The stable name of one resource: `KIND.NAME`, e.g. `machine.demo.web[1]` or `dns_record.demo.www.CNAME`.
///
/// The kind is everything before the first dot; the name is the rest and may contain dots.
public struct ResourceAddress: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Resource kind, e.g. `dns_record`.
    public let kind: String
    /// Name within the kind, e.g. `demo.www.CNAME`.
    public let name: String

    /// Creates an address from its parts.
    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `KIND.NAME`; nil when there is no dot or either part is empty.
    public init?(parsing text: String) {
        guard let dot = text.firstIndex(of: "."), dot != text.startIndex else { return nil }
        let rest = text[text.index(after: dot)...]
        guard !rest.isEmpty else { return nil }
        self.kind = String(text[..<dot])
        self.name = String(rest)
    }

    /// For tests and literals: traps on text that is not an address.
    public init(stringLiteral value: String) {
        guard let parsed = ResourceAddress(parsing: value) else { preconditionFailure("not a resource address: \(value)") }
        self = parsed
    }

    /// `KIND.NAME`
    public var description: String { "\(kind).\(name)" }

    /// True when `pattern` names this address or a prefix of it at a component boundary
    /// (`machine.demo.web` matches `machine.demo.web[0]`; `dns_record.demo` matches `dns_record.demo.www.A`).
    public func matches(_ pattern: String) -> Bool {
        let me = description
        guard me.hasPrefix(pattern) else { return false }
        if me.count == pattern.count { return true }
        let next = me[me.index(me.startIndex, offsetBy: pattern.count)]
        return next == "." || next == "["
    }

    public static func < (a: ResourceAddress, b: ResourceAddress) -> Bool {
        a.kind != b.kind ? a.kind < b.kind : a.name < b.name
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = ResourceAddress(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a resource address: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
