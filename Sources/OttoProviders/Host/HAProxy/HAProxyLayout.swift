/// Where the pieces of a running haproxy live: its admin socket (the runtime API), the server-state file a reload
/// reads back, the local stats page, and the chroot, user and syslog it runs with. `machine` is Debian's layout on
/// otto's load balancers; tests render the same configuration with paths of their own.
public struct HAProxyLayout: Sendable, Hashable {
    /// The runtime API's unix socket (`stats socket ... level admin`).
    public var adminSocket: String
    /// The file `show servers state` is saved to before a reload and loaded from at start (`server-state-file`).
    public var serverStateFile: String
    /// The address of the local stats page (`listen otto-stats`).
    public var statsBind: String
    /// The directory haproxy chroots into (nil: none).
    public var chroot: String?
    /// The user and group haproxy drops to (nil: stays as started).
    public var user: String?
    /// The syslog socket (nil: no logging).
    public var log: String?

    /// Creates a layout.
    public init(adminSocket: String, serverStateFile: String, statsBind: String, chroot: String? = nil, user: String? = nil,
                log: String? = nil) {
        self.adminSocket = adminSocket
        self.serverStateFile = serverStateFile
        self.statsBind = statsBind
        self.chroot = chroot
        self.user = user
        self.log = log
    }

    /// Debian's haproxy on a machine otto manages (systemd runs it master-worker: `haproxy -Ws`).
    public static let machine = HAProxyLayout(adminSocket: "/run/haproxy/admin.sock", serverStateFile: "/var/lib/haproxy/server-state",
                                              statsBind: "127.0.0.1:8404", chroot: "/var/lib/haproxy", user: "haproxy", log: "/dev/log")
}
