import OttoCore

/// Reads a JSON document into `YAMLNode`s, so that desired state written over the HTTP API goes through the same
/// configuration reader as YAML. Every node keeps its line and column in the document (under a synthetic file name
/// such as `api:/inv/web1`), so diagnostics read `api:/inv/web1:1:20: error: port must be between 1 and 65535`.
///
/// The syntax is OttoCore's `JSONNode` (strict RFC 8259); JSON strings become double-quoted scalars (always text, as a
/// quoted YAML scalar is); numbers, `true`, `false` and `null` become plain scalars and resolve exactly like YAML 1.2's.
public enum JSONNodeReader {
    /// Parses `bytes` as one JSON value. Throws every problem found (the first syntax error stops the read).
    public static func parse(_ bytes: some Collection<UInt8>, file: String, maxDepth: Int = YAMLLimits.default.maxDepth)
        throws(DiagnosticsError) -> YAMLNode {
        YAMLNode(try JSONNode.parse(bytes, file: file, maxDepth: maxDepth))
    }

    /// Parses a JSON document held in a string.
    public static func parse(_ text: String, file: String) throws(DiagnosticsError) -> YAMLNode {
        try parse(Array(text.utf8), file: file)
    }
}

extension YAMLNode {
    /// The YAML node a JSON node stands for: strings double-quoted, literals plain, objects as mappings.
    public init(_ json: JSONNode) {
        switch json.content {
        case .string(let s): self.init(.scalar(s, .doubleQuoted), at: json.location)
        case .literal(let text): self.init(.scalar(text, .plain), at: json.location)
        case .array(let items): self.init(.sequence(items.map(YAMLNode.init)), at: json.location)
        case .object(let members):
            self.init(.mapping(members.map { Entry(key: YAMLNode($0.key), value: YAMLNode($0.value)) }), at: json.location)
        }
    }
}
