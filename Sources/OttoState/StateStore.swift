import OttoCore

/// Reads the state: resources with their lineage and serials, pending handlers, locks and the run history.
///
/// Every call is async and never blocks Swift's cooperative pool: a store does its I/O on threads of its own.
public protocol StateReader: Sendable {
    /// Everything in the state, read in one consistent transaction.
    func snapshot() async throws -> StateSnapshot

    /// The scopes of everything in the state (cheaper than a snapshot: what an apply must lock before it reads).
    func scopes() async throws -> Set<StateScope>

    /// The providers of every record and pending create in the state (cheaper than a snapshot: which providers a run
    /// needs before it reads everything). A store without a cheaper way derives it from `snapshot()`.
    func providerNames() async throws -> Set<String>

    /// Handlers recorded by earlier changes that have not run yet, oldest first.
    func pendingHandlers() async throws -> [Handler]

    /// The most recent `limit` runs, newest first.
    func runs(limit: Int) async throws -> [RunRecord]

    /// The locks held now, in scope order (what the rows say; a holder that died no longer holds its lock, see
    /// `StateLocker`).
    func locks() async throws -> [LockInfo]
}

extension StateReader {
    /// The providers of the records and pending creates of one snapshot.
    public func providerNames() async throws -> Set<String> {
        let snap = try await snapshot()
        return Set(snap.records.values.map(\.provider)).union(snap.pending.values.map(\.provider))
    }
}

/// Writes the state. Each call is one committed transaction, durable against a crash of this process when it returns.
public protocol StateWriter: Sendable {
    /// Inserts or replaces `records`, deletes `removing` and records `handlers` as pending, all in one transaction.
    /// The lineage-wide serial and the serial of every scope written or removed increase once when anything was
    /// written or deleted. Pending creates of every address written or removed are cleared in the same transaction.
    func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) async throws

    /// Records that a create of `pending.address` is about to start, replacing an earlier pending create of it;
    /// increments the serials. Putting a record for the address (or removing the address) clears it.
    func putPending(_ pending: PendingCreate) async throws

    /// Marks a handler as run (removes it from the pending list).
    func handlerRan(id: String) async throws

    /// Records that a run of `command` by `user` started; returns its id.
    func startRun(command: String, user: String) async throws -> Int64

    /// Records how run `id` ended (`outcome` e.g. `ok` / `failed`, `summary` e.g. `3 created, 1 deleted`).
    func finishRun(id: Int64, outcome: String, summary: String) async throws

    /// Transactions committed and CPU time spent committing them since the writer was made (for the executor's
    /// figures; a writer that does not count reports zeros).
    var statistics: StateWriteStatistics { get }
}

/// What a writer's commits have cost so far.
public struct StateWriteStatistics: Sendable, Equatable {
    /// Transactions committed.
    public var transactions: Int
    /// CPU time of the threads that ran them, inside the transactions.
    public var cpuTime: Duration
    /// Wall time inside the transactions (from taking the write lock to the commit), on the store's own threads: what
    /// the writes cost, without the time their callers waited to be scheduled again.
    public var wallTime: Duration

    /// Creates figures.
    public init(transactions: Int = 0, cpuTime: Duration = .zero, wallTime: Duration = .zero) {
        self.transactions = transactions
        self.cpuTime = cpuTime
        self.wallTime = wallTime
    }
}

extension StateWriter {
    /// No figures.
    public var statistics: StateWriteStatistics { StateWriteStatistics() }

    /// Inserts or replaces one resource.
    public func put(_ record: ResourceRecord) async throws {
        try await put([record], removing: [], handlers: [])
    }

    /// `put(records, removing:, handlers: [])`.
    public func put(_ records: [ResourceRecord], removing: [ResourceAddress]) async throws {
        try await put(records, removing: removing, handlers: [])
    }

    /// Deletes one resource (and any pending create of it).
    public func remove(_ address: ResourceAddress) async throws {
        try await put([], removing: [address], handlers: [])
    }
}

/// Locks parts of the state (`StateScope`: one per site, one for account-wide resources) for one command.
///
/// A lock is held by an operating-system lock on a file beside the state, so it dies with the process that holds it:
/// a killed apply never leaves a lock behind on its host. The lock's row in the state only says who holds it.
public protocol StateLocker: Sendable {
    /// Takes the locks of `scopes` in their fixed order (sites by name, then the account scope) for `command`.
    /// When one is held by another process: fails at once with `StateLockedError` naming the holder when `timeout` is
    /// zero, else keeps trying until `timeout` has passed. Locks already taken by this call are released on failure.
    func lock(_ scopes: Set<StateScope>, command: String, timeout: Duration) async throws -> any StateLease

    /// Removes the row of lock `id` when its holder is gone; fails when there is no such lock, or when a live process
    /// still holds it (an operating-system lock cannot be taken from a running process: stop it instead).
    func forceUnlock(id: String) async throws
}

/// Everything otto keeps about a project: resources, serials, locks, handlers and runs.
public typealias StateStore = StateReader & StateWriter & StateLocker

/// Locks taken by one command. `release()` gives them back; so does the end of the process, however it ends.
public protocol StateLease: AnyObject, Sendable {
    /// What each lock says about its holder, in scope order.
    var locks: [LockInfo] { get }

    /// Releases every lock of the lease (the rows first, then the operating-system locks). Calling it again does nothing.
    func release() async

    /// True once the lease lost a lock while held (a PostgreSQL lock session that ended): its holder must start nothing
    /// more, and its writes to those scopes are refused. An operating-system lock is never lost.
    var isLost: Bool { get }

    /// Asks the lock's keeper whether the lease still holds every lock (for a PostgreSQL lease, a query on its lock
    /// session: a session that ended while the process was stopped is found out now, not at the next heartbeat).
    func verify() async -> Bool
}

extension StateLease {
    /// Never lost.
    public var isLost: Bool { false }

    /// Operating-system locks are held until released.
    public func verify() async -> Bool { true }
}

/// The state at one moment.
public struct StateSnapshot: Sendable {
    /// Identifies this state for its whole life (a UUID chosen when it was created).
    public var lineage: String
    /// Incremented by every write to the resources.
    public var serial: Int
    /// Incremented by every write to the resources of one scope, by scope: a plan made at these serials is refused
    /// when a scope it covers has moved. A scope never written is absent (serial 0).
    public var serials: [StateScope: Int]
    /// Every resource, by address.
    public var records: [ResourceAddress: ResourceRecord]
    /// Creates that started but whose result was never recorded, by address.
    public var pending: [ResourceAddress: PendingCreate]

    /// Creates a snapshot.
    public init(lineage: String, serial: Int, records: [ResourceAddress: ResourceRecord],
                pending: [ResourceAddress: PendingCreate] = [:], serials: [StateScope: Int] = [:]) {
        self.lineage = lineage
        self.serial = serial
        self.serials = serials
        self.records = records
        self.pending = pending
    }

    /// The serial of `scope` (0 when it was never written).
    public func serial(of scope: StateScope) -> Int { serials[scope] ?? 0 }

    /// Every scope something in this state belongs to.
    public var scopes: Set<StateScope> {
        Set(records.values.map(\.scope)).union(pending.values.map(\.scope))
    }
}
