import Foundation
import GRDB
import OttoCore

/// The state in an SQLite file (via GRDB), the default store.
///
/// Durability: the database runs in WAL mode with `synchronous=NORMAL`. Every `put` commits its own transaction,
/// and a commit has written the transaction to the WAL file (into the OS's page cache, with write(2)) before `put`
/// returns, so a killed or crashed otto process loses nothing that completed (tested with SIGKILL). A power loss or OS crash may lose the last few commits (they are not fsynced one by
/// one); that is the trade for keeping one transaction per resource cheap, and a refresh repairs it.
///
/// Concurrency: a busy timeout of a few seconds lets ordinary writes wait for another process's short
/// transaction; `acquireLock` never waits for the holder of the state lock (only, like any write, for another
/// process's transaction of a few milliseconds to end).
///
/// Sendable: the stored properties are immutable, and the GRDB `DatabaseQueue` is Sendable (GRDB declares it so:
/// it serializes every access to its single connection on its own dispatch queue). JSON is encoded with
/// `ValueJSON`, which keeps no state between calls.
public final class SQLiteStateStore: StateStore {
    /// The database file.
    public let path: String
    let queue: DatabaseQueue

    /// How long an ordinary write waits for another process's transaction before failing.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (creating it and its parent directory when needed) the state database at `path`.
    /// The database is closed when the store is released.
    ///
    /// Throws `OttoError` with code `state.open` when the file cannot be opened, is not an SQLite database,
    /// is an SQLite database that is not an otto state, or was written by a newer otto.
    public init(path: String) throws {
        self.path = path
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw OttoError("state.open", "cannot create the directory \(parent) for the state database \(path)",
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
        queue = try Self.openQueue(path: path, configuration: config)
        do {
            try Self.migrate(queue, path: path)
        } catch let error as OttoError {
            throw error
        } catch {
            throw Self.openError(path, error)
        }
    }

    /// Opens the connection. Switching a brand-new file to WAL needs an exclusive lock, and SQLite answers
    /// SQLITE_BUSY at once (without the busy handler) when another connection is opening the same new file,
    /// so that case is retried for up to `busyTimeout`.
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

    /// Runs `body` in an IMMEDIATE write transaction (the write lock is taken up front, so a read inside it
    /// cannot go stale), mapping database errors to `OttoError` with code `state.write`.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as DatabaseError {
            throw OttoError("state.write", "cannot \(what) in the state database \(path)", cause: error)
        }
    }

    /// Runs `body` in a read transaction, mapping database errors to `OttoError` with code `state.read`.
    func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw OttoError("state.read", "cannot \(what) from the state database \(path)", cause: error)
        }
    }
}
