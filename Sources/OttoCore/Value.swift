/// An attribute value of a resource: JSON-like, plus a reference to another resource's attribute
/// (resolved at apply time) and `unknown` (a value that will only be known after apply).
public indirect enum Value: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    case map([String: Value])
    /// Another resource's attribute, e.g. the `ipv4` of `machine.demo.lb[0]`.
    case ref(Reference)
    /// Known only after apply (a reference to something that is being created or replaced).
    case unknown

    /// A pointer to an attribute of another resource.
    public struct Reference: Sendable, Hashable, Codable, CustomStringConvertible {
        /// The resource that holds the value.
        public var address: ResourceAddress
        /// The attribute name on that resource.
        public var attribute: String
        /// Creates a reference.
        public init(_ address: ResourceAddress, _ attribute: String) {
            self.address = address
            self.attribute = attribute
        }
        public var description: String { "\(address).\(attribute)" }
    }

    /// The string, when this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The integer, when this is an integer.
    public var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    /// The boolean, when this is a boolean.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The elements, when this is a list.
    public var listValue: [Value]? { if case .list(let l) = self { return l } else { return nil } }
    /// The entries, when this is a map.
    public var mapValue: [String: Value]? { if case .map(let m) = self { return m } else { return nil } }

    /// True when the value, or anything inside it, is a reference or unknown.
    public var isFullyKnown: Bool {
        switch self {
        case .ref, .unknown: return false
        case .list(let l): return l.allSatisfy(\.isFullyKnown)
        case .map(let m): return m.values.allSatisfy(\.isFullyKnown)
        default: return true
        }
    }

    /// Every reference inside the value.
    public var references: [Reference] {
        switch self {
        case .ref(let r): return [r]
        case .list(let l): return l.flatMap(\.references)
        case .map(let m): return m.keys.sorted().flatMap { m[$0]!.references }
        default: return []
        }
    }

    /// True when a reference to another resource's attribute appears anywhere in the value (`references` is not empty).
    public var hasReference: Bool {
        switch self {
        case .ref: return true
        case .list(let l): return l.contains(where: \.hasReference)
        case .map(let m): return m.values.contains(where: \.hasReference)
        default: return false
        }
    }

    /// Replaces references using `resolve`; a reference it cannot resolve becomes `.unknown`.
    public func resolving(_ resolve: (Reference) -> Value?) -> Value {
        switch self {
        case .ref(let r): return resolve(r) ?? .unknown
        case .list(let l): return .list(l.map { $0.resolving(resolve) })
        case .map(let m): return .map(m.mapValues { $0.resolving(resolve) })
        default: return self
        }
    }

    /// Compact, deterministic rendering for plans and logs (maps with sorted keys).
    public var description: String {
        var out = ""
        write(into: &out)
        return out
    }

    /// Appends `description` to `out` (a plan renders every value into one text, without a string per value).
    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += String(d)
        case .string(let s): Value.quote(s, into: &out)
        case .list(let l):
            out += "["
            for (i, v) in l.enumerated() {
                if i > 0 { out += ", " }
                v.write(into: &out)
            }
            out += "]"
        case .map(let m):
            out += "{"
            for (i, key) in m.keys.sorted().enumerated() {
                if i > 0 { out += ", " }
                out += key
                out += ": "
                m[key]!.write(into: &out)
            }
            out += "}"
        case .ref(let r): out += "${\(r)}"
        case .unknown: out += "(known after apply)"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Most strings need no escape: appended whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if ch.value < 0x20 { out += "\\u{\(String(ch.value, radix: 16))}" } else { out.unicodeScalars.append(ch) }
            }
        }
        out += "\""
    }

    // JSON: scalars, lists and maps as themselves; a reference as {"$ref": "ADDR.attr"}; unknown as {"$unknown": true}.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let l = try? c.decode([Value].self) { self = .list(l); return }
        let m = try c.decode([String: Value].self)
        if m.count == 1, case .string(let text)? = m["$ref"], let dot = text.lastIndex(of: "."),
           let addr = ResourceAddress(parsing: String(text[..<dot])) {
            self = .ref(Reference(addr, String(text[text.index(after: dot)...])))
            return
        }
        if m.count == 1, m["$unknown"] == .bool(true) { self = .unknown; return }
        self = .map(m)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        case .map(let m): try c.encode(m)
        case .ref(let r): try c.encode(["$ref": r.description])
        case .unknown: try c.encode(["$unknown": true])
        }
    }
}
