extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    /// `"text"` is `.string("text")`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `3` is `.int(3)`.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// `true` is `.bool(true)`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `[a, b]` is `.list([a, b])`.
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    /// `["k": v]` is `.map(["k": v])`.
    public init(dictionaryLiteral elements: (String, Value)...) { self = .map(Dictionary(elements, uniquingKeysWith: { _, b in b })) }
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
}
