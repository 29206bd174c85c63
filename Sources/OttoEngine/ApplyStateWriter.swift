import OttoCore

/// Where the executor commits each resource's result as soon as it completes.
/// Every call is durable when it returns, so a killed apply loses nothing that finished.
public protocol ApplyStateWriter: Sendable {
    /// Records a created, updated or replaced resource and the handlers its change triggered, in one transaction.
    func recordApplied(_ record: ResourceRecord, handlers: [Handler]) throws
    /// Forgets a deleted resource.
    func recordDeleted(_ address: ResourceAddress) throws
    /// Writes many results (refresh, or a group commit) and their handlers in one transaction.
    func recordBatch(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) throws
    /// Marks a handler as run.
    func recordHandlerRan(_ id: String) throws
    /// Records a create that is about to start, with its idempotency key (durable before the provider is called).
    func recordPendingCreate(_ pending: PendingCreate) throws
}
