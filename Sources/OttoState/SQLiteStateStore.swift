import Foundation
import GRDB
import OttoCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The state in an SQLite file (via GRDB), the default store.
///
/// Durability: the database runs in WAL mode with `synchronous=NORMAL`. Every write commits its own transaction,
/// and a commit has written the transaction to the WAL file (into the OS's page cache, with write(2)) before the call
/// returns, so a killed or crashed otto process loses nothing that completed (tested with SIGKILL). A power loss or OS
/// crash may lose the last few commits (they are not fsynced one by one); that is the trade for keeping one transaction
/// per resource cheap, and a refresh repairs it.
///
/// Threads: every async call runs its SQLite work on GRDB's serial dispatch queue for this connection, never on Swift's
/// cooperative pool. Writes that arrive while one is running queue behind it.
///
/// Locks (`StateLocker`): one `flock(2)` per scope on a file in `PATH.locks/`, so a lock dies with its holder; the
/// `locks` table only says who holds each one. Creating a new state takes `PATH.locks/open.lock` for as long as the
/// schema is being made, so several processes opening the same new file make it once.
///
/// Sendable: the stored properties are immutable, and the GRDB `DatabaseQueue` is Sendable (GRDB declares it so:
/// it serializes every access to its single connection on its own dispatch queue). JSON is encoded with
/// `ValueJSON`, which keeps no state between calls.
public final class SQLiteStateStore: Sendable {
    /// The database file.
    public let path: String
    /// The directory of the lock files (`PATH.locks`).
    public let locksDirectory: String
    let queue: DatabaseQueue
    /// Commits made by the async `write` and the CPU time they took on GRDB's thread.
    let counters = Mutex(StateWriteStatistics())

    /// How long an ordinary write waits for another process's transaction before failing.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (creating it and its parent directory when needed) the state database at `path`. Blocks on disk and
    /// on another process creating the same state: from async code use `open(path:)`.
    /// The database is closed when the store is released.
    ///
    /// Throws `OttoError` with code `state.open` when the file cannot be opened, is not an SQLite database,
    /// is an SQLite database that is not an otto state, or was written by a newer otto.
    public init(path: String) throws {
        self.path = path
        locksDirectory = path + ".locks"
        let parent = (path as NSString).deletingLastPathComponent
        for directory in [parent, locksDirectory] where !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw OttoError("state.open", "cannot create the directory \(directory) for the state database \(path)",
                                cause: error)
            }
        }
        var config = Configuration()
        config.journalMode = .wal
        config.busyMode = .timeout(Self.busyTimeout)
        config.label = "otto.state"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Checkpoint (copy the WAL into the database, with fsyncs) every ~40 MB of WAL instead of every 4 MB:
            // one apply writes the same few pages (the serial's, the hot leaves) thousands of times, and a rarer
            // checkpoint copies each of them once. After a checkpoint the WAL file is cut back to 8 MB.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
            try db.execute(sql: "PRAGMA journal_size_limit = 8388608")
        }
        // Opening and migrating is one critical section across processes: the first to get here creates the file, switches
        // it to WAL and makes the schema; the others then find it made.
        let opening: FileLock
        do {
            opening = try FileLock.lock((locksDirectory as NSString).appendingPathComponent("open.lock"))
        } catch {
            throw OttoError("state.open", "cannot lock \(locksDirectory)/open.lock while opening the state database \(path)",
                            cause: error)
        }
        defer { opening.unlock() }
        queue = try Self.openQueue(path: path, configuration: config)
        do {
            try Self.migrate(queue, path: path)
        } catch let error as OttoError {
            throw error
        } catch {
            throw Self.openError(path, error)
        }
    }

    /// Opens the state at `path` on a dispatch thread (see `init(path:)`).
    public static func open(path: String) async throws -> SQLiteStateStore {
        try await Blocking.run { try SQLiteStateStore(path: path) }
    }

    /// Opens the connection. Another process that opened the file without otto's open lock (an older otto, the sqlite3
    /// CLI) may hold it while switching it to WAL, and SQLite answers SQLITE_BUSY at once then, so that is retried
    /// for up to `busyTimeout`.
    static func openQueue(path: String, configuration: Configuration) throws -> DatabaseQueue {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                return try DatabaseQueue(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            } catch {
                throw openError(path, error)
            }
        }
    }

    static func openError(_ path: String, _ error: any Error) -> OttoError {
        if let db = error as? DatabaseError, db.resultCode == .SQLITE_NOTADB {
            return OttoError("state.open", "\(path) is not an SQLite database, so it cannot be otto's state; "
                             + "point --state at another file, or move this one away", cause: error)
        }
        return OttoError("state.open", "cannot open the state database \(path); check that it is a readable, "
                         + "writable file", cause: error)
    }

    static let beginSQL = "BEGIN IMMEDIATE TRANSACTION"
    static let commitSQL = "COMMIT TRANSACTION"

    /// Runs `body` in an IMMEDIATE write transaction (the write lock is taken up front, so a read inside it cannot go
    /// stale) on GRDB's queue, mapping database errors to `OttoError` with code `state.write`. Not cancellable: a write
    /// that started is committed or fails on its own.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.asyncWriteWithoutTransaction { [self] db in
                let cpu0 = Self.threadCPUTime()
                let wall0 = ContinuousClock.now
                let result = Result { try self.immediateTransaction(db, what, body) }
                let wall = ContinuousClock.now - wall0
                let cpu = Self.threadCPUTime() - cpu0
                self.counters.withLock { $0.transactions += 1; $0.cpuTime += cpu; $0.wallTime += wall }
                continuation.resume(with: result)
            }
        }
    }

    /// Figures of the async writes so far.
    public var statistics: StateWriteStatistics { counters.withLock { $0 } }

    /// CPU time the calling thread has used.
    static func threadCPUTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
    }

    /// Runs `body` in a read transaction on GRDB's queue, mapping database errors to `OttoError` with code `state.read`.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let path = self.path
        return try await withCheckedThrowingContinuation { continuation in
            queue.asyncRead { result in
                continuation.resume(with: Result {
                    do {
                        return try body(try result.get())
                    } catch let error as DatabaseError {
                        throw OttoError("state.read", "cannot \(what) from the state database \(path)", cause: error)
                    }
                })
            }
        }
    }

    /// The synchronous form of `write`, for stores used from blocking code (API items, walk history): blocks the
    /// calling thread, so call it off the cooperative pool.
    func writeBlocking<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.writeWithoutTransaction { db in try immediateTransaction(db, what, body) }
        } catch let error as DatabaseError {
            throw OttoError("state.write", "cannot \(what) in the state database \(path)", cause: error)
        }
    }

    /// `body` in one IMMEDIATE transaction on `db`, database errors as `OttoError` `state.write`.
    ///
    /// BEGIN and COMMIT are prepared once per connection (GRDB's `inTransaction` parses both again for every
    /// transaction: 15–20 % of the cost of a small one). As with `inTransaction`, anything that fails rolls the
    /// transaction back (`rollback()` knows when SQLite already did) and the first error is the one thrown.
    private func immediateTransaction<T>(_ db: Database, _ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            try db.cachedStatement(sql: Self.beginSQL).execute()
            do {
                let result = try body(db)
                try db.cachedStatement(sql: Self.commitSQL).execute()
                return result
            } catch {
                try? db.rollback()
                throw error
            }
        } catch let error as DatabaseError {
            throw OttoError("state.write", "cannot \(what) in the state database \(path)", cause: error)
        }
    }

    /// The synchronous form of `read` (see `writeBlocking`).
    func readBlocking<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw OttoError("state.read", "cannot \(what) from the state database \(path)", cause: error)
        }
    }
}
