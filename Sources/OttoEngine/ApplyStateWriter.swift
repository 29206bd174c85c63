import OttoCore

/// Where the executor commits each resource's result as soon as it completes.
/// Every call is durable when it returns, so a killed apply loses nothing that finished.
public protocol ApplyStateWriter: Sendable {
    /// Records a created, updated or replaced resource.
    func recordApplied(_ record: ResourceRecord) throws
    /// Forgets a deleted resource.
    func recordDeleted(_ address: ResourceAddress) throws
    /// Writes many results (refresh, or a group commit) in one transaction.
    func recordBatch(_ records: [ResourceRecord], removing: [ResourceAddress]) throws
}
