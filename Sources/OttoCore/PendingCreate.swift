/// A create that was started but whose result is not recorded yet: the executor writes it to state, durably, before
/// calling the provider, for kinds whose create is not idempotent (`KindSchema.keyedCreate`). If otto dies or the
/// response is lost, the next refresh looks the resource up by `key` and adopts what exists instead of creating it
/// again. It leaves the state when the resource is recorded, or when a refresh shows the create never happened.
public struct PendingCreate: Sendable, Hashable, Codable {
    /// The resource being created.
    public var address: ResourceAddress
    /// Provider instance that creates it.
    public var provider: String
    /// The idempotency key the provider attaches to what it creates (a tag, a client token, a caller reference).
    public var key: String
    /// The attributes sent to the provider (references resolved): enough to find or delete what was made.
    public var attributes: [String: Value]
    /// What the resource depends on (for ordering its delete if it turns out to be an orphan).
    public var dependencies: [ResourceAddress]
    /// When the create started (seconds since 1970).
    public var since: Double
    /// The site of the resource (nil: account-wide).
    public var site: String?

    /// The lock and serial that cover it.
    public var scope: StateScope { StateScope(site: site) }

    /// Creates a pending create.
    public init(address: ResourceAddress, provider: String, key: String, attributes: [String: Value],
                dependencies: [ResourceAddress] = [], since: Double, site: String? = nil) {
        self.site = site
        self.address = address
        self.provider = provider
        self.key = key
        self.attributes = attributes
        self.dependencies = dependencies
        self.since = since
    }

    /// A fresh random key: 20 lowercase hex characters (80 bits), valid as a DigitalOcean tag suffix, an EC2
    /// ClientToken and a Route53 CallerReference.
    public static func newKey() -> String {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef")
        return String((0..<20).map { _ in hex[Int(generator.next() % 16)] })
    }
}
