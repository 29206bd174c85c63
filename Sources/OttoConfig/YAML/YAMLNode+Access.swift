import OttoCore

extension YAMLNode {
    /// A scalar's value after YAML 1.2 core-schema resolution: plain scalars may be null, booleans or numbers;
    /// quoted and block scalars, and anything tagged `!!str`, are always strings.
    public enum Scalar: Sendable, Hashable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
    }

    private static let strTag = "tag:yaml.org,2002:str"

    /// The scalar's text as written, or nil for collections.
    public var text: String? {
        if case .scalar(let s, _) = content { return s }
        return nil
    }

    /// The resolved scalar, or nil for collections.
    public var scalar: Scalar? {
        guard case .scalar(let text, let style) = content else { return nil }
        guard style == .plain, tag != Self.strTag, tag != "!" else { return .string(text) }
        return Self.resolvePlain(text)
    }

    /// Entries when this is a mapping.
    public var entries: [Entry]? {
        if case .mapping(let e) = content { return e }
        return nil
    }

    /// Items when this is a sequence.
    public var items: [YAMLNode]? {
        if case .sequence(let i) = content { return i }
        return nil
    }

    /// True for a plain `null`, `~` or empty scalar.
    public var isNull: Bool { scalar == .null }

    /// The value of the first entry whose key is `key`, when this is a mapping.
    public subscript(key: String) -> YAMLNode? {
        entries?.first { $0.key.text == key }?.value
    }

    /// The node as an attribute value (maps keyed by the key text).
    public var value: Value {
        switch content {
        case .sequence(let items): return .list(items.map(\.value))
        case .mapping(let entries):
            var map: [String: Value] = [:]
            for entry in entries { map[entry.key.text ?? entry.key.value.description] = entry.value.value }
            return .map(map)
        case .scalar:
            switch scalar! {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        }
    }

    /// What the node is, for messages: `string "two"`, `integer 2`, `a mapping`, ...
    public var kindDescription: String {
        switch content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar:
            switch scalar! {
            case .null: return "null"
            case .bool(let b): return "boolean \(b)"
            case .int(let i): return "integer \(i)"
            case .double(let d): return "number \(d)"
            case .string(let s): return "string \(Value.string(s))"
            }
        }
    }

    /// YAML 1.2 core schema for plain scalars.
    static func resolvePlain(_ text: String) -> Scalar {
        let u = text.utf8
        guard let first = u.first else { return .null }
        switch first {
        case UInt8(ascii: "~"), UInt8(ascii: "n"), UInt8(ascii: "N"):
            if text == "~" || text == "null" || text == "Null" || text == "NULL" { return .null }
            return .string(text)
        case UInt8(ascii: "t"), UInt8(ascii: "T"):
            if text == "true" || text == "True" || text == "TRUE" { return .bool(true) }
            return .string(text)
        case UInt8(ascii: "f"), UInt8(ascii: "F"):
            if text == "false" || text == "False" || text == "FALSE" { return .bool(false) }
            return .string(text)
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
            return resolveNumber(text)
        default:
            return .string(text)
        }
    }

    private static func resolveNumber(_ text: String) -> Scalar {
        if text.hasPrefix("0x"), let i = Int(text.dropFirst(2), radix: 16) { return .int(i) }
        if text.hasPrefix("0o"), let i = Int(text.dropFirst(2), radix: 8) { return .int(i) }
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        if !body.isEmpty, body.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            if let i = Int(text) { return .int(i) }
            return .string(text)
        }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        var it = Array(text.utf8)[...]
        if let c = it.first, c == 43 || c == 45 { it = it.dropFirst() }
        let isDigit = { (c: UInt8) in c >= 48 && c <= 57 }
        let intPart = it.prefix(while: isDigit); it = it.dropFirst(intPart.count)
        var fracCount = 0
        if it.first == 46 { it = it.dropFirst(); let f = it.prefix(while: isDigit); fracCount = f.count; it = it.dropFirst(f.count) }
        guard intPart.count + fracCount > 0 else { return .string(text) }
        if let c = it.first, c == 101 || c == 69 {
            it = it.dropFirst()
            if let s = it.first, s == 43 || s == 45 { it = it.dropFirst() }
            let e = it.prefix(while: isDigit)
            guard !e.isEmpty else { return .string(text) }
            it = it.dropFirst(e.count)
        }
        guard it.isEmpty, let d = Double(text) else { return .string(text) }
        return .double(d)
    }
}
