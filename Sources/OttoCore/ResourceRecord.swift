/// What the state remembers about one managed resource.
public struct ResourceRecord: Sendable, Hashable, Codable {
    /// The resource's address.
    public var address: ResourceAddress
    /// Provider instance that manages it.
    public var provider: String
    /// The provider's id for it.
    public var providerID: String
    /// Attributes as last seen (after the last apply or refresh).
    public var attributes: [String: Value]
    /// What it depended on when last applied (used to delete in reverse order once it leaves the config).
    public var dependencies: [ResourceAddress]
    /// The site that declared it (nil: account-wide), which says whose lock and serial cover it.
    public var site: String?

    /// The resource kind.
    public var kind: String { address.kind }
    /// The lock and serial that cover it.
    public var scope: StateScope { StateScope(site: site) }

    /// Creates a record.
    public init(address: ResourceAddress, provider: String, providerID: String,
                attributes: [String: Value], dependencies: [ResourceAddress] = [], site: String? = nil) {
        self.site = site
        self.address = address
        self.provider = provider
        self.providerID = providerID
        self.attributes = attributes
        self.dependencies = dependencies
    }

    /// The record as a provider observation.
    public var observed: ObservedResource { ObservedResource(providerID: providerID, attributes: attributes) }
}
