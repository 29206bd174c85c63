import OttoCore

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

/// Lifecycle settings shared by every resource-producing entry of a site.
public struct LifecycleSpec: Sendable, Hashable {
    /// `prevent_destroy`.
    public var preventDestroy = false
    /// `ignore_changes`.
    public var ignoreChanges: [String] = []
    /// `depends_on`: addresses, each with where it was written.
    public var dependsOn: [Located<String>] = []
    /// Creates empty settings.
    public init() {}
}
