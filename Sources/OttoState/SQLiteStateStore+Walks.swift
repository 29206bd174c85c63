import Foundation
import GRDB
import OttoCore

/// Walk history in the `walks` and `walk_pages` tables (migration `v4-walks`). Blocking, like every store call.
extension SQLiteStateStore: WalkHistoryStore {
    static let insertWalkSQL = """
        INSERT INTO walks (site, start_url, started, finished, depth, max_pages, page_count, broken_count, truncated,
                           interrupted, requests, connections, resolve, broken)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let insertPageSQL = """
        INSERT INTO walk_pages (walk_id, seq, url, depth, kind, method, status, time_ms, size, content_type, redirects,
                                links, error_code, error_message)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """
    static let walkColumns = """
        id, site, start_url, started, finished, depth, max_pages, page_count, broken_count, truncated, interrupted,
        requests, connections, resolve, broken
        """

    public func recordWalk(_ report: WalkReport, keepLast: Int?) throws -> Int64 {
        let encoded = try StateRows.encodeWalk(report)
        let walkArguments: StatementArguments = [
            report.site, report.start, report.startedAt.timeIntervalSince1970, report.finishedAt.timeIntervalSince1970, report.depth,
            report.maxPages, report.pages.count, report.broken.count, report.truncated, report.interrupted, report.requests,
            report.connections, encoded.resolve, encoded.broken]
        let pageArguments: [[(any DatabaseValueConvertible)?]] = encoded.pages.map { p in
            [p.seq, p.url, p.depth, p.kind, p.method, p.status, p.timeMs, p.size, p.contentType, p.redirects, p.links, p.errorCode,
             p.errorMessage]
        }
        return try writeBlocking("record a walk of site \(report.site)") { db in
            try db.cachedStatement(sql: Self.insertWalkSQL).execute(arguments: walkArguments)
            let id = db.lastInsertedRowID
            let insert = try db.cachedStatement(sql: Self.insertPageSQL)
            for values in pageArguments {
                var all: [(any DatabaseValueConvertible)?] = [id]
                all.append(contentsOf: values)
                try insert.execute(arguments: StatementArguments(all))
            }
            if let keepLast { try Self.prune(db, site: report.site, keepLast: keepLast) }
            return id
        }
    }

    public func recentWalks(site: String?, limit: Int) throws -> [WalkSummary] {
        try readBlocking("read the walk history") { db in
            let rows: [Row]
            if let site {
                rows = try Row.fetchAll(db, sql: "SELECT \(Self.walkColumns) FROM walks WHERE site = ? ORDER BY id DESC LIMIT ?",
                                        arguments: [site, max(0, limit)])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(Self.walkColumns) FROM walks ORDER BY id DESC LIMIT ?",
                                        arguments: [max(0, limit)])
            }
            return try rows.map { try decodeWalk($0, pages: []).summaryFromRow($0) }
        }
    }

    public func walkIDs(site: String, limit: Int) throws -> [Int64] {
        try readBlocking("read the walks of site \(site)") { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM walks WHERE site = ? ORDER BY id DESC LIMIT ?", arguments: [site, max(0, limit)])
        }
    }

    public func lastWalk(site: String) throws -> WalkReport? {
        try readBlocking("read the last walk of site \(site)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.walkColumns) FROM walks WHERE site = ? ORDER BY id DESC LIMIT 1",
                                             arguments: [site]) else { return nil }
            return try fullWalk(db, row)
        }
    }

    public func walk(id: Int64) throws -> WalkReport? {
        try readBlocking("read walk \(id)") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.walkColumns) FROM walks WHERE id = ?", arguments: [id]) else { return nil }
            return try fullWalk(db, row)
        }
    }

    @discardableResult
    public func pruneWalks(keepLast: Int, site: String?) throws -> Int {
        try writeBlocking("prune the walk history") { db in
            let sites = try site.map { [$0] } ?? String.fetchAll(db, sql: "SELECT DISTINCT site FROM walks")
            var removed = 0
            for s in sites { removed += try Self.prune(db, site: s, keepLast: keepLast) }
            return removed
        }
    }

    /// Deletes the walks of `site` older than its newest `keepLast` (their pages go with them); returns how many.
    @discardableResult
    static func prune(_ db: Database, site: String, keepLast: Int) throws -> Int {
        try db.execute(sql: """
            DELETE FROM walks WHERE site = ? AND id NOT IN (SELECT id FROM walks WHERE site = ? ORDER BY id DESC LIMIT ?)
            """, arguments: [site, site, max(0, keepLast)])
        return db.changesCount
    }

    private func fullWalk(_ db: Database, _ row: Row) throws -> WalkReport {
        let id: Int64 = row[0]
        let pageRows = try Row.fetchCursor(db, sql: """
            SELECT url, depth, kind, method, status, time_ms, size, content_type, redirects, links, error_code, error_message
            FROM walk_pages WHERE walk_id = ? ORDER BY seq
            """, arguments: [id])
        var pages: [WalkPage] = []
        while let p = try pageRows.next() {
            pages.append(try StateRows.walkPage(walk: id, url: p[0], depth: p[1], kind: p[2], method: p[3], status: p[4], timeMs: p[5],
                                                size: p[6], contentType: p[7], redirects: p[8], links: p[9], errorCode: p[10],
                                                errorMessage: p[11], database: path))
        }
        return try decodeWalk(row, pages: pages)
    }

    private func decodeWalk(_ row: Row, pages: [WalkPage]) throws -> WalkReport {
        try StateRows.walk(id: row[0], site: row[1], start: row[2], started: row[3], finished: row[4], depth: row[5], maxPages: row[6],
                           truncated: row[9], interrupted: row[10], requests: row[11], connections: row[12], resolve: row[13],
                           broken: row[14], pages: pages, database: path)
    }
}

private extension WalkReport {
    /// The summary, with the page count from the row (the pages were not read).
    func summaryFromRow(_ row: Row) -> WalkSummary {
        var s = summary
        s.pageCount = row[7]
        return s
    }
}
