import OttoCore

/// Where the desired state written over the HTTP API is kept (`source=api`): inventory hosts, zone nameservers and
/// zone records, one item each. Like `StateStore`, calls are synchronous and may block on disk: run them off the
/// cooperative thread pool.
public protocol APIItemStore: AnyObject, Sendable {
    /// Every item, sorted by kind and name.
    func apiItems() throws -> [APIItem]

    /// Writes `put` (inserting or replacing by key) and deletes `remove`, all in one transaction: either every
    /// change is committed or none is.
    func writeAPIItems(put: [APIItem], remove: [APIItemKey]) throws
}
