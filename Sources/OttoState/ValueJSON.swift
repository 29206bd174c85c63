import OttoCore

/// A fast JSON codec for the attribute and dependency columns, in the same format as `Value`'s `Codable`
/// (scalars, lists and maps as themselves; a reference as `{"$ref": "ADDR.attr"}`; unknown as `{"$unknown": true}`),
/// so `JSONDecoder` reads what this writes and this reads what `JSONEncoder` writes.
///
/// It exists because decoding `Value` through `JSONDecoder` tries each case in turn and made `snapshot()` of
/// 100,000 rows take tens of seconds. Two deliberate differences from `Value`'s `Codable`, both lossless:
/// a whole double is written as `2.0` (not `2`), and a number with `.` or an exponent is read as a double,
/// so `.double(2)` survives the round trip instead of coming back as `.int(2)`. Map keys are written sorted.
enum ValueJSON {
    /// A text that is not the JSON this codec expects.
    struct SyntaxError: Error, CustomStringConvertible {
        var message: String
        var offset: Int
        var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// A double that JSON cannot hold (infinity or NaN).
    struct UnrepresentableDouble: Error, CustomStringConvertible {
        var value: Double
        var description: String { "\(value) cannot be written as JSON" }
    }

    // MARK: Encoding

    /// `attributes` as a JSON object with sorted keys.
    static func encode(_ attributes: [String: Value]) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        try writeMap(attributes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `addresses` as a JSON array of `KIND.NAME` strings.
    static func encode(_ addresses: [ResourceAddress]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, address) in addresses.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(address.description, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `strings` as a JSON array of strings (what `JSONDecoder` reads as `[String]`).
    static func encode(strings: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(strings.reduce(2) { $0 + $1.utf8.count + 3 })
        for (i, string) in strings.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(string, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func write(_ value: Value, to out: inout [UInt8]) throws {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            guard d.isFinite else { throw UnrepresentableDouble(value: d) }
            out.append(contentsOf: d.description.utf8) // shortest round-trip form, always with `.` or `e`
        case .string(let s): writeString(s, to: &out)
        case .list(let l):
            out.append(UInt8(ascii: "["))
            for (i, element) in l.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let m): try writeMap(m, to: &out)
        case .ref(let r):
            out.append(contentsOf: #"{"$ref":"#.utf8)
            writeString(r.description, to: &out)
            out.append(UInt8(ascii: "}"))
        case .unknown: out.append(contentsOf: #"{"$unknown":true}"#.utf8)
        }
    }

    private static func writeMap(_ map: [String: Value], to out: inout [UInt8]) throws {
        out.append(UInt8(ascii: "{"))
        for (i, key) in map.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            try write(map[key]!, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array(#"\u00"#.utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: Decoding

    /// A JSON object of attributes.
    static func decodeAttributes(_ text: String) throws -> [String: Value] {
        let value = try parse(text)
        switch value {
        case .map(let m): return m
        // `{"$ref": …}` or `{"$unknown": true}` at the top level is an attribute map with that one key.
        case .ref(let r): return ["$ref": .string(r.description)]
        case .unknown: return ["$unknown": .bool(true)]
        default: throw SyntaxError(message: "expected an object of attributes", offset: 0)
        }
    }

    /// A JSON array of `KIND.NAME` strings.
    static func decodeAddresses(_ text: String) throws -> [ResourceAddress] {
        guard case .list(let elements) = try parse(text) else {
            throw SyntaxError(message: "expected an array of addresses", offset: 0)
        }
        return try elements.map { element in
            guard case .string(let s) = element, let address = ResourceAddress(parsing: s) else {
                throw SyntaxError(message: "not a resource address: \(element)", offset: 0)
            }
            return address
        }
    }

    /// Parses one JSON value (with surrounding whitespace) into a `Value`.
    static func parse(_ text: String) throws -> Value {
        var text = text
        return try text.withUTF8 { bytes in
            var parser = Parser(bytes: bytes)
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.at == bytes.count else { throw parser.error("trailing characters") }
            return value
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func error(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: at) }

        mutating func skipWhitespace() {
            while at < bytes.count {
                switch bytes[at] {
                case 0x20, 0x0A, 0x0D, 0x09: at += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString) throws {
            let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
            guard at + expected.count <= bytes.count,
                  bytes[at..<(at + expected.count)].elementsEqual(expected) else {
                throw error("expected \(literal)")
            }
            at += expected.count
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 512 else { throw error("nested too deeply") }
            skipWhitespace()
            guard at < bytes.count else { throw error("unexpected end") }
            switch bytes[at] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                at += 1
                var elements: [Value] = []
                skipWhitespace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .list(elements) }
                while true {
                    elements.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard at < bytes.count else { throw error("unterminated array") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return .list(elements) }
                    throw error("expected , or ]")
                }
            case UInt8(ascii: "{"):
                at += 1
                var entries: [String: Value] = [:]
                skipWhitespace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .map(entries) }
                while true {
                    skipWhitespace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a key") }
                    let key = try string()
                    skipWhitespace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw error("expected :") }
                    at += 1
                    entries[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard at < bytes.count else { throw error("unterminated object") }
                    if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                    if bytes[at] == UInt8(ascii: "}") { at += 1; break }
                    throw error("expected , or }")
                }
                return Self.special(entries)
            default:
                return try number()
            }
        }

        /// The same reading of one-key objects as `Value.init(from:)`.
        static func special(_ m: [String: Value]) -> Value {
            if m.count == 1, case .string(let text)? = m["$ref"], let dot = text.lastIndex(of: "."),
               let address = ResourceAddress(parsing: String(text[..<dot])) {
                return .ref(Value.Reference(address, String(text[text.index(after: dot)...])))
            }
            if m.count == 1, m["$unknown"] == .bool(true) { return .unknown }
            return .map(m)
        }

        mutating func number() throws -> Value {
            let start = at
            var integral = true
            while at < bytes.count, Self.isNumberByte(bytes[at]) {
                let b = bytes[at]
                if !(b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) && !(b == UInt8(ascii: "-") && at == start) {
                    integral = false
                }
                at += 1
            }
            guard at > start else { throw error("unexpected character") }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            if integral, let i = Int(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw SyntaxError(message: "bad number \(text)", offset: start) }
            return .double(d)
        }

        static func isNumberByte(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: ".") || b == UInt8(ascii: "e")
                || b == UInt8(ascii: "E") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
        }

        mutating func string() throws -> String {
            at += 1 // opening quote
            let start = at
            // Fast path: no escapes.
            while at < bytes.count {
                let b = bytes[at]
                if b == UInt8(ascii: "\"") {
                    let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                    at += 1
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { throw error("control character in string") }
                at += 1
            }
            var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<at]))
            while at < bytes.count {
                let b = bytes[at]
                if b == UInt8(ascii: "\"") {
                    at += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b < 0x20 { throw error("control character in string") }
                guard b == UInt8(ascii: "\\") else { out.append(b); at += 1; continue }
                at += 1
                guard at < bytes.count else { break }
                let escape = bytes[at]
                at += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by \u and a low surrogate.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error("invalid escape")
                }
            }
            throw error("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard at + 4 <= bytes.count else { throw error("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[at]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                default: throw error("bad hex digit")
                }
                v = v << 4 | UInt32(digit)
                at += 1
            }
            return v
        }
    }
}
