/// How a host's key is verified, right after the SSH handshake and before authentication.
public enum HostKeyPolicy: Sendable, Hashable {
    /// Exactly this key, `"ssh-ed25519 AAAA..."` (type and base64; a trailing comment is ignored).
    /// For machines otto created and whose key it recorded.
    case pinned(String)
    /// Strict: the host must be in this OpenSSH known_hosts file (hashed entries too). Nothing is ever added.
    case knownHosts(path: String)
}

/// Where and as whom to connect.
public struct SSHTarget: Sendable, Hashable {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Remote user.
    public var user: String
    /// Private key files, tried in order; empty means the keys of ssh-agent.
    public var identityFiles: [String]
    /// How the host key is verified.
    public var hostKeyPolicy: HostKeyPolicy
    /// Limit for each step of connecting: the TCP connect, the SSH handshake, each authentication exchange.
    public var connectTimeout: Duration
    /// The ssh-agent socket used when `identityFiles` is empty; nil means `SSH_AUTH_SOCK`.
    public var agentSocket: String?

    /// Creates a target.
    public init(host: String, port: Int = 22, user: String = "root", identityFiles: [String] = [],
                hostKeyPolicy: HostKeyPolicy, connectTimeout: Duration = .seconds(10), agentSocket: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.hostKeyPolicy = hostKeyPolicy
        self.connectTimeout = connectTimeout
        self.agentSocket = agentSocket
    }

    /// `host:port`, as used in messages.
    var endpoint: String { "\(host):\(port)" }
}
