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

    /// Observes every desired and recorded resource: one bulk call per provider (each provider sees all its kinds
    /// at once), providers in parallel. Resources whose attributes reference other resources (a host file needs its
    /// machine's address) are observed in a later phase, with those references resolved from what was just observed.
    /// Throws one error listing every provider that failed, each with its own message.
    ///
    /// A create an interrupted run left pending (`creates`) is looked up by its idempotency key, even when the
    /// configuration no longer has it.
    public func refresh(desired: [Resource], state: [ResourceAddress: ResourceRecord],
                        creates: [ResourceAddress: PendingCreate] = [:]) async throws -> [ResourceAddress: ObservedResource] {
        var pending: [String: [String: [ObserveRequest]]] = [:]  // provider → kind → requests
        var problems: [String] = []
        var seen = Set<ResourceAddress>()
        func key(_ a: ResourceAddress) -> String? { state[a] == nil ? creates[a]?.key : nil }
        for r in desired {
            seen.insert(r.address)
            pending[r.provider, default: [:]][r.kind, default: []]
                .append(ObserveRequest(address: r.address, providerID: state[r.address]?.providerID, attributes: r.attributes,
                                       pendingKey: key(r.address)))
        }
        for (a, rec) in state where !seen.contains(a) {
            seen.insert(a)
            pending[rec.provider, default: [:]][rec.kind, default: []]
                .append(ObserveRequest(address: a, providerID: rec.providerID, attributes: rec.attributes))
        }
        for (a, p) in creates where !seen.contains(a) {
            pending[p.provider, default: [:]][a.kind, default: []]
                .append(ObserveRequest(address: a, providerID: nil, attributes: p.attributes, pendingKey: p.key))
        }
        for (p, kinds) in pending where providers[p] == nil {
            problems.append("resources of kind \(kinds.keys.sorted().map { "`\($0)`" }.joined(separator: ", ")) belong to provider `\(p)`, which is not configured in inventory/")
        }
        if !problems.isEmpty { throw OttoError("refresh.provider", problems.sorted().joined(separator: "\n")) }

        var observed: [ResourceAddress: ObservedResource] = [:]
        while !pending.isEmpty {
            // A (provider, kind) group is ready when none of its references point into another group still pending.
            var owner: [ResourceAddress: String] = [:]
            for (p, kinds) in pending { for (k, list) in kinds { for r in list { owner[r.address] = "\(p)/\(k)" } } }
            var ready: [String: [String: [ObserveRequest]]] = [:]
            for (p, kinds) in pending {
                for (k, list) in kinds {
                    let me = "\(p)/\(k)"
                    let blocked = list.contains { r in
                        r.attributes.values.contains { v in v.references.contains { owner[$0.address].map { $0 != me } ?? false } }
                    }
                    if !blocked { ready[p, default: [:]][k] = list }
                }
            }
            if ready.isEmpty { ready = pending }  // references in a loop: observe with what state knows
            for (p, kinds) in ready {
                for k in kinds.keys { pending[p]?[k] = nil }
                if pending[p]?.isEmpty == true { pending[p] = nil }
            }
            // Resolve references from this refresh's observations, or from state for what is not observed yet.
            let known = observed
            let resolved = ready.mapValues { kinds in
                kinds.mapValues { list in
                    list.map { r -> ObserveRequest in
                        var r = r
                        r.attributes = r.attributes.mapValues { v in
                            v.isFullyKnown ? v : v.resolving { ref in
                                known[ref.address]?.attributes[ref.attribute] ?? state[ref.address]?.attributes[ref.attribute] ?? .ref(ref)
                            }
                        }
                        return r
                    }
                }
            }
            observed.merge(try await observe(resolved)) { a, _ in a }
        }
        return observed
    }

    /// One bulk observation per provider, all providers in parallel.
    private func observe(_ groups: [String: [String: [ObserveRequest]]]) async throws -> [ResourceAddress: ObservedResource] {
        let providers = self.providers
        return try await withThrowingTaskGroup(of: (String, Result<[ResourceAddress: ObservedResource], any Error>).self) { tg in
            for (p, kinds) in groups {
                tg.addTask {
                    do { return (p, .success(try await providers[p]!.observeAll(kinds))) } catch { return (p, .failure(error)) }
                }
            }
            var observed: [ResourceAddress: ObservedResource] = [:]
            var failures: [String] = []
            for try await (p, result) in tg {
                switch result {
                case .success(let found):
                    let wanted = Set(groups[p]!.values.flatMap { $0.map(\.address) })
                    for (a, o) in found where wanted.contains(a) { observed[a] = o }
                case .failure(let error):
                    failures.append("\(p): observing \(groups[p]!.keys.sorted().joined(separator: ", ")) failed: \(error)")
                }
            }
            if !failures.isEmpty { throw OttoError("refresh.failed", failures.sorted().joined(separator: "\n")) }
            return observed
        }
    }

    /// Refreshes (unless `options.refresh` is false) and plans.
    public func plan(desired: [Resource], state: [ResourceAddress: ResourceRecord], lineage: String, serial: Int,
                     options: PlanOptions, pendingHandlers: [Handler] = [],
                     pendingCreates: [ResourceAddress: PendingCreate] = [:]) async throws -> Plan {
        let clock = ContinuousClock()
        let started = clock.now
        var observed = options.refresh ? try await refresh(desired: desired, state: state, creates: pendingCreates) : nil
        let refreshTime = clock.now - started
        let providers = self.providers
        // Placing providers (fleet units) decide where their resources go from what the refresh saw.
        var desired = desired
        var notes: [ResourceNote] = []
        if let seen = observed, options.mode != .destroy {
            let now = Date()
            var all = seen
            for (name, p) in providers.sorted(by: { $0.key < $1.key }) {
                guard let placing = p as? any PlacingProvider else { continue }
                let mine = desired.filter { $0.provider == name }
                guard !mine.isEmpty else { continue }
                let placement = placing.place(mine, observed: all, recorded: state, now: now)
                desired = desired.filter { $0.provider != name } + placement.desired
                all.merge(placement.observed) { _, new in new }
                notes += placement.notes
            }
            observed = all
        }
        let input = PlannerInput(desired: desired, state: state, observed: observed, schemas: schemas,
                                 options: options, stateLineage: lineage, stateSerial: serial, pendingHandlers: pendingHandlers,
                                 pending: pendingCreates, derive: { r in providers[r.provider]?.derive(r) ?? r })
        // Blocking work (a large plan spreads it over every CPU): off the cooperative pool.
        var plan = try await Blocking.run { try Planner.plan(input) }
        plan.notes = notes.sorted { ($0.address, $0.message) < ($1.address, $1.message) }
        if observed != nil {
            let observedCount = Set(desired.map(\.address)).union(state.keys).union(pendingCreates.keys).count
            plan.refresh = RefreshSummary(seconds: Double(refreshTime.components.seconds) + Double(refreshTime.components.attoseconds) / 1e18,
                                          resources: observedCount)
        }
        return plan
    }
}
