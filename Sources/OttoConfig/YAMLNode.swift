import OttoCore

/// One node of a YAML document, with where it was written.
///
/// Aliases are already expanded and `<<` merge keys already applied, so consumers see plain trees.
public struct YAMLNode: Sendable, Hashable {
    /// How a scalar was written; a quoted `"123"` is a string, a plain `123` is a number.
    public enum ScalarStyle: Sendable, Hashable { case plain, singleQuoted, doubleQuoted, literal, folded }

    /// The node's content.
    public enum Content: Sendable, Hashable {
        /// A scalar's text and how it was written.
        case scalar(String, ScalarStyle)
        /// A sequence's items.
        case sequence([YAMLNode])
        /// A mapping's entries in file order (keys are unique after parsing).
        case mapping([Entry])
    }

    /// One key/value pair of a mapping.
    public struct Entry: Sendable, Hashable {
        /// The key node (a scalar in every document otto reads).
        public var key: YAMLNode
        /// The value node.
        public var value: YAMLNode
        /// Creates an entry.
        public init(key: YAMLNode, value: YAMLNode) { self.key = key; self.value = value }
    }

    /// The content.
    public var content: Content
    /// Where the node starts.
    public var location: SourceLocation
    /// An explicit tag (`!!str`, `!secret`), if one was written.
    public var tag: String?

    /// Creates a node.
    public init(_ content: Content, at location: SourceLocation, tag: String? = nil) {
        self.content = content
        self.location = location
        self.tag = tag
    }
}
