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
        "fleet": FleetAPIProvider.kindSchemas, Project.fleetSchedulerProvider: [FleetSchedulerProvider.schema],
    ]

    /// The sensitive attribute names of a resource of `kind` with these attributes, for any provider (for output
    /// that does not know the provider's type).
    static func sensitiveNames(kind: String, attributes: [String: Value]) -> Set<String> {
        byType.values.joined().filter { $0.kind == kind }.reduce(into: Set<String>()) { $0.formUnion($1.sensitive(in: [attributes])) }
    }

    /// Checks every resource of `project` against its provider's schema (what the planner checks, without providers).
    static func check(_ project: Project) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for r in project.resources {
            let type = ["host", Project.fleetSchedulerProvider].contains(r.provider) ? r.provider : project.inventory.providerType(r.provider)
            guard let schema = type.flatMap({ byTypeAndKind[$0]?[r.kind] }) else { continue }
            out += schema.check(r)
        }
        return out
    }

    /// `byType` indexed by kind.
    private static let byTypeAndKind: [String: [String: KindSchema]] = byType.mapValues { schemas in
        Dictionary(schemas.map { ($0.kind, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
