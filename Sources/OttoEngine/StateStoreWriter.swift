import OttoCore
import OttoState

/// Commits executor results to a `StateStore` (each call its own transaction, durable when it returns).
public struct StateStoreWriter: ApplyStateWriter {
    /// The store written to.
    public let store: any StateStore

    /// Creates a writer for `store`.
    public init(store: any StateStore) { self.store = store }

    public func recordApplied(_ record: ResourceRecord, handlers: [Handler]) throws {
        if handlers.isEmpty { try store.put(record) } else { try store.put([record], removing: [], handlers: handlers) }
    }
    public func recordDeleted(_ address: ResourceAddress) throws { try store.remove(address) }
    public func recordBatch(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) throws {
        try store.put(records, removing: removing, handlers: handlers)
    }
    public func recordHandlerRan(_ id: String) throws { try store.handlerRan(id: id) }
    public func recordPendingCreate(_ pending: PendingCreate) throws { try store.putPending(pending) }
}
