import Foundation
import OttoCore
import Synchronization

/// An in-memory provider for the engine's own tests: it keeps a "cloud" of resources, records every call with
/// timestamps, can fail or slow down chosen resources, and measures how many calls were in flight at once.
public final class RecordingProvider: Provider {
    /// One recorded call.
    public struct Call: Sendable, Hashable {
        /// `observe`, `create`, `update` or `delete`.
        public var op: String
        /// The resource (for observe: the kind, as `kind.*`).
        public var target: String
    }

    struct Shared {
        var cloud: [ResourceAddress: ObservedResource] = [:]
        var calls: [Call] = []
        var inFlight = 0
        var maxInFlight = 0
        var nextID = 1
        var failing: [ResourceAddress: String] = [:]
        /// Idempotency keys of what keyed creates made: such a resource is found only by its id or its key.
        var keys: [ResourceAddress: String] = [:]
        /// Creates whose response is lost (the resource is made, the call fails), how many more times each.
        var losing: [ResourceAddress: Int] = [:]
    }

    public let name: String
    public let concurrencyLimit: Int
    public let schemas: [KindSchema]
    /// How long each create/update/delete takes.
    public let delay: Duration
    private let shared = Mutex(Shared())
    private let handlerFor: @Sendable (Resource) -> [Handler]
    private let failingHandlers = Mutex<[String: String]>([:])

    /// Creates a provider managing `schemas`; actions sleep `delay`; a change to a resource triggers `handlerFor(resource)`.
    public init(name: String = "rec", concurrencyLimit: Int = 100, schemas: [KindSchema], delay: Duration = .zero,
                handlerFor: @escaping @Sendable (Resource) -> [Handler] = { _ in [] }) {
        self.name = name
        self.concurrencyLimit = concurrencyLimit
        self.schemas = schemas
        self.delay = delay
        self.handlerFor = handlerFor
    }

    /// Makes handler `id` fail with `message` (nil: succeed again).
    public func failHandler(_ id: String, _ message: String?) { failingHandlers.withLock { $0[id] = message } }

    public func handlers(for resource: Resource) -> [Handler] { handlerFor(resource) }

    public func run(_ handler: Handler) async throws {
        shared.withLock { $0.calls.append(Call(op: "handler", target: handler.id)) }
        if let message = failingHandlers.withLock({ $0[handler.id] }) { throw OttoError("provider.recording", message) }
    }

    /// Every call so far.
    public var calls: [Call] { shared.withLock { $0.calls } }
    /// The most actions that were running at the same time.
    public var maxInFlight: Int { shared.withLock { $0.maxInFlight } }
    /// What exists now.
    public var cloud: [ResourceAddress: ObservedResource] { shared.withLock { $0.cloud } }
    /// Makes every action on `address` fail with `message`.
    public func fail(_ address: ResourceAddress, _ message: String = "injected failure") { shared.withLock { $0.failing[address] = message } }
    /// Changes (or removes, with nil) something behind otto's back.
    public func tamper(_ address: ResourceAddress, _ attributes: [String: Value]?) {
        shared.withLock { s in
            if let attributes { s.cloud[address]?.attributes = attributes } else { s.cloud[address] = nil }
        }
    }
    /// Makes the next `times` creates of `address` lose their response: the resource is made, the call fails.
    public func loseCreateResponse(_ address: ResourceAddress, times: Int = 1) { shared.withLock { $0.losing[address] = times } }
    /// The idempotency key a keyed create of `address` carried.
    public func key(of address: ResourceAddress) -> String? { shared.withLock { $0.keys[address] } }
    /// Puts a resource in the cloud as if someone else made it.
    public func seed(_ address: ResourceAddress, _ attributes: [String: Value]) {
        shared.withLock { s in
            s.cloud[address] = ObservedResource(providerID: "id-\(s.nextID)", attributes: attributes)
            s.nextID += 1
        }
    }

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        shared.withLock { s in
            s.calls.append(Call(op: "observe", target: "\(kind).*"))
            var out: [ResourceAddress: ObservedResource] = [:]
            for r in requests {
                guard let o = s.cloud[r.address] else { continue }
                // Like a droplet (names are not unique): what a keyed create made is found by its id or its key only.
                if let key = s.keys[r.address], r.providerID != o.providerID, r.pendingKey != key { continue }
                out[r.address] = o
            }
            return out
        }
    }

    public func create(_ resource: Resource) async throws -> ObservedResource {
        try await create(resource, key: nil)
    }

    public func create(_ resource: Resource, idempotencyKey: String) async throws -> ObservedResource {
        try await create(resource, key: idempotencyKey)
    }

    private func create(_ resource: Resource, key: String?) async throws -> ObservedResource {
        let made = try await action("create", resource.address) { s in
            if let key { s.keys[resource.address] = key } else { s.keys[resource.address] = nil }
            var attrs = resource.attributes
            let id = "id-\(s.nextID)"
            s.nextID += 1
            if let schema = schemas.first(where: { $0.kind == resource.kind }) {
                for c in schema.computed { attrs[c] = .string("\(c)-of-\(id)") }
            }
            let o = ObservedResource(providerID: id, attributes: attrs)
            s.cloud[resource.address] = o
            return o
        }
        let lost = shared.withLock { s -> Bool in
            guard let n = s.losing[resource.address], n > 0 else { return false }
            s.losing[resource.address] = n - 1
            return true
        }
        if lost { throw OttoError("provider.recording", "create \(resource.address): the response was lost") }
        return made
    }

    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        try await action("update", resource.address) { s in
            var o = s.cloud[resource.address] ?? current
            for name in changed { o.attributes[name] = resource.attributes[name] }
            s.cloud[resource.address] = o
            return o
        }
    }

    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        _ = try await action("delete", address) { s in
            s.cloud[address] = nil
            return current
        }
    }

    private func action(_ op: String, _ address: ResourceAddress, _ body: (inout Shared) -> ObservedResource) async throws -> ObservedResource {
        let failure: String? = shared.withLock { s in
            s.calls.append(Call(op: op, target: address.description))
            s.inFlight += 1
            s.maxInFlight = max(s.maxInFlight, s.inFlight)
            return s.failing[address]
        }
        defer { shared.withLock { $0.inFlight -= 1 } }
        if delay > .zero { try await Task.sleep(for: delay) }
        if let failure { throw OttoError("provider.recording", "\(op) \(address): \(failure)") }
        return shared.withLock { body(&$0) }
    }
}

/// An in-memory state writer for executor tests: keeps records and pending handlers.
public final class MemoryStateWriter: Sendable {
    private let storage = Mutex<[ResourceAddress: ResourceRecord]>([:])
    private let creates = Mutex<[ResourceAddress: PendingCreate]>([:])
    /// Pending creates recorded and not yet resolved.
    public var pendingCreates: [ResourceAddress: PendingCreate] { creates.withLock { $0 } }
    /// Records a pending create.
    public func putPending(_ p: PendingCreate) { creates.withLock { $0[p.address] = p } }
    private let pending = Mutex<[String: Handler]>([:])
    /// Handlers recorded and not yet run.
    public var handlers: [Handler] { pending.withLock { Array($0.values) } }
    /// Records a pending handler.
    public func addHandler(_ h: Handler) { pending.withLock { $0[h.id] = h } }
    /// Marks a handler as run.
    public func removeHandler(_ id: String) { _ = pending.withLock { $0.removeValue(forKey: id) } }
    /// Creates an empty state.
    public init(_ initial: [ResourceAddress: ResourceRecord] = [:]) { storage.withLock { $0 = initial } }
    /// The records now.
    public var records: [ResourceAddress: ResourceRecord] { storage.withLock { $0 } }
    /// Upserts a record.
    public func put(_ r: ResourceRecord) {
        storage.withLock { $0[r.address] = r }
        _ = creates.withLock { $0.removeValue(forKey: r.address) }
    }
    /// Removes a record (and a pending create of it).
    public func remove(_ a: ResourceAddress) {
        _ = storage.withLock { $0.removeValue(forKey: a) }
        _ = creates.withLock { $0.removeValue(forKey: a) }
    }
}
