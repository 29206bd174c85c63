import Dispatch
import Foundation
import OttoCore
import PostgresNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state in a PostgreSQL database (`--state postgres://…`), for teams and for several `otto serve` replicas.
///
/// The same ideas as `SQLiteStateStore`: a row per resource keyed by address with its site, per-scope serials, pending
/// creates, handlers and runs, the ledgers. Each project keeps its tables in a schema of its own (`otto_NAME`, see
/// `PostgresLocation`), so several projects share one database; `otto.projects` numbers them for the advisory locks.
///
/// Connections: one for reads and writes (`data`), and one dedicated to the session advisory locks of the scopes this
/// process holds (`locks`, never a pool, never through a transaction-pooling PgBouncer: a session lock lives exactly as
/// long as its server session). The lock connection sets `idle_session_timeout`, and a heartbeat keeps a live holder's
/// session busy, so a holder that hangs (SIGSTOP) or is cut off loses its session, and so its locks, after that timeout;
/// a holder that dies loses them at once. See `PostgresStateStore+Lock.swift` for the fencing epochs that keep a holder
/// that lost its lock from writing over the next one.
///
/// Durability: every write is one committed transaction (`synchronous_commit` as the server sets it).
///
/// Threads: each connection is used on a serial dispatch queue of its own (`PostgresLink`); async calls suspend
/// meanwhile and never block the cooperative pool; the synchronous calls (API items, walks, the environment binding)
/// block their caller's thread, which is never a cooperative one (they are called from blocking code).
public final class PostgresStateStore: Sendable {
    /// Where the state is.
    public let location: PostgresLocation
    let data: PostgresLink
    let lockLink: PostgresLink
    /// This project's number in `otto.projects`: the first key of every advisory lock of its scopes.
    let projectKey: Int32
    /// Commits made so far and their cost.
    let counters = Mutex(StateWriteStatistics())
    /// The scopes this store holds, with the epoch each was taken at.
    let held = Mutex<[StateScope: HeldScope]>([:])
    /// Scopes whose lock was lost while held (the lock session ended): writes to them are refused.
    let lost = Mutex<Set<StateScope>>([])
    /// The server process id of the lock connection's current session.
    let lockBackend = Mutex<Int32?>(nil)
    /// Figures for `/metrics`.
    let lockCounters = Mutex(PostgresLockCounters())
    /// The heartbeat of the lock connection. `nonisolated(unsafe)`: a dispatch source may be used from any thread.
    nonisolated(unsafe) let heartbeat: any DispatchSourceTimer

    /// A scope held by this store.
    struct HeldScope: Sendable {
        /// The scope's number in this project (second key of its advisory lock).
        var key: Int32
        /// The epoch this holder set when it took the scope.
        var epoch: Int64
        /// The lock's id (`otto force-unlock ID`).
        var lockID: String
        /// The lock session's backend pid that took it.
        var backend: Int32
        /// What the lock row says.
        var info: LockInfo
    }

    /// How long one query may take before its connection is closed (a cut network), unless the URL says otherwise.
    public static let queryTimeout: Duration = .seconds(30)

    /// Opens the state at `location`, creating this project's schema (and the shared `otto` schema) when missing.
    /// Blocks: call it from blocking code, or use `open(_:)`.
    ///
    /// Throws `OttoError` `state.connect` when the server cannot be reached or refuses the login, `state.open` when the
    /// schema was written by a newer otto.
    public init(_ location: PostgresLocation) throws {
        self.location = location
        let searchPath = [("search_path", "\"\(location.schema)\"")]
        let timeout = location.lockSessionTimeout
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        // A transaction of this process left open (it hangs mid-write, it is cut off) is ended by the server after the
        // lock session timeout, so the rows it locked (its site's, the serial's) do not hold up the next holder; no
        // statement waits for a row lock longer than twice that.
        data = PostgresLink(location: location, role: "data",
                            parameters: searchPath + [("idle_in_transaction_session_timeout", "\(milliseconds)ms"),
                                                      ("lock_timeout", "\(2 * milliseconds)ms")],
                            queryTimeout: Self.queryTimeout)
        // The lock connection's queries must answer well within the session timeout, or the holder is as good as gone.
        lockLink = PostgresLink(location: location, role: "locks",
                                parameters: searchPath + [("idle_session_timeout", "\(milliseconds)ms")],
                                queryTimeout: timeout / 2)
        projectKey = try data.sync { try Self.migrate($0, location: location) }
        // Made once the state is open: a dispatch source released before it was ever resumed crashes the process, which
        // an `init` that throws above would do.
        heartbeat = DispatchSource.makeTimerSource(queue: lockLink.queue)
        startHeartbeat()
    }

    deinit {
        heartbeat.cancel()
    }

    /// Opens the state at `location` on a dispatch thread (see `init`).
    public static func open(_ location: PostgresLocation) async throws -> PostgresStateStore {
        try await Blocking.run { try PostgresStateStore(location) }
    }

    /// Figures of the writes so far.
    public var statistics: StateWriteStatistics { counters.withLock { $0 } }

    /// How a transaction starts, and what its failures are called.
    enum TransactionKind {
        case write, read

        var begin: String { self == .write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" }

        /// `error` as an `OttoError` (`state.write` / `state.read` with the server's message); an `OttoError` (a refused
        /// fence, `state.fenced`) stays as it is.
        func failure(_ error: any Error, _ what: String, _ location: PostgresLocation) -> any Error {
            if error is OttoError { return error }
            let (code, preposition) = self == .write ? ("state.write", "in") : ("state.read", "from")
            return OttoError(code, "cannot \(what) \(preposition) the state database \(location): \(PostgresLink.reason(error))",
                             causeText: nil)
        }
    }

    /// `body` in one transaction of `kind` on `session`, failures as `TransactionKind.failure`.
    func transaction<T>(_ kind: TransactionKind, _ what: String, _ session: PostgresSession,
                        _ body: (PostgresSession) throws -> T) throws -> T {
        do {
            return try session.transaction(kind.begin, body)
        } catch {
            throw kind.failure(error, what, location)
        }
    }

    /// Runs `body` in one write transaction on the data connection, counted in `statistics`.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await data.async { [self] session in
            let wall0 = ContinuousClock.now
            let cpu0 = SQLiteStateStore.threadCPUTime()
            defer {
                let wall = ContinuousClock.now - wall0
                let cpu = SQLiteStateStore.threadCPUTime() - cpu0
                counters.withLock { $0.transactions += 1; $0.cpuTime += cpu; $0.wallTime += wall }
            }
            return try transaction(.write, what, session, body)
        }
    }

    /// Runs `body` in one read-only, repeatable-read transaction (one consistent view) on the data connection.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await data.async { [self] session in try transaction(.read, what, session, body) }
    }

    /// `write` for blocking callers (API items, walks): blocks the calling thread.
    func writeBlocking<T>(_ what: String, _ body: (PostgresSession) throws -> T) throws -> T {
        try data.sync { session in try transaction(.write, what, session, body) }
    }

    /// `read` for blocking callers: blocks the calling thread.
    func readBlocking<T>(_ what: String, _ body: (PostgresSession) throws -> T) throws -> T {
        try data.sync { session in try transaction(.read, what, session, body) }
    }

    /// The database server's clock, in seconds since 1970 (schedules use it, never a replica's own clock).
    public func databaseNow() async throws -> Double {
        try await read("read the database's clock") { s in
            try s.query("SELECT extract(epoch FROM clock_timestamp())::float8").first!.decode(Double.self)
        }
    }
}

/// Counts of the lock connection's events, for `/metrics`.
public struct PostgresLockCounters: Sendable, Equatable {
    /// Scopes taken whose previous holder had not released them (it died or was cut off): handovers.
    public var handovers = 0
    /// Writes refused because the writer no longer held its scope.
    public var fencedWrites = 0
    /// Times the lock session was lost while it held scopes.
    public var sessionsLost = 0

    /// All zero.
    public init() {}
}
