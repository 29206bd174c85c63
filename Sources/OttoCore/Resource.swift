/// One desired resource, as the configuration describes it after site expansion.
public struct Resource: Sendable, Hashable, Codable {
    /// Stable address, e.g. `dns_record.demo.www.CNAME`.
    public var address: ResourceAddress
    /// Name of the provider instance that manages it (an inventory `providers:` key, e.g. `powerdns`).
    public var provider: String
    /// Desired attributes. Values may reference other resources' attributes.
    public var attributes: [String: Value]
    /// Resources this one needs first, with where the dependency was written.
    public var dependencies: [Dependency]
    /// Per-resource lifecycle rules.
    public var lifecycle: Lifecycle
    /// Where the resource was declared.
    public var location: SourceLocation?
    /// The site that declares it; nil for what belongs to no single site (a provider account's SSH key).
    public var site: String?

    /// The resource kind (`address.kind`).
    public var kind: String { address.kind }
    /// The lock and serial that cover it.
    public var scope: StateScope { StateScope(site: site) }

    /// Creates a resource.
    public init(address: ResourceAddress, provider: String, attributes: [String: Value],
                dependencies: [Dependency] = [], lifecycle: Lifecycle = Lifecycle(), location: SourceLocation? = nil,
                site: String? = nil) {
        self.site = site
        self.address = address
        self.provider = provider
        self.attributes = attributes
        self.dependencies = dependencies
        self.lifecycle = lifecycle
        self.location = location
    }
}

/// An edge of the dependency graph: "this resource needs `address`", written at `location`.
public struct Dependency: Sendable, Hashable, Codable {
    /// The resource needed first.
    public var address: ResourceAddress
    /// Where the reference was written (for cycle errors).
    public var location: SourceLocation?
    /// Creates a dependency.
    public init(_ address: ResourceAddress, at location: SourceLocation? = nil) {
        self.address = address
        self.location = location
    }
}

/// Lifecycle rules an operator can set on a resource.
public struct Lifecycle: Sendable, Hashable, Codable {
    /// Refuse any plan that would delete or replace this resource.
    public var preventDestroy: Bool
    /// Attributes whose differences are ignored when planning updates.
    public var ignoreChanges: [String]
    /// Overrides the kind's default replace order when set.
    public var createBeforeDestroy: Bool?

    /// Creates lifecycle rules; the defaults change nothing.
    public init(preventDestroy: Bool = false, ignoreChanges: [String] = [], createBeforeDestroy: Bool? = nil) {
        self.preventDestroy = preventDestroy
        self.ignoreChanges = ignoreChanges
        self.createBeforeDestroy = createBeforeDestroy
    }
}
