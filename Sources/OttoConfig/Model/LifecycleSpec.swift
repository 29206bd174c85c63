import OttoCore

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
