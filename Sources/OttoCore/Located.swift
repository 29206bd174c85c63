/// A value with where it was written, so later checks can point at it.
public struct Located<T: Sendable & Hashable>: Sendable, Hashable {
    /// The value.
    public var value: T
    /// Where it was written.
    public var location: SourceLocation
    /// Creates a located value.
    public init(_ value: T, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}
