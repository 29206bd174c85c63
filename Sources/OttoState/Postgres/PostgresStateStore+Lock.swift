import Dispatch
import Foundation
import OttoCore
import PostgresNIO
import Synchronization

/// Locks and fencing.
///
/// A scope's lock is a session advisory lock, `pg_try_advisory_lock(project, scope)`, taken on the store's dedicated lock
/// connection: it ends with that session, so a holder that dies frees it at once and one that hangs or is cut off frees
/// it after `idle_session_timeout`. Taking a scope bumps its epoch in `scopes`; every write checks, in its transaction
/// and with the scope's row locked, that the epoch is still the one this holder set and that its session still holds
/// the advisory lock. A holder that lost its lock therefore writes nothing more (`state.fenced`), and a new holder's
/// bump waits for a write already under way, so it reads the state after it.
extension PostgresStateStore: StateLocker {
    /// How often a waiting `lock` tries again.
    static let lockRetryInterval: Duration = .milliseconds(50)

    public func lock(_ scopes: Set<StateScope>, command: String, timeout: Duration) async throws -> any StateLease {
        let clock = ContinuousClock()
        let started = clock.now
        var taken: [StateScope] = []
        do {
            for scope in scopes.sorted() {
                let key = try await scopeKey(scope)
                while true {
                    if let info = try await tryLock(scope, key: key, command: command) {
                        _ = info
                        taken.append(scope)
                        break
                    }
                    let waited = clock.now - started
                    if waited >= timeout || Task.isCancelled {
                        let (holder, gone) = try await holder(of: scope, key: key)
                        throw StateLockedError(holder: holder, holderIsGone: gone, waited: timeout)
                    }
                    try? await Task.sleep(for: min(Self.lockRetryInterval, timeout - waited))
                }
            }
        } catch {
            for scope in taken.reversed() { await unlock(scope) }
            throw error
        }
        let infos = held.withLock { held in taken.compactMap { held[$0]?.info } }
        return PostgresStateLease(store: self, scopes: taken, locks: infos)
    }

    /// Takes `scope` without waiting; nil when another session (or another lease of this store) holds it.
    func tryLock(_ scope: StateScope, key: Int32, command: String) async throws -> LockInfo? {
        if held.withLock({ $0[scope] != nil }) { return nil }
        let project = projectKey
        let backend: Int32? = try await onLockSession("take the lock of \(scope)") { [self] s in
            let backend = try lockSessionBackend(s)
            let got = try s.query("SELECT pg_try_advisory_lock(\(project), \(key))").first!.decode(Bool.self)
            return got ? backend : nil
        }
        guard let backend else { return nil }
        let info = LockInfo(id: UUID().uuidString.lowercased(), scope: scope, pid: ProcessIdentity.pid, host: ProcessIdentity.host,
                            user: ProcessIdentity.user, command: command,
                            since: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        let replica = Self.replica
        do {
            let (epoch, handover) = try await write("take the lock of \(scope)") { s in
                let row = try s.query("""
                    UPDATE scopes SET epoch = epoch + 1, lock_id = \(info.id), lock_pid = \(info.pid), lock_host = \(info.host),
                        lock_user = \(info.user), lock_command = \(info.command), lock_since = \(info.since.timeIntervalSince1970),
                        lock_backend = \(backend), lock_replica = \(replica)
                    WHERE scope = \(scope.key)
                    RETURNING epoch, (SELECT lock_id IS NOT NULL FROM scopes WHERE scope = \(scope.key))
                    """).first!
                // A run of this scope with no recorded end lost its lock (holding it now proves that): it ends here, at
                // the database's time, so it never seems to overlap the runs after it. Its holder may still record the
                // real end later (`finishRun` then marks it fenced).
                try s.query("""
                    UPDATE runs SET finished = extract(epoch FROM clock_timestamp())::float8, outcome = 'abandoned',
                        summary = 'abandoned: its holder lost the lock of ' || \(scope.key) || ' before recording an end; taken over by '
                            || \(replica)
                    WHERE finished IS NULL AND \(scope.key) = ANY(string_to_array(scopes, ','))
                    """)
                return try row.decode((Int64, Bool).self)
            }
            held.withLock { $0[scope] = HeldScope(key: key, epoch: epoch, lockID: info.id, backend: backend, info: info) }
            lost.withLock { _ = $0.remove(scope) }
            if handover { lockCounters.withLock { $0.handovers += 1 } }
            return info
        } catch {
            _ = try? await onLockSession("give back the lock of \(scope)") { [project] s in
                try s.query("SELECT pg_advisory_unlock(\(project), \(key))")
            }
            throw error
        }
    }

    /// Gives `scope` back: its row first (only when it is still this holder's), then the advisory lock.
    func unlock(_ scope: StateScope) async {
        guard let mine = held.withLock({ $0[scope] }) else { return }
        _ = try? await write("release the lock of \(scope)") { s in
            try s.query("""
                UPDATE scopes SET lock_id = NULL, lock_pid = NULL, lock_host = NULL, lock_user = NULL, lock_command = NULL,
                    lock_since = NULL, lock_backend = NULL, lock_replica = NULL
                WHERE scope = \(scope.key) AND lock_id = \(mine.lockID)
                """)
        }
        let project = projectKey
        _ = try? await lockLink.async { [self] s in
            // Only the session that took it can give it back; a new session never had it.
            if lockBackend.withLock({ $0 }) == mine.backend {
                try s.query("SELECT pg_advisory_unlock(\(project), \(mine.key))")
            }
        }
        held.withLock { _ = $0.removeValue(forKey: scope) }
        lost.withLock { _ = $0.remove(scope) }
    }

    /// Runs `body` on the lock connection; once more on a new session when the connection turns out broken (what the
    /// old session held is gone either way, and `lockSessionBackend` marks it lost). Errors become `OttoError` `state.lock`.
    func onLockSession<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        let location = self.location
        return try await lockLink.async { s in
            do {
                do {
                    return try body(s)
                } catch where (error as? PSQLError)?.code != .server && !(error is OttoError) {
                    return try body(try s.link.openSession())
                }
            } catch let error as OttoError {
                throw error
            } catch {
                throw OttoError("state.lock", "cannot \(what) in \(location): \(PostgresLink.reason(error))", causeText: nil)
            }
        }
    }

    /// The number of `scope` in this project (its row is made when missing).
    func scopeKey(_ scope: StateScope) async throws -> Int32 {
        try await write("register \(scope)") { s in
            try s.query("INSERT INTO scopes (scope) VALUES (\(scope.key)) ON CONFLICT (scope) DO NOTHING")
            return try s.query("SELECT id FROM scopes WHERE scope = \(scope.key)").first!.decode(Int32.self)
        }
    }

    /// The backend pid of the lock connection's session. A session other than the one that took the held scopes means
    /// the old one ended, and its locks with it: they are marked lost. On the lock queue only.
    func lockSessionBackend(_ s: PostgresSession) throws -> Int32 {
        let current = try s.query("SELECT pg_backend_pid()").first!.decode(Int32.self)
        let previous = lockBackend.withLock { backend in
            defer { backend = current }
            return backend
        }
        if let previous, previous != current { sessionLost() }
        return current
    }

    /// Marks every held scope lost (the lock session ended): writes to them are refused from now on.
    func sessionLost() {
        let scopes = held.withLock { Set($0.keys) }
        guard !scopes.isEmpty else { return }
        let fresh = lost.withLock { lost in
            let fresh = scopes.subtracting(lost)
            lost.formUnion(scopes)
            return fresh
        }
        if !fresh.isEmpty { lockCounters.withLock { $0.sessionsLost += 1 } }
    }

    /// True when this store holds `scope` and has not lost it.
    public func holds(_ scope: StateScope) -> Bool {
        held.withLock { $0[scope] != nil } && !lost.withLock { $0.contains(scope) }
    }

    /// Figures of the locks so far.
    public var lockFigures: PostgresLockCounters { lockCounters.withLock { $0 } }

    /// Starts the heartbeat of the lock connection: while scopes are held, one `SELECT 1` every quarter of the session
    /// timeout keeps the session from idling out; a failure (the server ended the session, the network is cut) marks
    /// them lost.
    func startHeartbeat() {
        let period = location.lockSessionTimeout / 4
        let nanos = Int(period.components.seconds) * 1_000_000_000 + Int(period.components.attoseconds / 1_000_000_000)
        heartbeat.schedule(deadline: .now() + .nanoseconds(nanos), repeating: .nanoseconds(nanos), leeway: .milliseconds(50))
        heartbeat.setEventHandler { [weak self] in
            guard let self, self.held.withLock({ !$0.isEmpty }) else { return }
            do {
                _ = try self.lockLink.syncOnQueue { s in try self.lockSessionBackend(s) }
            } catch {
                self.sessionLost()
            }
        }
        heartbeat.resume()
    }

    /// Refuses a write to any of `scopes` this store held but lost, or whose epoch another holder has moved on. Runs
    /// inside the write's transaction; locks the scopes' rows until it commits.
    func checkFence(_ s: PostgresSession, _ scopes: Set<StateScope>) throws {
        let mine = held.withLock { held in scopes.compactMap { scope in held[scope].map { (scope, $0) } } }
        guard !mine.isEmpty else { return }
        let lostNow = lost.withLock { $0 }
        if let gone = mine.first(where: { lostNow.contains($0.0) }) {
            throw fenced(gone.0, "its lock session ended")
        }
        let keys = mine.map(\.0.key)
        let liveHolder = lockHeldSQL(byRecordedHolder: true)
        var rows: [String: (Int64, Bool, String?)] = [:]
        for row in try s.query("""
            SELECT s.scope, s.epoch, s.lock_command,
                   \(unescaped: liveHolder)
            FROM scopes s WHERE s.scope = ANY(\(keys)::text[]) ORDER BY s.scope FOR UPDATE OF s
            """) {
            let (key, epoch, command, locked) = try row.decode((String, Int64, String?, Bool).self)
            rows[key] = (epoch, locked, command)
        }
        for (scope, mine) in mine {
            guard let (epoch, locked, command) = rows[scope.key] else { throw fenced(scope, "its row is gone") }
            if epoch != mine.epoch {
                throw fenced(scope, "it was taken over (epoch \(epoch), this holder's \(mine.epoch)) by `\(command ?? "another otto")`")
            }
            if !locked { throw fenced(scope, "its lock session no longer holds the lock") }
        }
    }

    func fenced(_ scope: StateScope, _ why: String) -> OttoError {
        lost.withLock { _ = $0.insert(scope) }
        lockCounters.withLock { $0.fencedWrites += 1 }
        return OttoError("state.fenced", "this otto lost the lock of \(scope) (\(why)); it wrote nothing and starts nothing "
                         + "more there: the new holder resolves what was in flight", causeText: nil)
    }

    /// Who holds `scope` (from its row), and whether that row is stale (its session no longer holds the lock: a new
    /// holder has not written its row yet).
    func holder(of scope: StateScope, key: Int32) async throws -> (LockInfo, Bool) {
        let liveHolder = lockHeldSQL(byRecordedHolder: true)
        for attempt in 0..<10 {
            let found: (LockInfo, Bool)? = try await read("read the lock of \(scope)") { s in
                guard let row = try s.query("""
                    SELECT s.lock_id, s.lock_pid, s.lock_host, s.lock_user, s.lock_command, s.lock_since,
                           \(unescaped: liveHolder)
                    FROM scopes s WHERE s.scope = \(scope.key) AND s.lock_id IS NOT NULL
                    """).first else { return nil }
                let (id, pid, host, user, command, since, live) =
                    try row.decode((String, Int32, String, String, String, Double, Bool).self)
                return (LockInfo(id: id, scope: scope, pid: pid, host: host, user: user, command: command,
                                 since: Date(timeIntervalSince1970: since)), !live)
            }
            if let found, !found.1 || attempt == 9 { return found }
            if attempt < 9 { try? await Task.sleep(for: .milliseconds(20)) }
        }
        if let mine = held.withLock({ $0[scope] }) { return (mine.info, false) }
        return (LockInfo(id: "unknown", scope: scope, pid: 0, host: "unknown", user: "unknown",
                         command: "a process that did not record itself", since: Date()), false)
    }

    public func locks() async throws -> [LockInfo] {
        let liveHolder = lockHeldSQL(byRecordedHolder: true)
        return try await read("read the locks") { s in
            try s.query("""
                SELECT s.scope, s.lock_id, s.lock_pid, s.lock_host, s.lock_user, s.lock_command, s.lock_since
                FROM scopes s WHERE s.lock_id IS NOT NULL AND \(unescaped: liveHolder)
                """).compactMap { row in
                let (key, id, pid, host, user, command, since) =
                    try row.decode((String, String, Int32, String, String, String, Double).self)
                return StateScope(key: key).map {
                    LockInfo(id: id, scope: $0, pid: pid, host: host, user: user, command: command, since: Date(timeIntervalSince1970: since))
                }
            }.sorted { $0.scope < $1.scope }
        }
    }

    /// Ends the server session that holds lock `id` (`pg_terminate_backend`), which frees the lock at once, then removes
    /// its row. The holder notices at its next write (`state.fenced`) or heartbeat. Fails when there is no such lock, or
    /// when the role may not end that session.
    public func forceUnlock(id: String) async throws {
        let liveHolder = lockHeldSQL(byRecordedHolder: true)
        let location = self.location
        let row: (String, Int32?, Bool, String, Int32?, String?)? = try await read("read lock \(id)") { s in
            guard let row = try s.query("""
                SELECT s.scope, s.lock_backend,
                       \(unescaped: liveHolder),
                       coalesce(s.lock_command, ''), s.lock_pid, s.lock_host
                FROM scopes s WHERE s.lock_id = \(id)
                """).first else { return nil }
            return try row.decode((String, Int32?, Bool, String, Int32?, String?).self)
        }
        guard let (key, backend, live, command, pid, host) = row else {
            let current = try await locks()
            let list = current.isEmpty ? "the state holds no lock"
                : "the locks are " + current.map { "\($0.id) (\($0.scope), `\($0.command)`)" }.joined(separator: ", ")
            throw OttoError("state.unlock", "there is no lock \(id) to remove: \(list); nothing was removed", causeText: nil)
        }
        if live, let backend {
            let ended: Bool
            do {
                ended = try await read("end the session holding lock \(id)") { s in
                    try s.query("SELECT pg_terminate_backend(\(backend), 5000)").first!.decode(Bool.self)
                }
            } catch let error as OttoError {
                throw OttoError("state.unlock", "cannot end the server session (backend \(backend)) of `\(command)` (pid \(pid ?? 0) on "
                                + "host \(host ?? "?")) that holds lock \(id) in \(location): \(error.message); a superuser or a role "
                                + "with pg_signal_backend can; nothing was removed", causeText: nil)
            }
            guard ended else {
                throw OttoError("state.unlock", "the server session (backend \(backend)) holding lock \(id) did not end within 5 s; "
                                + "nothing was removed", causeText: nil)
            }
        }
        try await write("remove lock \(id)") { s in
            _ = try s.query("""
                UPDATE scopes SET lock_id = NULL, lock_pid = NULL, lock_host = NULL, lock_user = NULL, lock_command = NULL,
                    lock_since = NULL, lock_backend = NULL, lock_replica = NULL
                WHERE scope = \(key) AND lock_id = \(id)
                """)
        }
    }
}

/// The scopes one command took from a `PostgresStateStore`: released by `release()`, or when the process ends (its lock
/// session ends with it).
final class PostgresStateLease: StateLease {
    let locks: [LockInfo]
    let scopes: [StateScope]
    private let store: PostgresStateStore

    init(store: PostgresStateStore, scopes: [StateScope], locks: [LockInfo]) {
        self.store = store
        self.scopes = scopes
        self.locks = locks
    }

    func release() async {
        for scope in scopes.reversed() { await store.unlock(scope) }
    }

    var isLost: Bool { scopes.contains { !store.holds($0) } }

    func verify() async -> Bool {
        let store = self.store
        // A failure or a new session marks the held scopes lost (`lockSessionBackend`).
        if (try? await store.lockLink.async { s in try store.lockSessionBackend(s) }) == nil { store.sessionLost() }
        return !isLost
    }
}
