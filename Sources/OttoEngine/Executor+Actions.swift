import Foundation
import OttoCore
import OttoPlan

extension Executor {
    /// Replaces the references in `change.after` with values from `values`; returns the ones it could not resolve.
    func resolveReferences(in change: inout ResourceChange, from values: [ResourceAddress: [String: Value]]) -> [String] {
        guard var resource = change.after, resource.attributes.values.contains(where: { !$0.isFullyKnown }) else { return [] }
        var unresolved: [String] = []
        resource.attributes = resource.attributes.mapValues { v in
            v.resolving { ref in
                let found = values[ref.address]?[ref.attribute]
                if found == nil { unresolved.append(ref.description) }
                return found
            }
        }
        change.after = resource
        return unresolved
    }

    /// One action: provider calls, then the state write. Returns what now exists (nil after a delete).
    func execute(_ change: ResourceChange, writer: StateWriteQueue) async -> Result<ObservedResource?, ExecutionError> {
        guard let provider = providers[change.provider] else {
            return .failure(ExecutionError("no provider named `\(change.provider)` is configured (inventory/)"))
        }
        do {
            if change.action == .update, let before = change.before, let after = change.after, !change.changes.isEmpty {
                // The plan could not know these values (a reference to what another change computes); now that they are
                // known, an update that changes nothing is not sent.
                let schema = provider.schema(for: change.address.kind)
                let unchanged = change.changes.allSatisfy {
                    Planner.same(after.attributes[$0.name], before.attributes[$0.name], unordered: schema?.unordered.contains($0.name) ?? false)
                }
                if unchanged { return .success(before) }
            }
            switch change.action {
            case .noop:
                return .success(change.before)
            case .delete:
                try await provider.delete(change.address, current: change.before!)
                try await writer.deleted(change.address)
                return .success(nil)
            case .create, .update, .replace:
                let resource = change.after!
                let observed: ObservedResource
                switch change.action {
                case .create:
                    observed = try await create(resource, on: provider, writer: writer)
                case .update:
                    observed = try await provider.update(resource, current: change.before!, changed: change.changes.map(\.name))
                default:
                    if change.replaceOrder == .createThenDelete {
                        observed = try await create(resource, on: provider, writer: writer)
                        try await writer.applied(record(resource, observed), handlers: provider.handlers(for: resource))
                        do { try await provider.delete(change.address, current: change.before!) } catch {
                            return .failure(ExecutionError("the replacement was created, but deleting the old one (\(change.before!.providerID)) failed: \(message(error))"))
                        }
                        return .success(observed)
                    }
                    try await provider.delete(change.address, current: change.before!)
                    try await writer.deleted(change.address)
                    observed = try await create(resource, on: provider, writer: writer)
                }
                try await writer.applied(record(resource, observed), handlers: provider.handlers(for: resource))
                return .success(observed)
            }
        } catch {
            return .failure(ExecutionError(message(error)))
        }
    }

    /// Creates `resource`; for a `keyedCreate` kind, first records a pending create with a fresh idempotency key,
    /// durably, so that whatever the provider makes can be found again if the response or this process is lost.
    private func create(_ resource: Resource, on provider: any Provider, writer: StateWriteQueue) async throws -> ObservedResource {
        guard provider.schema(for: resource.kind)?.keyedCreate == true else { return try await provider.create(resource) }
        let pending = PendingCreate(address: resource.address, provider: resource.provider, key: PendingCreate.newKey(),
                                    attributes: resource.attributes, dependencies: resource.dependencies.map(\.address),
                                    since: Date().timeIntervalSince1970, site: resource.site)
        try await writer.pending(pending)
        return try await provider.create(resource, idempotencyKey: pending.key)
    }

    private func record(_ r: Resource, _ o: ObservedResource) -> ResourceRecord {
        ResourceRecord(address: r.address, provider: r.provider, providerID: o.providerID, attributes: o.attributes,
                       dependencies: r.dependencies.map(\.address), site: r.site)
    }

    private func message(_ error: any Error) -> String { String(describing: error) }
}
