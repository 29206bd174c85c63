import Foundation
import OttoCore
import PostgresNIO

/// The release ledger in the `releases` table (migration `v3-ledgers`), append-only by its triggers as in SQLite.
extension PostgresStateStore: ReleaseLedger {
    public func appendRelease(_ release: NewRelease) async throws -> ReleaseRecord {
        let hosts = ValueJSON.encode(strings: release.hosts)
        return try await write("append a release of app \(release.app) of site \(release.site)") { s in
            // SQLite's IMMEDIATE transaction holds the database's write lock from its start; here a lock on the table that
            // writers of releases take (readers do not wait), held to the commit, keeps another appender from allocating
            // the same number between this read and the insert.
            try s.execute("LOCK TABLE releases IN SHARE ROW EXCLUSIVE MODE")
            let number = try s.query("""
                SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE site = \(release.site) AND app = \(release.app)
                """).first!.decode(Int.self)
            try s.query("""
                INSERT INTO releases (\(unescaped: StateRows.releaseColumns))
                VALUES (\(release.site), \(release.app), \(number), \(release.version), \(release.digest), \(release.actor),
                        \(release.started.timeIntervalSince1970), NULL, 'started', \(hosts), \(release.reason), \(release.rollbackOf))
                """)
            return StateRows.started(release, number: number)
        }
    }

    @discardableResult
    public func finishRelease(site: String, app: String, number: Int, result: ReleaseResult, finished: Date,
                              reason: String?) async throws -> ReleaseRecord {
        let database = location.description
        try StateRows.checkFinishing(result, site: site, app: app, number: number)
        return try await write("finish release \(number) of app \(app) of site \(site)") { s in
            // Locked: a second finisher waits here and then finds the release finished.
            guard let row = try s.query("""
                SELECT \(unescaped: StateRows.releaseColumns) FROM releases WHERE site = \(site) AND app = \(app) AND number = \(number) FOR UPDATE
                """).first else {
                throw OttoError("state.release", "there is no release \(number) of app \(app) of site \(site) in the state database \(database)",
                                causeText: nil)
            }
            let record = try StateRows.finished(try Self.decodeRelease(row, database: database), result, at: finished, reason: reason)
            try s.query("""
                UPDATE releases SET finished = \(finished.timeIntervalSince1970), result = \(result.rawValue), reason = \(record.reason)
                WHERE site = \(site) AND app = \(app) AND number = \(number)
                """)
            return record
        }
    }

    public func releases(site: String?, app: String, limit: Int) async throws -> [ReleaseRecord] {
        let database = location.description
        return try await read("read the releases of app \(app)") { s in
            let rows: [PostgresRow]
            if let site {
                rows = try s.query("""
                    SELECT \(unescaped: StateRows.releaseColumns) FROM releases WHERE site = \(site) AND app = \(app)
                    ORDER BY number DESC LIMIT \(max(0, limit))
                    """)
            } else {
                // `COLLATE "C"`: sites in byte order, as SQLite sorts them.
                rows = try s.query("""
                    SELECT \(unescaped: StateRows.releaseColumns) FROM releases WHERE app = \(app)
                    ORDER BY started DESC, site COLLATE "C", number DESC LIMIT \(max(0, limit))
                    """)
            }
            return try rows.map { try Self.decodeRelease($0, database: database) }
        }
    }

    public func latestRelease(site: String, app: String, result: ReleaseResult?) async throws -> ReleaseRecord? {
        let database = location.description
        return try await read("read the latest release of app \(app) of site \(site)") { s in
            try s.query("""
                SELECT \(unescaped: StateRows.releaseColumns) FROM releases
                WHERE site = \(site) AND app = \(app) AND (\(result?.rawValue)::text IS NULL OR result = \(result?.rawValue))
                ORDER BY number DESC LIMIT 1
                """).first.map { try Self.decodeRelease($0, database: database) }
        }
    }

    static func decodeRelease(_ row: PostgresRow, database: String) throws -> ReleaseRecord {
        let (site, app, number, version, digest, actor, started, finished, result, hosts, reason, rollbackOf) =
            try row.decode((String, String, Int, String, String, String, Double, Double?, String, String, String, Int?).self)
        return try StateRows.release(site: site, app: app, number: number, version: version, digest: digest, actor: actor, started: started,
                                     finished: finished, result: result, hosts: hosts, reason: reason, rollbackOf: rollbackOf,
                                     database: database)
    }
}
