import Foundation
import OttoCore
import OttoPlan

/// Refresh → plan orchestration over a set of provider instances.
public struct Engine: Sendable {
    /// Provider instances by name.
    public var providers: [String: any Provider]

    /// Creates an engine.
    public init(providers: [String: any Provider]) {
        self.providers = providers
    }

    /// Every provider's kinds, keyed for the planner.
    public var schemas: [SchemaKey: KindSchema] {
        var out: [SchemaKey: KindSchema] = [:]
        for (name, p) in providers { for s in p.schemas { out[SchemaKey(provider: name, kind: s.kind)] = s } }
        return out
    }

    /// Observes every desired and recorded resource: one bulk `observe` per provider and kind, all in parallel.
    /// Throws one error listing every provider that failed, each with its own message.
    public func refresh(desired: [Resource], state: [ResourceAddress: ResourceRecord]) async throws -> [ResourceAddress: ObservedResource] {
        struct Group: Hashable { var provider: String; var kind: String }
        var groups: [Group: [ObserveRequest]] = [:]
        var problems: [String] = []
        var seen = Set<ResourceAddress>()
        for r in desired {
            seen.insert(r.address)
            groups[Group(provider: r.provider, kind: r.kind), default: []]
                .append(ObserveRequest(address: r.address, providerID: state[r.address]?.providerID, attributes: r.attributes))
        }
        for (a, rec) in state where !seen.contains(a) {
            groups[Group(provider: rec.provider, kind: rec.kind), default: []]
                .append(ObserveRequest(address: a, providerID: rec.providerID, attributes: rec.attributes))
        }
        for g in groups.keys where providers[g.provider] == nil {
            problems.append("resources of kind `\(g.kind)` belong to provider `\(g.provider)`, which is not configured in inventory/")
        }
        if !problems.isEmpty { throw OttoError("refresh.provider", problems.sorted().joined(separator: "\n")) }

        let providers = self.providers
        return try await withThrowingTaskGroup(of: (Group, Result<[ResourceAddress: ObservedResource], any Error>).self) { tg in
            for (g, requests) in groups {
                tg.addTask {
                    do { return (g, .success(try await providers[g.provider]!.observe(kind: g.kind, requests))) }
                    catch { return (g, .failure(error)) }
                }
            }
            var observed: [ResourceAddress: ObservedResource] = [:]
            var failures: [String] = []
            for try await (g, result) in tg {
                switch result {
                case .success(let found):
                    let wanted = Set(groups[g]!.map(\.address))
                    for (a, o) in found where wanted.contains(a) { observed[a] = o }
                case .failure(let error):
                    failures.append("\(g.provider): observing \(g.kind) failed: \(error)")
                }
            }
            if !failures.isEmpty { throw OttoError("refresh.failed", failures.sorted().joined(separator: "\n")) }
            return observed
        }
    }

    /// Refreshes (unless `options.refresh` is false) and plans.
    public func plan(desired: [Resource], state: [ResourceAddress: ResourceRecord], lineage: String, serial: Int,
                     options: PlanOptions) async throws -> Plan {
        let observed = options.refresh ? try await refresh(desired: desired, state: state) : nil
        let input = PlannerInput(desired: desired, state: state, observed: observed, schemas: schemas,
                                 options: options, stateLineage: lineage, stateSerial: serial)
        return try Planner.plan(input)
    }
}
