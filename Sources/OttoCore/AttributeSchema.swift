/// The type of an attribute's value. References and unknown values (`Value.ref`, `.unknown`) pass every type until
/// they are resolved; `null` passes for optional attributes.
public indirect enum AttributeType: Sendable, Hashable, CustomStringConvertible {
    /// A string.
    case string
    /// An integer.
    case int
    /// A boolean.
    case bool
    /// A list whose elements all have this type.
    case list(AttributeType)
    /// A map whose values all have this type.
    case map(AttributeType)
    /// Anything (checked by the provider).
    case any

    /// A list of strings.
    public static let strings = AttributeType.list(.string)

    public var description: String {
        switch self {
        case .string: return "a string"
        case .int: return "an integer"
        case .bool: return "a boolean"
        case .list(.string): return "a list of strings"
        case .list(let t): return "a list of \(t.element)"
        case .map(.string): return "a map of strings"
        case .map(let t): return "a map of \(t.element)"
        case .any: return "any value"
        }
    }

    private var element: String {
        switch self {
        case .string: return "strings"
        case .int: return "integers"
        case .bool: return "booleans"
        case .list, .map, .any: return "values (\(description))"
        }
    }

    /// True when `value` has this type; references and unknown values match anything.
    public func accepts(_ value: Value) -> Bool {
        switch (self, value) {
        case (_, .ref), (_, .unknown), (.any, _): return true
        case (.string, .string), (.int, .int), (.bool, .bool): return true
        case (.list(let t), .list(let l)): return l.allSatisfy(t.accepts)
        case (.map(let t), .map(let m)): return m.values.allSatisfy(t.accepts)
        default: return false
        }
    }
}

/// One attribute of a kind: its type, whether the configuration must, may or cannot set it, and how it plans.
public struct AttributeSchema: Sendable, Hashable {
    /// Who sets the attribute.
    public enum Origin: Sendable, Hashable {
        /// The configuration must set it.
        case required
        /// The configuration may set it.
        case optional
        /// Only the provider sets it (reported by observation, or filled in by `Provider.derive`); the configuration
        /// cannot.
        case computed
    }

    /// The name (declared in `AttributeName`).
    public var name: String
    /// Its type.
    public var type: AttributeType
    /// Required, optional or computed.
    public var origin: Origin
    /// Never shown: plans (text and JSON), logs, API output and errors print `(sensitive)` instead of the value.
    public var sensitive: Bool
    /// A change cannot be applied in place: the resource is replaced.
    public var forceNew: Bool
    /// Never compared against what exists (ids the provider fills in, write-only inputs such as file content).
    public var ignoredInDiff: Bool
    /// A list compared as a set (order does not matter).
    public var unordered: Bool
    /// Sensitive only for resources whose attribute of this name is set (true, or a non-empty string, list or map),
    /// e.g. a file's `content` when it says `sensitive: true`, a unit's rendered text when it has an environment.
    /// `sensitive` (always) wins over it.
    public var sensitiveWhen: String?
    /// How plans show a change of it (its value, a text's diff, a listing's changed names).
    public var presentation: Presentation

    /// How plans show a change of an attribute.
    public enum Presentation: Sendable, Hashable {
        /// The values before and after.
        case value
        /// The attribute is the sha256 of the text attribute `text`: a change shows as the unified diff of the texts.
        case digest(of: String)
        /// A map of file names to what identifies each file's content: a change shows the names added, removed and changed.
        case listing
    }

    /// True when the attribute's values are hidden for a resource with these attributes.
    public func isSensitive(in attributes: [String: Value]) -> Bool {
        if sensitive { return true }
        guard let flag = sensitiveWhen, let v = attributes[flag] else { return false }
        switch v {
        case .null, .bool(false): return false
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .map(let m): return !m.isEmpty
        default: return true  // a reference or an unknown value may turn out set
        }
    }

    /// Creates an attribute.
    public init(_ name: String, _ type: AttributeType, _ origin: Origin, sensitive: Bool = false, forceNew: Bool = false,
                ignoredInDiff: Bool = false, unordered: Bool = false, sensitiveWhen: String? = nil,
                presentation: Presentation = .value) {
        self.name = name
        self.type = type
        self.origin = origin
        self.sensitive = sensitive
        self.forceNew = forceNew
        self.ignoredInDiff = ignoredInDiff
        self.unordered = unordered
        self.sensitiveWhen = sensitiveWhen
        self.presentation = presentation
    }

    /// A required attribute.
    public static func required(_ name: String, _ type: AttributeType, sensitive: Bool = false, forceNew: Bool = false,
                                ignoredInDiff: Bool = false, unordered: Bool = false, sensitiveWhen: String? = nil) -> AttributeSchema {
        AttributeSchema(name, type, .required, sensitive: sensitive, forceNew: forceNew, ignoredInDiff: ignoredInDiff, unordered: unordered,
                        sensitiveWhen: sensitiveWhen)
    }

    /// An optional attribute.
    public static func optional(_ name: String, _ type: AttributeType, sensitive: Bool = false, forceNew: Bool = false,
                                ignoredInDiff: Bool = false, unordered: Bool = false, sensitiveWhen: String? = nil) -> AttributeSchema {
        AttributeSchema(name, type, .optional, sensitive: sensitive, forceNew: forceNew, ignoredInDiff: ignoredInDiff, unordered: unordered,
                        sensitiveWhen: sensitiveWhen)
    }

    /// A computed attribute (reported or derived by the provider). `ignoredInDiff` says whether the planner compares
    /// it (derived values such as a content hash are compared; ids the provider assigns are not).
    public static func computed(_ name: String, _ type: AttributeType, sensitive: Bool = false, ignoredInDiff: Bool = true,
                                unordered: Bool = false, sensitiveWhen: String? = nil, presentation: Presentation = .value) -> AttributeSchema {
        AttributeSchema(name, type, .computed, sensitive: sensitive, ignoredInDiff: ignoredInDiff, unordered: unordered,
                        sensitiveWhen: sensitiveWhen, presentation: presentation)
    }
}
