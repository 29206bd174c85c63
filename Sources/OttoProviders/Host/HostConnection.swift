import Foundation
import OttoCore
import OttoSSH

/// Where a host resource lives and how to reach it, from the connection attributes every host resource carries
/// (references to its machine's `ipv4`, `ssh_port`, `ssh_user`, `ssh_key`, `host_key`, `known_hosts`).
struct HostConnection: Hashable, Sendable {
    var machine: String
    var host: String
    var port: Int
    var user: String
    var key: String?
    var hostKey: String?
    var knownHosts: String?

    /// The connection attribute names.
    static let attributeNames = AttributeName.Host.connection
    private typealias H = AttributeName.Host

    /// Nil while any of them is still unknown (the machine is being created).
    init?(_ attributes: [String: Value]) {
        guard let host = attributes[H.host]?.stringValue, !host.isEmpty else { return nil }
        for name in Self.attributeNames where attributes[name].map({ !$0.isFullyKnown }) ?? false { return nil }
        self.machine = attributes[H.machine]?.stringValue ?? host
        self.host = host
        self.port = attributes[H.sshPort]?.intValue ?? 22
        self.user = attributes[H.sshUser]?.stringValue ?? "root"
        self.key = attributes[H.sshKey]?.stringValue
        self.hostKey = attributes[H.hostKey]?.stringValue
        self.knownHosts = attributes[H.knownHosts]?.stringValue
    }

    /// Strict host key checking: the pinned key for machines otto created, a known_hosts file otherwise.
    var target: SSHTarget {
        let policy: HostKeyPolicy
        if let hostKey { policy = .pinned(hostKey) } else {
            let path = knownHosts ?? "~/.ssh/known_hosts"
            policy = .knownHosts(path: (path as NSString).expandingTildeInPath)
        }
        return SSHTarget(host: host, port: port, user: user, identityFiles: key.map { [($0 as NSString).expandingTildeInPath] } ?? [],
                         hostKeyPolicy: policy)
    }

    /// The attributes to echo back in observations and handlers.
    func attributes(from source: [String: Value]) -> [String: Value] {
        var out: [String: Value] = [:]
        for name in Self.attributeNames + [H.machine] { out[name] = source[name] ?? .null }
        return out
    }
}
