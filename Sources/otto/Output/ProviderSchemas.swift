import OttoConfig
import OttoCore
import OttoProviders

/// Every provider's kind schemas, by provider type. Schemas are static, so commands that do not start providers
/// (`otto validate`, `otto state show`) can check resources and hide sensitive values with them.
enum ProviderSchemas {
    /// Schemas by provider type (`host` for host configuration).
    static let byType: [String: [KindSchema]] = [
        "host": HostProvider.kindSchemas, "local": LocalMachineProvider.kindSchemas, "static": StaticMachineProvider.kindSchemas,
        "powerdns": PowerDNSProvider.kindSchemas, "digitalocean": DigitalOceanProvider.kindSchemas, "aws": AWSProvider.kindSchemas,
    ]

    /// The sensitive attribute names of `kind`, for any provider (for output that does not know the provider's type).
    static func sensitiveNames(kind: String) -> Set<String> {
        byType.values.joined().filter { $0.kind == kind }.reduce(into: Set<String>()) { $0.formUnion($1.sensitive) }
    }

    /// Checks every resource of `project` against its provider's schema (what the planner checks, without providers).
    static func check(_ project: Project) -> [Diagnostic] {
        project.resources.flatMap { r -> [Diagnostic] in
            let type = r.provider == "host" ? "host" : project.inventory.providerType(r.provider)
            return type.flatMap { byType[$0] }?.first { $0.kind == r.kind }?.check(r) ?? []
        }
    }
}
