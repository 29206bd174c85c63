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

    /// A number that grows with every write of the items by anyone (another `otto serve` replica, the CLI), so a reader
    /// that keeps them in memory knows when to read them again; nil when the store does not keep one (SQLite: one
    /// `otto serve` per state).
    func apiItemsVersion() throws -> Int64?
}

extension APIItemStore {
    /// No version kept.
    public func apiItemsVersion() throws -> Int64? { nil }

    /// Holds app `app` of site `site` on `pin` (nil: back on the site's own version) and returns the pin item it
    /// replaced, if any, so that ``restoreRelease(_:site:app:)`` can put it back. Blocks on disk.
    @discardableResult
    public func holdRelease(_ pin: AppReleasePin?, site: String, app: String) throws -> APIItem? {
        let key = APIItemKey(.release, AppReleasePin.itemName(site: site, app: app))
        let previous = try apiItems().first { $0.key == key }
        try writeAPIItems(put: try pin.map { [try $0.item(site: site, app: app)] } ?? [], remove: pin == nil ? [key] : [])
        return previous
    }

    /// Puts back the pin item `holdRelease` returned (none: no pin). Blocks on disk.
    public func restoreRelease(_ previous: APIItem?, site: String, app: String) throws {
        let key = APIItemKey(.release, AppReleasePin.itemName(site: site, app: app))
        try writeAPIItems(put: previous.map { [$0] } ?? [], remove: previous == nil ? [key] : [])
    }
}
