import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore {
    public func acquireLock(command: String) throws -> LockInfo {
        // `since` in whole seconds, so the LockInfo read back from the table equals the one returned here.
        let mine = LockInfo(id: UUID().uuidString.lowercased(), pid: ProcessIdentity.pid, host: ProcessIdentity.host,
                            user: ProcessIdentity.user, command: command,
                            since: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        // One IMMEDIATE transaction: the insert into the single-row table either takes the lock or, when a row is
        // there, we read the holder under the same write lock, so two processes can never both succeed.
        let holder: LockInfo? = try write("take the lock") { db in
            try db.execute(sql: """
                INSERT INTO lock (singleton, id, pid, host, user, command, since) VALUES (1, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (singleton) DO NOTHING
                """, arguments: [mine.id, mine.pid, mine.host, mine.user, mine.command,
                                 mine.since.timeIntervalSince1970])
            return db.changesCount == 1 ? nil : try Self.fetchLock(db)
        }
        if let holder {
            let gone = holder.host == ProcessIdentity.host && !ProcessIdentity.isAlive(holder.pid)
            throw StateLockedError(holder: holder, holderIsGone: gone)
        }
        return mine
    }

    public func releaseLock(id: String) throws {
        try write("release the lock") { db in
            try db.execute(sql: "DELETE FROM lock WHERE id = ?", arguments: [id])
        }
    }

    public func forceUnlock(id: String) throws {
        try write("remove the lock") { db in
            guard let current = try Self.fetchLock(db) else {
                throw OttoError("state.unlock", "the state is not locked, so there is no lock \(id) to remove",
                                causeText: nil)
            }
            guard current.id == id else {
                throw OttoError("state.unlock", "lock id \(id) does not match the current lock \(current.id) "
                                + "(held by `\(current.command)`, pid \(current.pid) on host \(current.host)); "
                                + "nothing was removed", causeText: nil)
            }
            try db.execute(sql: "DELETE FROM lock WHERE id = ?", arguments: [id])
        }
    }

    public func currentLock() throws -> LockInfo? {
        try read("read the lock") { db in try Self.fetchLock(db) }
    }

    static func fetchLock(_ db: Database) throws -> LockInfo? {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, pid, host, user, command, since FROM lock") else {
            return nil
        }
        return LockInfo(id: row[0], pid: row[1], host: row[2], user: row[3], command: row[4],
                        since: Date(timeIntervalSince1970: row[5]))
    }
}
