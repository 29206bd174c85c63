/// What `LocalCloudMachines.boot` starts a cloud machine from.
public struct LocalCloudBootRequest: Sendable, Hashable {
    /// The image a machine boots from.
    public enum Image: Sendable, Hashable {
        /// One of the base images, by the key the cloud knows it by (a slug `debian-12-x64`, an AMI id).
        case base(String)
        /// A layer `LocalCloudMachines.capture` made, by the image key it was captured as.
        case captured(String)
    }

    /// The cloud's id of the machine (a droplet id, an instance id): the machine is `<prefix><id>`.
    public var id: String
    /// The machine's hostname.
    public var hostname: String
    /// Its image.
    public var image: Image
    /// The user data of the create (cloud-init), if any.
    public var userData: String?
    /// Public key lines the cloud authorises for the login user (the account keys named in the create, the key pair).
    public var authorizedKeys: [String]
    /// The cloud's default login user: nil for root (DigitalOcean); otherwise a user made when the image lacks it,
    /// with a home, these keys and passwordless sudo, as cloud-init does on Debian's AMIs (`admin`). The image must
    /// have sudo then.
    public var loginUser: String?

    /// Creates a request.
    public init(id: String, hostname: String, image: Image, userData: String?, authorizedKeys: [String], loginUser: String? = nil) {
        self.id = id
        self.hostname = hostname
        self.image = image
        self.userData = userData
        self.authorizedKeys = authorizedKeys
        self.loginUser = loginUser
    }
}

/// Where a cloud machine is reachable.
public struct LocalCloudAddress: Sendable, Hashable {
    /// IPv4 address.
    public var ipv4: String
    /// Netmask, dotted (`255.255.255.240`).
    public var netmask: String
    /// Gateway (the bridge's address).
    public var gateway: String

    /// Creates an address.
    public init(ipv4: String, netmask: String, gateway: String) {
        self.ipv4 = ipv4
        self.netmask = netmask
        self.gateway = gateway
    }
}

/// A power operation on a cloud machine.
public enum LocalCloudOperation: Sendable, Hashable, CustomStringConvertible {
    /// Stops the machine: the guest gets `grace` seconds to power off, then whatever is left is killed.
    case stop(grace: Double)
    /// Starts the stopped machine; done once sshd answers.
    case start
    /// Stops (with `grace`) and starts the machine.
    case reboot(grace: Double)
    /// Destroys the machine (a machine that does not exist is fine).
    case destroy

    public var description: String {
        switch self {
        case .stop: "stop"
        case .start: "start"
        case .reboot: "reboot"
        case .destroy: "destroy"
        }
    }
}
