import Foundation
import GRDB
import OttoCore

/// The release ledger in the `releases` table (migration `v7-releases`), async on GRDB's queue like the runs.
extension SQLiteStateStore: ReleaseLedger {
    public func appendRelease(_ release: NewRelease) async throws -> ReleaseRecord {
        let hosts = ValueJSON.encode(strings: release.hosts)
        return try await write("append a release of app \(release.app) of site \(release.site)") { db in
            // The IMMEDIATE transaction holds the database's write lock from its start, so no other connection can
            // allocate the same number between this read and the insert.
            let number = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE site = ? AND app = ?",
                                          arguments: [release.site, release.app]) ?? 1
            try db.execute(sql: """
                INSERT INTO releases (\(StateRows.releaseColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'started', ?, ?, ?)
                """, arguments: [release.site, release.app, number, release.version, release.digest, release.actor,
                                 release.started.timeIntervalSince1970, hosts, release.reason, release.rollbackOf])
            return StateRows.started(release, number: number)
        }
    }

    @discardableResult
    public func finishRelease(site: String, app: String, number: Int, result: ReleaseResult, finished: Date,
                              reason: String?) async throws -> ReleaseRecord {
        let path = self.path
        try StateRows.checkFinishing(result, site: site, app: app, number: number)
        return try await write("finish release \(number) of app \(app) of site \(site)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(StateRows.releaseColumns) FROM releases WHERE site = ? AND app = ? AND number = ?",
                                             arguments: [site, app, number]) else {
                throw OttoError("state.release", "there is no release \(number) of app \(app) of site \(site) in the state database \(path)",
                                causeText: nil)
            }
            let record = try StateRows.finished(try Self.decodeRelease(row, path: path), result, at: finished, reason: reason)
            try db.execute(sql: "UPDATE releases SET finished = ?, result = ?, reason = ? WHERE site = ? AND app = ? AND number = ?",
                           arguments: [finished.timeIntervalSince1970, result.rawValue, record.reason, site, app, number])
            return record
        }
    }

    public func releases(site: String?, app: String, limit: Int) async throws -> [ReleaseRecord] {
        let path = self.path
        return try await read("read the releases of app \(app)") { db in
            let rows: [Row]
            if let site {
                rows = try Row.fetchAll(db, sql: """
                    SELECT \(StateRows.releaseColumns) FROM releases WHERE site = ? AND app = ? ORDER BY number DESC LIMIT ?
                    """, arguments: [site, app, max(0, limit)])
            } else {
                rows = try Row.fetchAll(db, sql: """
                    SELECT \(StateRows.releaseColumns) FROM releases WHERE app = ? ORDER BY started DESC, site, number DESC LIMIT ?
                    """, arguments: [app, max(0, limit)])
            }
            return try rows.map { try Self.decodeRelease($0, path: path) }
        }
    }

    public func latestRelease(site: String, app: String, result: ReleaseResult?) async throws -> ReleaseRecord? {
        let path = self.path
        return try await read("read the latest release of app \(app) of site \(site)") { db in
            let row: Row?
            if let result {
                row = try Row.fetchOne(db, sql: """
                    SELECT \(StateRows.releaseColumns) FROM releases WHERE site = ? AND app = ? AND result = ? ORDER BY number DESC LIMIT 1
                    """, arguments: [site, app, result.rawValue])
            } else {
                row = try Row.fetchOne(db, sql: """
                    SELECT \(StateRows.releaseColumns) FROM releases WHERE site = ? AND app = ? ORDER BY number DESC LIMIT 1
                    """, arguments: [site, app])
            }
            return try row.map { try Self.decodeRelease($0, path: path) }
        }
    }

    static func decodeRelease(_ row: Row, path: String) throws -> ReleaseRecord {
        try StateRows.release(site: row[0], app: row[1], number: row[2], version: row[3], digest: row[4], actor: row[5], started: row[6],
                              finished: row[7], result: row[8], hosts: row[9], reason: row[10], rollbackOf: row[11], database: path)
    }
}
