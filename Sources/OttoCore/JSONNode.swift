/// A JSON document read with the line and column of every value, so problems in a request body or an item written
/// over the HTTP API can be reported as `api:/inv/web1:1:20: error: ...`.
///
/// Strict RFC 8259: no comments, no trailing commas, one value per document, UTF-8 only; a key repeated in one object
/// is an error (as in YAML). Nesting is limited (128 levels by default, YAML's limit). Strings keep their text;
/// numbers, `true`, `false` and `null` keep the text as written (`literal`) and resolve like YAML 1.2's plain scalars
/// (`scalar`), so the configuration reader, which turns these nodes into YAML nodes, reads them exactly like YAML.
public struct JSONNode: Sendable, Hashable {
    /// A node's content.
    public enum Content: Sendable, Hashable {
        /// A string (always text).
        case string(String)
        /// A number, `true`, `false` or `null`, as written.
        case literal(String)
        /// An array's items.
        case array([JSONNode])
        /// An object's members in document order (keys are unique).
        case object([Member])
    }

    /// One member of an object.
    public struct Member: Sendable, Hashable {
        /// The key (a `.string` node, located where the key starts).
        public var key: JSONNode
        /// The value.
        public var value: JSONNode
        /// Creates a member.
        public init(key: JSONNode, value: JSONNode) { self.key = key; self.value = value }
    }

    /// The content.
    public var content: Content
    /// Where the value starts.
    public var location: SourceLocation

    /// Creates a node.
    public init(_ content: Content, at location: SourceLocation) {
        self.content = content
        self.location = location
    }

    /// Parses `bytes` as one JSON value under the file name `file`. Throws the first syntax error, located.
    public static func parse(_ bytes: some Collection<UInt8>, file: String, maxDepth: Int = 128) throws(DiagnosticsError) -> JSONNode {
        var parser = Parser(bytes: Array(bytes), file: file, maxDepth: maxDepth)
        do throws(Failure) {
            parser.skipWhitespace()
            let node = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.atEnd else { throw parser.failure("unexpected text after the JSON value") }
            return node
        } catch {
            throw DiagnosticsError([Diagnostic(at: error.location, "invalid JSON: " + error.message)])
        }
    }

    /// Parses a JSON document held in a string.
    public static func parse(_ text: String, file: String) throws(DiagnosticsError) -> JSONNode {
        try parse(Array(text.utf8), file: file)
    }

    /// A string's text or a literal as written; nil for arrays and objects.
    public var text: String? {
        switch content {
        case .string(let s), .literal(let s): return s
        case .array, .object: return nil
        }
    }

    /// The resolved scalar (a string, or a literal as YAML 1.2 resolves it), nil for arrays and objects.
    public var scalar: Value? {
        switch content {
        case .string(let s): return .string(s)
        case .literal(let text): return Self.resolve(text)
        case .array, .object: return nil
        }
    }

    /// Members when this is an object.
    public var entries: [Member]? {
        if case .object(let members) = content { return members }
        return nil
    }

    /// Items when this is an array.
    public var items: [JSONNode]? {
        if case .array(let items) = content { return items }
        return nil
    }

    /// What the node is, for messages, in the configuration reader's words: `string "two"`, `integer 2`, `a mapping`.
    public var kindDescription: String {
        switch content {
        case .array: return "a list"
        case .object: return "a mapping"
        case .string, .literal:
            switch scalar! {
            case .null: return "null"
            case .bool(let b): return "boolean \(b)"
            case .int(let i): return "integer \(i)"
            case .double(let d): return "number \(d)"
            case .string(let s): return "string \(Value.string(s))"
            default: return "a value"
            }
        }
    }

    /// A JSON literal resolved as YAML 1.2's core schema resolves the same plain text.
    static func resolve(_ text: String) -> Value {
        switch text {
        case "null": return .null
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        let body = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if !body.isEmpty, body.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            return Int(text).map(Value.int) ?? .string(text)
        }
        return Double(text).map(Value.double) ?? .string(text)
    }

    struct Failure: Error {
        var location: SourceLocation
        var message: String
    }

    struct Parser {
        let bytes: [UInt8]
        let file: String
        let maxDepth: Int
        var index = 0
        var line = 1
        var column = 1

        init(bytes: [UInt8], file: String, maxDepth: Int) {
            self.bytes = bytes
            self.file = file
            self.maxDepth = maxDepth
        }

        var atEnd: Bool { index >= bytes.count }
        var here: SourceLocation { SourceLocation(file: file, line: line, column: column) }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func failure(_ message: String, at location: SourceLocation? = nil) -> Failure {
            Failure(location: location ?? here, message: message)
        }

        /// Moves past one byte, keeping line and column (columns count characters, not UTF-8 continuation bytes).
        mutating func advance() {
            let b = bytes[index]
            index += 1
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }

        mutating func skipWhitespace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { advance() }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
            guard peek == byte else { throw failure("expected \(what)\(found)") }
            advance()
        }

        /// `, found `x`` for messages.
        var found: String {
            guard let b = peek else { return ", found the end of the document" }
            if b >= 0x21 && b < 0x7F { return ", found `\(Character(Unicode.Scalar(b)))`" }
            return ""
        }

        mutating func value(depth: Int) throws(Failure) -> JSONNode {
            guard depth < maxDepth else { throw failure("nesting deeper than \(maxDepth) levels") }
            let start = here
            guard let b = peek else { throw failure("expected a value, found the end of the document") }
            switch b {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return JSONNode(.string(try string()), at: start)
            case UInt8(ascii: "t"): try literal("true"); return JSONNode(.literal("true"), at: start)
            case UInt8(ascii: "f"): try literal("false"); return JSONNode(.literal("false"), at: start)
            case UInt8(ascii: "n"): try literal("null"); return JSONNode(.literal("null"), at: start)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return JSONNode(.literal(try number()), at: start)
            default: throw failure("expected a value (object, array, string, number, true, false or null)\(found)")
            }
        }

        mutating func literal(_ word: String) throws(Failure) {
            let start = here
            for c in word.utf8 {
                guard peek == c else { throw failure("expected `\(word)`", at: start) }
                advance()
            }
        }

        mutating func object(depth: Int) throws(Failure) -> JSONNode {
            let start = here
            advance()
            var entries: [Member] = []
            var seen: [String: SourceLocation] = [:]
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                advance()
                return JSONNode(.object([]), at: start)
            }
            while true {
                skipWhitespace()
                let keyStart = here
                guard peek == UInt8(ascii: "\"") else { throw failure("expected an object key (a string in double quotes)\(found)") }
                let key = try string()
                if let first = seen[key] {
                    throw failure("key \"\(key)\" is repeated (first at \(first))", at: keyStart)
                }
                seen[key] = keyStart
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "`:` after an object key")
                skipWhitespace()
                let value = try self.value(depth: depth + 1)
                entries.append(Member(key: JSONNode(.string(key), at: keyStart), value: value))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { advance(); continue }
                try expect(UInt8(ascii: "}"), "`,` or `}` in an object")
                return JSONNode(.object(entries), at: start)
            }
        }

        mutating func array(depth: Int) throws(Failure) -> JSONNode {
            let start = here
            advance()
            var items: [JSONNode] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                advance()
                return JSONNode(.array([]), at: start)
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { advance(); continue }
                try expect(UInt8(ascii: "]"), "`,` or `]` in an array")
                return JSONNode(.array(items), at: start)
            }
        }

        mutating func number() throws(Failure) -> String {
            let startIndex = index
            let start = here
            func digits(_ p: inout Parser) -> Int {
                var n = 0
                while let b = p.peek, b >= 0x30 && b <= 0x39 { p.advance(); n += 1 }
                return n
            }
            if peek == UInt8(ascii: "-") { advance() }
            if peek == UInt8(ascii: "0") {
                advance()
                if let b = peek, b >= 0x30 && b <= 0x39 { throw failure("a number must not start with 0", at: start) }
            } else if digits(&self) == 0 {
                throw failure("expected digits in a number", at: start)
            }
            if peek == UInt8(ascii: ".") {
                advance()
                guard digits(&self) > 0 else { throw failure("expected digits after `.` in a number", at: start) }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                advance()
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { advance() }
                guard digits(&self) > 0 else { throw failure("expected digits in a number's exponent", at: start) }
            }
            return String(decoding: bytes[startIndex..<index], as: UTF8.self)
        }

        mutating func string() throws(Failure) -> String {
            let start = here
            advance()  // opening quote
            var out: [UInt8] = []
            while true {
                guard let b = peek else { throw failure("unterminated string", at: start) }
                switch b {
                case UInt8(ascii: "\""):
                    advance()
                    guard let text = String(validating: out, as: UTF8.self) else {
                        throw failure("a string is not valid UTF-8", at: start)
                    }
                    return text
                case UInt8(ascii: "\\"):
                    let escapeAt = here
                    advance()
                    guard let e = peek else { throw failure("unterminated string", at: start) }
                    advance()
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4(escapeAt)
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard peek == UInt8(ascii: "\\") else { throw failure("unpaired UTF-16 surrogate in \\u escape", at: escapeAt) }
                            advance()
                            guard peek == UInt8(ascii: "u") else { throw failure("unpaired UTF-16 surrogate in \\u escape", at: escapeAt) }
                            advance()
                            let low = try hex4(escapeAt)
                            guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired UTF-16 surrogate in \\u escape", at: escapeAt) }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw failure("unpaired UTF-16 surrogate in \\u escape", at: escapeAt)
                        }
                        guard let s = Unicode.Scalar(scalar) else { throw failure("invalid \\u escape", at: escapeAt) }
                        out.append(contentsOf: Array(String(Character(s)).utf8))
                    default:
                        throw failure("invalid escape in a string (use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX)", at: escapeAt)
                    }
                case 0x00..<0x20:
                    throw failure("control character in a string (escape it, e.g. \\n)")
                default:
                    out.append(b)
                    advance()
                }
            }
        }

        mutating func hex4(_ at: SourceLocation) throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let b = peek else { throw failure("expected four hex digits after \\u", at: at) }
                let digit: UInt32
                switch b {
                case 0x30...0x39: digit = UInt32(b - 0x30)
                case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
                default: throw failure("expected four hex digits after \\u", at: at)
                }
                value = value * 16 + digit
                advance()
            }
            return value
        }
    }
}
