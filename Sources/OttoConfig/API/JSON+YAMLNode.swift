import OttoCore

extension JSON {
    /// A node read from a JSON document, back as JSON: quoted scalars are strings, plain ones resolve as YAML 1.2
    /// does (numbers, booleans, null).
    public init(node: YAMLNode) {
        switch node.content {
        case .sequence(let items): self = .array(items.map(JSON.init(node:)))
        case .mapping(let entries): self = .object(entries.map { ($0.key.text ?? "", JSON(node: $0.value)) })
        case .scalar(let text, _):
            switch node.scalar {
            case .null?: self = .null
            case .bool(let b)?: self = .bool(b)
            case .int(let i)?: self = .int(i)
            case .double?: self = .double(Double(text) ?? 0)
            case .string(let s)?: self = .string(s)
            case nil: self = .string(text)
            }
        }
    }

    /// A stored item's document: the top-level object one key per line, the items of its arrays one per line, so
    /// that diagnostics point at distinct lines (`api:/dom/dns/example.com:4:5`).
    public var documentText: String {
        guard case .object(let pairs) = self else { return encodedString + "\n" }
        var out = "{\n"
        for (i, (key, value)) in pairs.enumerated() {
            out += "  " + JSON.string(key).encodedString + ": "
            if case .array(let items) = value, !items.isEmpty {
                out += "[\n" + items.map { "    " + $0.encodedString }.joined(separator: ",\n") + "\n  ]"
            } else {
                out += value.encodedString
            }
            out += i == pairs.count - 1 ? "\n" : ",\n"
        }
        return out + "}\n"
    }
}
