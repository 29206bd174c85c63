import OttoCore
import OttoSSH

/// `service`: a systemd service otto enables and starts (or disables and stops). Removing one from the
/// configuration only forgets it: the service stays as it is.
struct HostServiceKind: HostKind {
    private typealias S = AttributeName.Service
    let kind = "service"
    let schema = HostShared.schema("service", [
        .required(S.name, .string), .optional(S.enabled, .bool), .optional(S.running, .bool),
    ])

    func probe(index i: Int, _ a: [String: Value]) -> String { "u \(i) \(a.shellQuoted(S.name))" }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        HostShared.observeUnit(&a, facts)
        return true
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        try await HostShared.setService(r.attributes, on: host, restart: false)
    }
}
