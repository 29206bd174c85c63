import Foundation
import OttoCore
import PostgresNIO
import Synchronization

extension PostgresStateStore: SiteScheduleStore {
    /// `EXISTS` a granted advisory lock of the scope row aliased `alias` in this project; `byRecordedHolder`: held by
    /// the session the row names (`lock_backend`). `pg_locks` is the whole server's: advisory locks of other databases
    /// (other otto states, numbered alike) are left out. Every lock check of the store is this one.
    func lockHeldSQL(_ alias: String = "s", byRecordedHolder: Bool = false) -> String {
        """
        EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::int8 = \(Int64(projectKey)) AND l.objid::int8 = \(alias).id\(byRecordedHolder ? " AND l.pid = \(alias).lock_backend" : ""))
        """
    }

    /// A site whose lock row names a holder that no longer holds it (it died, or was cut off, mid-run) comes first: its
    /// run was interrupted, and is taken over before sites that are merely due.
    public func dueSites(_ sites: [String], limit: Int) async throws -> [(site: String, failures: Int)] {
        guard !sites.isEmpty else { return [] }
        let keys = sites.map { StateScope.site($0).key }
        let held = lockHeldSQL()
        return try await read("read the sites that are due") { s in
            try s.query(PostgresQuery(unsafeSQL: """
                SELECT w.scope, coalesce(s.failures, 0) FROM unnest($1::text[]) AS w (scope)
                LEFT JOIN scopes s ON s.scope = w.scope
                WHERE (s.next_due IS NULL OR s.next_due <= extract(epoch FROM clock_timestamp()))
                  AND NOT (s.id IS NOT NULL AND \(held))
                ORDER BY (s.lock_id IS NOT NULL) DESC, s.next_due NULLS FIRST, w.scope LIMIT \(max(0, limit))
                """, binds: Self.binds(keys))).compactMap { row in
                let (key, failures) = try row.decode((String, Int).self)
                guard case .site(let site)? = StateScope(key: key) else { return nil }
                return (site, failures)
            }
        }
    }

    public func scheduleSite(_ site: String, after: Duration, replica: String, outcome: String, failed: Bool) async throws {
        let scope = StateScope.site(site)
        let seconds = Self.seconds(after)
        try await write("schedule \(scope)") { [self] s in
            try checkFence(s, [scope])
            try s.query("""
                INSERT INTO scopes (scope, next_due, last_replica, last_run, last_outcome, failures)
                VALUES (\(scope.key), extract(epoch FROM clock_timestamp()) + \(seconds), \(replica), extract(epoch FROM clock_timestamp()),
                        \(outcome), \(failed ? 1 : 0))
                ON CONFLICT (scope) DO UPDATE SET next_due = excluded.next_due, last_replica = excluded.last_replica,
                    last_run = excluded.last_run, last_outcome = excluded.last_outcome,
                    failures = CASE WHEN \(failed) THEN scopes.failures + 1 ELSE 0 END
                """)
        }
    }

    public func siteSchedules() async throws -> [SiteSchedule] {
        let held = lockHeldSQL()
        return try await read("read the site schedules") { s in
            try s.query(PostgresQuery(unsafeSQL: """
                SELECT s.scope, s.next_due, s.last_replica, s.last_run, s.last_outcome, s.failures,
                       CASE WHEN s.lock_id IS NOT NULL AND \(held) THEN s.lock_replica END
                FROM scopes s WHERE s.scope LIKE 'site:%' ORDER BY s.scope
                """)).compactMap { row in
                let (key, due, replica, last, outcome, failures, holder) =
                    try row.decode((String, Double?, String?, Double?, String?, Int, String?).self)
                guard case .site(let site)? = StateScope(key: key) else { return nil }
                return SiteSchedule(site: site, nextDue: due.map(Date.init(timeIntervalSince1970:)), lastReplica: replica,
                                    lastRun: last.map(Date.init(timeIntervalSince1970:)), lastOutcome: outcome, failures: failures,
                                    heldBy: holder)
            }
        }
    }

    /// Scopes this store holds now (for `/metrics`).
    public var heldScopes: Int { held.withLock { $0.count } }
}

extension PostgresStateStore: WalkTurnStore {
    public func takeWalk(site: String, every: Duration, replica: String) async throws -> WalkTurnGrant {
        let scope = StateScope.walk(site)
        let held = lockHeldSQL()
        let now = "extract(epoch FROM clock_timestamp())"
        // Cheap first: not due, or walked right now by someone.
        let (left, busy): (Double?, Bool) = try await read("read when site \(site) is walked next") { s in
            guard let row = try s.query("""
                SELECT s.next_due - \(unescaped: now), \(unescaped: held) FROM scopes s WHERE s.scope = \(scope.key)
                """).first else { return (nil, false) }
            return try row.decode((Double?, Bool).self)
        }
        if let left, left > 0 { return .notYet(Self.duration(left)) }
        if busy { return .notYet(min(every, .seconds(1))) }
        let lease: any StateLease
        do {
            lease = try await lock([scope], command: "walk site \(site)", timeout: .zero)
        } catch is StateLockedError {
            return .notYet(min(every, .seconds(1)))
        }
        let seconds = Self.seconds(every)
        do {
            // Due still (a replica may have walked it between the read and the lock): the next walk is due `every` from now.
            let wait: Double? = try await write("take the walk of site \(site)") { [self] s in
                try checkFence(s, [scope])
                let taken = try s.query("""
                    UPDATE scopes SET next_due = \(unescaped: now) + \(seconds), last_replica = \(replica)
                    WHERE scope = \(scope.key) AND (next_due IS NULL OR next_due <= \(unescaped: now)) RETURNING scope
                    """)
                guard taken.isEmpty else { return nil }
                return try s.query("SELECT next_due - \(unescaped: now) FROM scopes WHERE scope = \(scope.key)").first?.decode(Double?.self)
                    ?? 0
            }
            if let wait {
                await lease.release()
                return .notYet(Self.duration(max(wait, 0.05)))
            }
            return .granted(lease)
        } catch {
            await lease.release()
            throw error
        }
    }

    public func finishWalk(site: String, lease: any StateLease, outcome: String) async {
        let scope = StateScope.walk(site)
        let failed = outcome != "ok"
        _ = try? await write("record the walk of site \(site)") { [self] s in
            try checkFence(s, [scope])
            try s.query("""
                UPDATE scopes SET last_run = extract(epoch FROM clock_timestamp()), last_outcome = \(outcome),
                    failures = CASE WHEN \(failed) THEN failures + 1 ELSE 0 END
                WHERE scope = \(scope.key)
                """)
        }
        await lease.release()
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func duration(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
