import Foundation

/// A JSON value with ordered object keys, and its compact UTF-8 encoding: the error bodies and the bodies the server
/// renders itself (desired state, walks), which the generated API sends through its `Codable` conformance.
public enum JSON: Sendable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// An integer.
    case int(Int)
    /// A number that is not an integer (non-finite values are written as `null`).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSON])
    /// An object, keys in the order given.
    case object([(String, JSON)])

    /// An object from key/value pairs, leaving out nil values.
    public static func fields(_ pairs: KeyValuePairs<String, JSON?>) -> JSON {
        .object(pairs.compactMap { key, value in value.map { (key, $0) } })
    }

    /// An optional string, `null` when nil.
    public static func string(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }

    /// A list of strings.
    public static func strings(_ items: [String]) -> JSON { .array(items.map { .string($0) }) }

    /// A date in ISO 8601 with milliseconds, UTC (`2025-01-31T12:00:00.000Z`); `null` when nil.
    public static func date(_ date: Date?) -> JSON {
        guard let date else { return .null }
        return .string(ISO8601.string(date))
    }

    /// A configuration value as JSON (maps with sorted keys; references as `"${ADDRESS.attribute}"` text).
    public init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .list(let items): self = .array(items.map(JSON.init))
        case .map(let m): self = .object(m.sorted { $0.key < $1.key }.map { ($0.key, JSON($0.value)) })
        default: self = .string(value.description)
        }
    }

    /// The compact encoding.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    /// The compact encoding as text.
    public var encodedString: String { String(decoding: encoded, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .int(let i): out.append(contentsOf: Array(String(i).utf8))
        case .double(let d):
            if d.isFinite {
                out.append(contentsOf: Array((d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)).utf8))
            } else {
                out.append(contentsOf: Array("null".utf8))
            }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// ISO 8601 timestamps as the API writes them.
public enum ISO8601 {
    /// `2025-01-31T12:00:00.000Z`.
    public static func string(_ date: Date) -> String {
        // Date.ISO8601FormatStyle is a value type, so concurrent use is safe.
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The time `text` says, with or without fractional seconds (`2026-12-03T22:00:00Z`); nil when it is not one.
    public static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) ?? (try? Date(text, strategy: .iso8601))
    }

    /// The time under `key`, or a decoding error naming the key.
    static func decode<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Date {
        let text = try c.decode(String.self, forKey: key)
        guard let date = date(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an ISO 8601 time: \(text)")
        }
        return date
    }

    /// The time under `key`, nil when it is null or missing.
    static func decodeIfPresent<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Date? {
        try c.decodeNil(forKey: key) || !c.contains(key) ? nil : decode(c, key)
    }
}
