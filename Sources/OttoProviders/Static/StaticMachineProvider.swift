import Foundation
import OttoCore

/// Machines that already exist (`provider: static`): otto configures them over SSH but never creates or deletes
/// them. Observation checks that each answers on its SSH port; one that does not shows as unreachable in the plan
/// and in `otto status`, and its changes fail with a clear message.
public final class StaticMachineProvider: Provider {
    public let name: String
    public let concurrencyLimit = 64
    public let schemas = [KindSchema(kind: "machine", computed: ["ipv4", "ssh_port", "ssh_user", "ssh_key", "host_key", "known_hosts"])]
    private let projectRoot: String
    private let knownHosts: String

    /// `knownHosts` is the OpenSSH known_hosts file the hosts' keys are checked against (default ~/.ssh/known_hosts).
    public init(name: String = "static", projectRoot: String, knownHosts: String? = nil) {
        self.name = name
        self.projectRoot = projectRoot
        self.knownHosts = ((knownHosts ?? "~/.ssh/known_hosts") as NSString).expandingTildeInPath
    }

    public func derive(_ resource: Resource) -> Resource {
        var r = resource
        r.attributes["reachable"] = .bool(true)
        return r
    }

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        await withTaskGroup(of: (ResourceAddress, ObservedResource).self) { group in
            for r in requests {
                group.addTask {
                    var a = self.connection(r.attributes)
                    let host = a["ipv4"]?.stringValue ?? ""
                    let port = a["ssh_port"]?.intValue ?? 22
                    a["reachable"] = .bool(await Self.answers(host: host, port: port))
                    return (r.address, ObservedResource(providerID: "\(host):\(port)", attributes: a))
                }
            }
            var out: [ResourceAddress: ObservedResource] = [:]
            for await (a, o) in group { out[a] = o }
            return out
        }
    }

    public func create(_ resource: Resource) async throws -> ObservedResource {
        try await check(resource)
    }

    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        try await check(resource)
    }

    /// Static hosts are never deleted: leaving the configuration only makes otto forget them.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {}

    private func check(_ resource: Resource) async throws -> ObservedResource {
        var a = connection(resource.attributes)
        let host = a["ipv4"]?.stringValue ?? ""
        let port = a["ssh_port"]?.intValue ?? 22
        guard !host.isEmpty else {
            throw OttoError("static.address", "\(resource.address) has no address: list the host under `hosts:` in inventory/ with `address:`")
        }
        guard await Self.answers(host: host, port: port) else {
            throw OttoError("static.unreachable", "static host \(resource.attributes["host"]?.stringValue ?? host) (\(host):\(port)) does not answer on its SSH port; otto never creates or repairs static hosts")
        }
        a["reachable"] = .bool(true)
        return ObservedResource(providerID: "\(host):\(port)", attributes: a)
    }

    /// The desired attributes plus the connection attributes host resources use.
    private func connection(_ attributes: [String: Value]) -> [String: Value] {
        var a = attributes
        a["ipv4"] = attributes["address"] ?? .null
        a["ssh_port"] = attributes["port"] ?? .int(22)
        a["ssh_user"] = attributes["user"] ?? .string("root")
        if let key = attributes["key"]?.stringValue {
            let path = (key as NSString).expandingTildeInPath
            a["ssh_key"] = .string(path.hasPrefix("/") ? path : projectRoot + "/" + path)
        } else {
            a["ssh_key"] = .null
        }
        a["host_key"] = .null
        a["known_hosts"] = .string(knownHosts)
        return a
    }

    /// True when an SSH server greets on host:port within two seconds (off the cooperative pool).
    static func answers(host: String, port: Int) async -> Bool {
        await withCheckedContinuation { cont in
            DispatchQueue.global().async { cont.resume(returning: SSHBanner.answers(host, port: port, timeout: 2)) }
        }
    }
}
