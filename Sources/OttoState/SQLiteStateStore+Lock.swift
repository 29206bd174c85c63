import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: StateLocker {
    /// How often a waiting `lock` tries again.
    static let lockRetryInterval: Duration = .milliseconds(50)

    /// The lock file of `scope`: `PATH.locks/account.lock` or `PATH.locks/site-NAME.lock` (NAME percent-encoded
    /// outside letters, digits, `.`, `_` and `-`).
    public func lockFile(_ scope: StateScope) -> String {
        func encoded(_ site: String) -> String {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "._-")
            let encoded = site.addingPercentEncoding(withAllowedCharacters: allowed) ?? site
            return encoded.hasPrefix(".") ? "%2E" + encoded.dropFirst() : encoded
        }
        let name: String
        switch scope {
        case .account: name = "account"
        case .site(let site): name = "site-" + encoded(site)
        case .walk(let site): name = "walk-" + encoded(site)
        }
        return (locksDirectory as NSString).appendingPathComponent(name + ".lock")
    }

    public func lock(_ scopes: Set<StateScope>, command: String, timeout: Duration) async throws -> any StateLease {
        let clock = ContinuousClock()
        let started = clock.now
        var taken: [(FileLock, LockInfo)] = []
        var unrecorded: [LockInfo] = []
        func giveBack() async {
            await deleteLockRows(taken.map(\.1.id))
            taken.forEach { $0.0.unlock() }
        }
        // The rows of the flocks taken so far, in one transaction (a row left by a holder that died is replaced: the
        // flock says it is gone). Written before any wait, so others waiting meanwhile can name this holder.
        func record() async throws {
            guard !unrecorded.isEmpty else { return }
            let rows = unrecorded
            unrecorded = []
            try await write("take the locks of \(rows.map(\.scope.description).joined(separator: ", "))") { db in
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO locks (scope, id, pid, host, user, command, since) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (scope) DO UPDATE SET id = excluded.id, pid = excluded.pid, host = excluded.host,
                        user = excluded.user, command = excluded.command, since = excluded.since
                    """)
                for row in rows {
                    try upsert.execute(arguments: [row.scope.key, row.id, row.pid, row.host, row.user, row.command,
                                                   row.since.timeIntervalSince1970])
                }
            }
        }
        do {
            for scope in scopes.sorted() {
                while true {
                    let file: FileLock?
                    do { file = try FileLock.tryLock(lockFile(scope)) } catch {
                        throw OttoError("state.lock", "cannot lock \(scope) of the state \(path)", cause: error)
                    }
                    if let file {
                        // `since` in whole seconds, so the LockInfo read back from the table equals the one returned here.
                        let mine = LockInfo(id: UUID().uuidString.lowercased(), scope: scope, pid: ProcessIdentity.pid,
                                            host: ProcessIdentity.host, user: ProcessIdentity.user, command: command,
                                            since: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
                        taken.append((file, mine))
                        unrecorded.append(mine)
                        break
                    }
                    let waited = clock.now - started
                    if waited >= timeout || Task.isCancelled {
                        let holder = await holder(of: scope)
                        let gone = holder.host == ProcessIdentity.host && !ProcessIdentity.isAlive(holder.pid)
                        throw StateLockedError(holder: holder, holderIsGone: gone, waited: timeout)
                    }
                    try await record()
                    try? await Task.sleep(for: min(Self.lockRetryInterval, timeout - waited))
                }
            }
            try await record()
        } catch {
            await giveBack()
            throw error
        }
        return SQLiteStateLease(store: self, entries: taken)
    }

    /// Who holds the flock of `scope`, from its row. The row is written just after the flock is taken, so a missing
    /// row is waited for briefly; a process that locked the file without writing a row is reported as unknown.
    func holder(of scope: StateScope) async -> LockInfo {
        for attempt in 0..<10 {
            if let row = try? await read("read the lock of \(scope)", { db in try Self.fetchLock(db, scope: scope) }) {
                return row
            }
            if attempt < 9 { try? await Task.sleep(for: .milliseconds(20)) }
        }
        return LockInfo(id: "unknown", scope: scope, pid: 0, host: "unknown", user: "unknown",
                        command: "a process that did not record itself", since: Date())
    }

    public func forceUnlock(id: String) async throws {
        let rows = try await locks(includingStale: true)
        guard let row = rows.first(where: { $0.id == id }) else {
            let current = rows.isEmpty ? "the state holds no lock"
                : "the locks are " + rows.map { "\($0.id) (\($0.scope), `\($0.command)`)" }.joined(separator: ", ")
            throw OttoError("state.unlock", "there is no lock \(id) to remove: \(current); nothing was removed", causeText: nil)
        }
        // A lock whose holder still lives cannot be taken from it; one whose holder is gone has no flock any more.
        guard let file = try? FileLock.tryLock(lockFile(row.scope)) else {
            throw OttoError("state.unlock", "lock \(id) of \(row.scope) is held by a running process (`\(row.command)`, pid "
                            + "\(row.pid) on host \(row.host)); stop that process to release it; nothing was removed", causeText: nil)
        }
        defer { file.unlock() }
        try await write("remove lock \(id)") { db in
            try db.execute(sql: "DELETE FROM locks WHERE id = ?", arguments: [id])
        }
    }

    public func locks() async throws -> [LockInfo] {
        try await locks(includingStale: false)
    }

    /// The rows of the `locks` table; without `includingStale`, only those whose holder may still live (a row of a
    /// process of this host that is gone is left over from a holder that was killed: its flock is free).
    func locks(includingStale: Bool) async throws -> [LockInfo] {
        let rows = try await read("read the locks") { db in
            try Row.fetchAll(db, sql: "SELECT scope FROM locks").compactMap { StateScope(key: $0[0]) }
                .compactMap { try Self.fetchLock(db, scope: $0) }
        }
        return rows.filter { includingStale || $0.host != ProcessIdentity.host || ProcessIdentity.isAlive($0.pid) }
            .sorted { $0.scope < $1.scope }
    }

    /// Removes the row of each of `ids` (a lease's release).
    func deleteLockRows(_ ids: [String]) async {
        try? await write("release locks") { db in
            for id in ids { try db.execute(sql: "DELETE FROM locks WHERE id = ?", arguments: [id]) }
        }
    }

    static func fetchLock(_ db: Database, scope: StateScope) throws -> LockInfo? {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, pid, host, user, command, since FROM locks WHERE scope = ?",
                                         arguments: [scope.key]) else {
            return nil
        }
        return LockInfo(id: row[0], scope: scope, pid: row[1], host: row[2], user: row[3], command: row[4],
                        since: Date(timeIntervalSince1970: row[5]))
    }
}

/// The locks one command took from an `SQLiteStateStore`: released by `release()`, or (flock only, the rows stay as
/// harmless leftovers) when the lease is freed or the process ends.
final class SQLiteStateLease: StateLease {
    let locks: [LockInfo]
    private let files: [FileLock]
    private let store: SQLiteStateStore

    init(store: SQLiteStateStore, entries: [(FileLock, LockInfo)]) {
        self.store = store
        self.files = entries.map(\.0)
        self.locks = entries.map(\.1)
    }

    func release() async {
        // Rows first, while the flocks still guarantee that they are ours.
        await store.deleteLockRows(locks.map(\.id))
        files.forEach { $0.unlock() }
    }
}
