import Foundation
import OttoCore
import OttoSSH

private typealias H = AttributeName.Host
private typealias M = AttributeName.Machine

/// Machines that already exist (`provider: static`): otto configures them over SSH but never creates or deletes
/// them. Observation checks that each answers on its SSH port; one that does not shows as unreachable in the plan
/// and in `otto status`, and its changes fail with a clear message.
public final class StaticMachineProvider: Provider {
    public let name: String
    public let concurrencyLimit = 64
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [KindSchema(kind: "machine", attributes: [
        .required(M.name, .string), .optional(M.group, .string), .optional(M.image, .string), .optional(M.size, .string),
        .optional(M.region, .string), .optional(M.host, .string), .optional(M.address, .string), .optional(M.port, .int),
        .optional(M.user, .string), .optional(M.key, .string),
        .computed(AttributeName.Host.reachable, .bool, ignoredInDiff: false),
    ] + SharedSchemas.machineConnection)]
    private let projectRoot: String
    private let knownHosts: String
    /// Warm SSH sessions (`otto serve`): a host with one open answers SSH, without a new connection to its sshd.
    private let sessions: SSHPool?

    /// `knownHosts` is the OpenSSH known_hosts file the hosts' keys are checked against (default ~/.ssh/known_hosts).
    /// With `sessions`, a host that has an open session there is reachable without a new connection (each new
    /// connection costs the host an sshd process).
    public init(name: String = "static", projectRoot: String, knownHosts: String? = nil, sessions: SSHPool? = nil) {
        self.name = name
        self.projectRoot = projectRoot
        self.knownHosts = ((knownHosts ?? "~/.ssh/known_hosts") as NSString).expandingTildeInPath
        self.sessions = sessions
    }

    public func derive(_ resource: Resource) -> Resource {
        var r = resource
        r.attributes[H.reachable] = .bool(true)
        return r
    }

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        await withTaskGroup(of: (ResourceAddress, ObservedResource).self) { group in
            for r in requests {
                group.addTask {
                    var a = self.connection(r.attributes)
                    let host = a[M.ipv4]?.stringValue ?? ""
                    let port = a[H.sshPort]?.intValue ?? 22
                    let warm = await self.sessions?.hasOpenSession(host: host, port: port) ?? false
                    a[H.reachable] = .bool(warm ? true : await Self.answers(host: host, port: port))
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
        let host = a[M.ipv4]?.stringValue ?? ""
        let port = a[H.sshPort]?.intValue ?? 22
        guard !host.isEmpty else {
            throw OttoError("static.address", "\(resource.address) has no address: list the host under `hosts:` in inventory/ with `address:`")
        }
        guard await Self.answers(host: host, port: port) else {
            throw OttoError("static.unreachable", "static host \(resource.attributes[M.host]?.stringValue ?? host) (\(host):\(port)) does not answer on its SSH port; otto never creates or repairs static hosts")
        }
        a[H.reachable] = .bool(true)
        return ObservedResource(providerID: "\(host):\(port)", attributes: a)
    }

    /// The desired attributes plus the connection attributes host resources use.
    private func connection(_ attributes: [String: Value]) -> [String: Value] {
        var a = attributes
        a[M.ipv4] = attributes[M.address] ?? .null
        a[H.sshPort] = attributes[M.port] ?? .int(22)
        a[H.sshUser] = attributes[M.user] ?? .string("root")
        if let key = attributes[M.key]?.stringValue {
            let path = (key as NSString).expandingTildeInPath
            a[H.sshKey] = .string(path.hasPrefix("/") ? path : projectRoot + "/" + path)
        } else {
            a[H.sshKey] = .null
        }
        a[H.hostKey] = .null
        a[H.knownHosts] = .string(knownHosts)
        return a
    }

    /// True when an SSH server greets on host:port within two seconds (off the cooperative pool).
    static func answers(host: String, port: Int) async -> Bool {
        await withCheckedContinuation { cont in
            DispatchQueue.global().async { cont.resume(returning: SSHBanner.answers(host, port: port, timeout: 2)) }
        }
    }
}
