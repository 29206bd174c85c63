/// Real machines behind the fake DigitalOcean's droplets, for end-to-end tests: a droplet made while the fake has a
/// backing boots a machine (its address is the droplet's), its power actions stop and start it, its snapshots
/// capture it, and deleting it destroys it. Without a backing the fake only pretends (documentation-range addresses,
/// nothing boots).
///
/// The fake calls these from tasks of its own, so calls for one droplet may overlap (a delete may arrive while the
/// boot still runs): implementations order the operations of one droplet themselves. A thrown error fails the action
/// that asked (it ends `errored`), and its description is the reason the fake records.
public protocol FakeDropletBacking: Sendable {
    /// Boots a machine for a new droplet and returns its address once it is up (sshd answers). The machine must
    /// apply the user data's cloud-config before its first boot, as cloud-init does, and authorise `authorizedKeys`
    /// for root.
    func boot(_ request: FakeDropletBootRequest) async throws -> FakeDropletAddress
    /// Stops the droplet's machine: `graceful` for a `shutdown` action (the guest powers off), else a `power_off`
    /// (cut short).
    func stop(droplet: Int, graceful: Bool) async throws
    /// Starts the droplet's stopped machine (a `power_on` action) and returns once it is up.
    func start(droplet: Int) async throws
    /// Restarts the droplet's machine (`reboot`, `power_cycle`) and returns once it is up again.
    func reboot(droplet: Int) async throws
    /// Captures the droplet's machine as snapshot `snapshot` (the image id the fake gave it), for `boot` to start
    /// droplets from later.
    func capture(droplet: Int, snapshot: Int, name: String) async throws
    /// Destroys the droplet's machine; a droplet without one (its boot failed) is fine.
    func destroy(droplet: Int) async throws
    /// Forgets snapshot `snapshot` (its image was deleted); machines booted from it keep running.
    func deleteImage(snapshot: Int) async throws
    /// Whether the droplet's machine runs now; nil when the backing knows no machine for it.
    func isRunning(droplet: Int) async -> Bool?
}

/// What a backing boots a droplet from.
public struct FakeDropletBootRequest: Sendable, Hashable {
    /// The image a droplet is created from.
    public enum Image: Sendable, Hashable {
        /// A public distribution image, by slug (`debian-12-x64`).
        case slug(String)
        /// A snapshot the backing captured, by image id.
        case snapshot(Int)
    }

    /// The droplet id.
    public var dropletID: Int
    /// The droplet name (its hostname).
    public var name: String
    /// Its image.
    public var image: Image
    /// The `user_data` of the create, if any.
    public var userData: String?
    /// The public key lines of the account keys the create named in `ssh_keys`, for root's `authorized_keys`.
    public var authorizedKeys: [String]

    /// Creates a request.
    public init(dropletID: Int, name: String, image: Image, userData: String?, authorizedKeys: [String]) {
        self.dropletID = dropletID
        self.name = name
        self.image = image
        self.userData = userData
        self.authorizedKeys = authorizedKeys
    }
}

/// Where a backed droplet's machine is reachable: the droplet's `networks.v4` entries.
public struct FakeDropletAddress: Sendable, Hashable {
    /// IPv4 address.
    public var ipv4: String
    /// Netmask, dotted (`255.255.255.224`).
    public var netmask: String
    /// Gateway.
    public var gateway: String

    /// Creates an address.
    public init(ipv4: String, netmask: String, gateway: String) {
        self.ipv4 = ipv4
        self.netmask = netmask
        self.gateway = gateway
    }
}
