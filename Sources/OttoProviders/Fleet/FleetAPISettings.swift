import Foundation
import OttoCore
import OttoSSH

/// Settings of a `fleet` provider (an inventory `providers:` entry of type `fleet`): where fleet's v1 API is.
///
/// Keys:
/// - `endpoint` (required): `http://HOST:PORT` (or `https://`), the API root (`/fleet/v1/` is appended; a root that
///   already ends in it is taken as is), or `unix:///var/run/fleet.sock`, fleetd's socket on a machine of the cluster,
///   reached over SSH.
/// - For the unix socket only: `ssh_host` (required), `ssh_port` (default 22), `ssh_user` (default `root`), `ssh_key`
///   (a private key file, relative to the project; without it, ssh-agent's keys), `host_key` (required: the machine's
///   public host key, `ssh-ed25519 AAAA…`, pinned: a machine presenting another key is refused).
public struct FleetAPISettings: Sendable, Hashable, CustomStringConvertible {
    /// How otto reaches the API.
    public enum Endpoint: Sendable, Hashable {
        /// Over HTTP: the root URL, without `/fleet/v1` (`http://10.0.0.5:49153`).
        case http(root: String)
        /// fleetd's unix socket on a machine otto logs in to: each request is one command run over the SSH session.
        case unixSocket(path: String, ssh: SSHTarget)
    }

    /// Where the API is.
    public var endpoint: Endpoint

    /// The keys an inventory entry of type `fleet` takes (besides `type` and `concurrency`).
    public static let keys = ["endpoint", "ssh_host", "ssh_port", "ssh_user", "ssh_key", "host_key"]

    /// Settings for `endpoint`.
    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// Reads an inventory entry's values; `ssh_key` relative to `root`. Messages start with where the provider is
    /// declared and say which setting to change.
    public init(_ config: ProviderSettingValues, root: String) throws {
        let place = config.place
        func text(_ key: String) -> String? {
            config[key]?.stringValue.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let endpoint = text("endpoint") else {
            throw OttoError("provider.config", "\(place) needs `endpoint:`: fleet's API root (http://HOST:PORT) or its socket reached over SSH (unix:///var/run/fleet.sock with ssh_host and host_key)")
        }
        let sshKeys = ["ssh_host", "ssh_port", "ssh_user", "ssh_key", "host_key"]
        if endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") {
            guard URL(string: endpoint)?.host?.isEmpty == false else {
                throw OttoError("provider.config", "\(place): `endpoint` \(Value.string(endpoint)) is not a URL like http://10.0.0.5:49153")
            }
            if let stray = sshKeys.first(where: { config[$0] != nil }) {
                throw OttoError("provider.config", "\(place): `\(stray)` is only for an endpoint on fleet's unix socket (unix:///var/run/fleet.sock); `endpoint` \(Value.string(endpoint)) is reached over HTTP directly")
            }
            self.init(endpoint: .http(root: Self.apiRoot(endpoint)))
            return
        }
        guard endpoint.hasPrefix("unix://") else {
            throw OttoError("provider.config", "\(place): `endpoint` must start with http://, https:// or unix:// (fleet's socket, e.g. unix:///var/run/fleet.sock), got \(Value.string(endpoint))")
        }
        let socket = String(endpoint.dropFirst("unix://".count))
        guard socket.hasPrefix("/"), socket.count > 1 else {
            throw OttoError("provider.config", "\(place): `endpoint` \(Value.string(endpoint)) needs an absolute socket path, e.g. unix:///var/run/fleet.sock")
        }
        guard let host = text("ssh_host") else {
            throw OttoError("provider.config", "\(place): `endpoint` \(Value.string(endpoint)) is a socket on a fleet machine, which otto reaches over SSH: set `ssh_host` (and `host_key`)")
        }
        guard let hostKey = text("host_key") else {
            throw OttoError("provider.config", "\(place): fleet's socket is reached over SSH to \(host), and otto connects only to a host whose key it knows: set `host_key` to the machine's public host key (`ssh-ed25519 AAAA…`, e.g. from `ssh-keyscan -t ed25519 \(host)` checked against the machine's /etc/ssh/ssh_host_ed25519_key.pub)")
        }
        guard hostKey.split(separator: " ").count >= 2, SSHHostKey.fingerprint(hostKey) != "SHA256:(not a key)" else {
            throw OttoError("provider.config", "\(place): `host_key` must be an OpenSSH public key line (`ssh-ed25519 AAAA…`), got \(Value.string(String(hostKey.prefix(40))))")
        }
        var port = 22
        if let value = config["ssh_port"], value != .null {
            guard let number = value.intValue ?? value.stringValue.flatMap({ Int($0) }), (1...65535).contains(number) else {
                throw OttoError("provider.config", "\(place): `ssh_port` must be a port number from 1 to 65535, got \(value)")
            }
            port = number
        }
        let key = text("ssh_key").map { ($0 as NSString).expandingTildeInPath }
            .map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: root).appendingPathComponent($0).path }
        let target = SSHTarget(host: host, port: port, user: text("ssh_user") ?? "root", identityFiles: key.map { [$0] } ?? [],
                               hostKeyPolicy: .pinned(hostKey))
        self.init(endpoint: .unixSocket(path: socket, ssh: target))
    }

    /// `endpoint` without trailing slashes and without a final `/fleet/v1`.
    static func apiRoot(_ endpoint: String) -> String {
        var root = endpoint
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/fleet/v1") { root.removeLast("/fleet/v1".count) }
        return root
    }

    /// Where the API is, for messages: `http://HOST:PORT` or `unix:///var/run/fleet.sock on root@HOST:22`.
    public var description: String {
        switch endpoint {
        case .http(let root): return root
        case .unixSocket(let path, let ssh): return "unix://\(path) on \(ssh.user)@\(ssh.host):\(ssh.port)"
        }
    }
}
