/// What the planner needs to know about one resource kind.
public struct KindSchema: Sendable, Hashable {
    /// The kind, e.g. `dns_record`.
    public var kind: String
    /// Attributes whose change cannot be applied in place: the resource is replaced.
    public var forceNew: Set<String>
    /// Attributes the provider fills in (ids, addresses): never compared against the configuration.
    public var computed: Set<String>
    /// List attributes compared as sets (order does not matter), e.g. the values of a DNS rrset.
    public var unordered: Set<String>
    /// Replace by creating the new one first, then deleting the old one (default: delete first).
    public var createBeforeDestroy: Bool

    /// Creates a schema.
    public init(kind: String, forceNew: Set<String> = [], computed: Set<String> = [], unordered: Set<String> = [],
                createBeforeDestroy: Bool = false) {
        self.kind = kind
        self.forceNew = forceNew
        self.computed = computed
        self.unordered = unordered
        self.createBeforeDestroy = createBeforeDestroy
    }
}

/// What exists for one resource, as a provider reports it.
public struct ObservedResource: Sendable, Hashable, Codable {
    /// The provider's own id (droplet id, rrset key, ...).
    public var providerID: String
    /// Every attribute the provider reports, in the same shape as desired attributes.
    public var attributes: [String: Value]

    /// Creates an observation.
    public init(providerID: String, attributes: [String: Value]) {
        self.providerID = providerID
        self.attributes = attributes
    }
}

/// One resource a provider is asked to look for during a bulk observation.
public struct ObserveRequest: Sendable, Hashable {
    /// The resource's address.
    public var address: ResourceAddress
    /// The id recorded in state, when there is one.
    public var providerID: String?
    /// Attributes from configuration or, for orphans, from state: enough to find the resource.
    public var attributes: [String: Value]

    /// Creates a request.
    public init(address: ResourceAddress, providerID: String?, attributes: [String: Value]) {
        self.address = address
        self.providerID = providerID
        self.attributes = attributes
    }
}

/// A provider manages resources of some kinds through one API (request/response, like Terraform's).
///
/// Observation is in bulk: one call per kind gets everything the provider needs (list calls, not one
/// call per resource). Every operation is idempotent.
public protocol Provider: AnyObject, Sendable {
    /// Instance name, the key under `providers:` in inventory (e.g. `powerdns`).
    var name: String { get }
    /// Most actions this provider runs at once.
    var concurrencyLimit: Int { get }
    /// The kinds it manages and how they plan.
    var schemas: [KindSchema] { get }

    /// Finds what exists for every request of one kind; a missing key means "does not exist".
    func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource]
    /// Creates the resource (references already resolved) and returns what now exists.
    func create(_ resource: Resource) async throws -> ObservedResource
    /// Changes the resource in place; `changed` names the attributes that differ.
    func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource
    /// Deletes what exists; deleting something already gone is not an error.
    func delete(_ address: ResourceAddress, current: ObservedResource) async throws
}

extension Provider {
    /// The schema for `kind`, when this provider manages it.
    public func schema(for kind: String) -> KindSchema? { schemas.first { $0.kind == kind } }
}
