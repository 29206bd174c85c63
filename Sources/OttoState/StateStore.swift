import OttoCore

/// Where otto remembers what it manages: one row per resource, a lineage and serial, the lock and the run history.
///
/// The API is synchronous and may block on disk or on another process's transaction (for at most the busy
/// timeout), so callers run it off Swift's cooperative thread pool (a dedicated thread or DispatchQueue).
public protocol StateStore: AnyObject, Sendable {
    /// Everything in the state, read in one consistent transaction.
    func snapshot() throws -> StateSnapshot

    /// Inserts or replaces one resource in its own committed transaction and increments the serial.
    /// When it returns, the write survives a crash of this process.
    func put(_ record: ResourceRecord) throws

    /// Inserts or replaces `records`, deletes `removing` and records `handlers` as pending, all in one transaction
    /// (refresh, and group commits of apply results); increments the serial once when anything was written or deleted.
    /// Pending creates of every address written or removed are cleared in the same transaction.
    func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) throws

    /// Handlers recorded by earlier changes that have not run yet, oldest first.
    func pendingHandlers() throws -> [Handler]

    /// Marks a handler as run (removes it from the pending list).
    func handlerRan(id: String) throws

    /// Deletes one resource (and any pending create of it); increments the serial when either was there.
    func remove(_ address: ResourceAddress) throws

    /// Records that a create of `pending.address` is about to start, replacing an earlier pending create of it, in
    /// its own committed transaction; increments the serial. Putting a record for the address (or removing the
    /// address) clears it.
    func putPending(_ pending: PendingCreate) throws

    /// Takes the state lock for `command` (shown to others, e.g. `otto apply`), or fails at once with
    /// `StateLockedError` naming the holder. Never waits for the holder.
    func acquireLock(command: String) throws -> LockInfo

    /// Releases the lock when `id` is the current lock; does nothing otherwise (the lock may have been forced away).
    func releaseLock(id: String) throws

    /// Removes the lock whose id is `id`; fails when the current lock has another id or there is none.
    func forceUnlock(id: String) throws

    /// The current lock, if any.
    func currentLock() throws -> LockInfo?

    /// Records that a run of `command` by `user` started; returns its id.
    func startRun(command: String, user: String) throws -> Int64

    /// Records how run `id` ended (`outcome` e.g. `ok` / `failed`, `summary` e.g. `3 created, 1 deleted`).
    func finishRun(id: Int64, outcome: String, summary: String) throws

    /// The most recent `limit` runs, newest first.
    func runs(limit: Int) throws -> [RunRecord]
}

extension StateStore {
    /// `put(records, removing:, handlers: [])`.
    public func put(_ records: [ResourceRecord], removing: [ResourceAddress]) throws {
        try put(records, removing: removing, handlers: [])
    }
}

/// The state at one moment.
public struct StateSnapshot: Sendable {
    /// Identifies this state for its whole life (a UUID chosen when it was created).
    public var lineage: String
    /// Incremented by every write to the resources; a plan made at serial N is refused at any other serial.
    public var serial: Int
    /// Every resource, by address.
    public var records: [ResourceAddress: ResourceRecord]
    /// Creates that started but whose result was never recorded, by address.
    public var pending: [ResourceAddress: PendingCreate]

    /// Creates a snapshot.
    public init(lineage: String, serial: Int, records: [ResourceAddress: ResourceRecord],
                pending: [ResourceAddress: PendingCreate] = [:]) {
        self.lineage = lineage
        self.serial = serial
        self.records = records
        self.pending = pending
    }
}
