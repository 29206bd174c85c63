import Foundation
import OttoCore
import PostgresNIO

/// Walk history in `walks` and `walk_pages` (migration `v2-walks-and-api-items`; a walk's pages go with it, ON DELETE
/// CASCADE). Blocking, like every `WalkHistoryStore`.
extension PostgresStateStore: WalkHistoryStore {
    static let walkColumns = """
        id, site, start_url, started, finished, depth, max_pages, page_count, broken_count, truncated, interrupted,
        requests, connections, resolve, broken
        """
    /// Pages inserted per statement (13 parameters each, well under the protocol's 65,535).
    static let pagesPerInsert = 500

    public func recordWalk(_ report: WalkReport, keepLast: Int?) throws -> Int64 {
        let encoded = try StateRows.encodeWalk(report)
        return try writeBlocking("record a walk of site \(report.site)") { s in
            let id = try s.query("""
                INSERT INTO walks (site, start_url, started, finished, depth, max_pages, page_count, broken_count, truncated,
                                   interrupted, requests, connections, resolve, broken)
                VALUES (\(report.site), \(report.start), \(report.startedAt.timeIntervalSince1970), \(report.finishedAt.timeIntervalSince1970),
                        \(report.depth), \(report.maxPages), \(report.pages.count), \(report.broken.count), \(report.truncated),
                        \(report.interrupted), \(report.requests), \(report.connections), \(encoded.resolve), \(encoded.broken))
                RETURNING id
                """).first!.decode(Int64.self)
            var start = 0
            while start < encoded.pages.count {
                let batch = encoded.pages[start..<min(start + Self.pagesPerInsert, encoded.pages.count)]
                try s.query(Self.insertPages(walk: id, batch))
                start += batch.count
            }
            if let keepLast { try Self.prune(s, site: report.site, keepLast: keepLast) }
            return id
        }
    }

    /// One `INSERT` of `pages` of walk `walk`: a row of parameters per page.
    static func insertPages(walk: Int64, _ pages: ArraySlice<StateRows.EncodedWalk.Page>) -> PostgresQuery {
        var binds = PostgresBindings(capacity: pages.count * 13)
        var rows: [String] = []
        rows.reserveCapacity(pages.count)
        for p in pages {
            let first = binds.count + 1
            rows.append("(\(walk), " + (first..<first + 13).map { "$\($0)" }.joined(separator: ", ") + ")")
            binds.append(p.seq)
            binds.append(p.url)
            binds.append(p.depth)
            binds.append(p.kind)
            binds.append(p.method)
            binds.append(p.status)
            binds.append(p.timeMs)
            binds.append(p.size)
            binds.append(p.contentType)
            binds.append(p.redirects)
            binds.append(p.links)
            binds.append(p.errorCode)
            binds.append(p.errorMessage)
        }
        return PostgresQuery(unsafeSQL: """
            INSERT INTO walk_pages (walk_id, seq, url, depth, kind, method, status, time_ms, size, content_type, redirects,
                                    links, error_code, error_message)
            VALUES \(rows.joined(separator: ", "))
            """, binds: binds)
    }

    public func recentWalks(site: String?, limit: Int) throws -> [WalkSummary] {
        let database = location.description
        return try readBlocking("read the walk history") { s in
            try s.query("""
                SELECT \(unescaped: Self.walkColumns) FROM walks WHERE (\(site)::text IS NULL OR site = \(site))
                ORDER BY id DESC LIMIT \(max(0, limit))
                """).map { row in
                var summary = try Self.decodeWalk(row, pages: [], database: database).summary
                // The page count from the row (the pages were not read).
                summary.pageCount = try row.makeRandomAccess()[7].decode(Int.self)
                return summary
            }
        }
    }

    public func walkIDs(site: String, limit: Int) throws -> [Int64] {
        try readBlocking("read the walks of site \(site)") { s in
            try s.query("SELECT id FROM walks WHERE site = \(site) ORDER BY id DESC LIMIT \(max(0, limit))").map { try $0.decode(Int64.self) }
        }
    }

    public func lastWalk(site: String) throws -> WalkReport? {
        let database = location.description
        return try readBlocking("read the last walk of site \(site)") { s in
            guard let row = try s.query("SELECT \(unescaped: Self.walkColumns) FROM walks WHERE site = \(site) ORDER BY id DESC LIMIT 1")
                .first else { return nil }
            return try Self.fullWalk(s, row, database: database)
        }
    }

    public func walk(id: Int64) throws -> WalkReport? {
        let database = location.description
        return try readBlocking("read walk \(id)") { s in
            guard let row = try s.query("SELECT \(unescaped: Self.walkColumns) FROM walks WHERE id = \(id)").first else { return nil }
            return try Self.fullWalk(s, row, database: database)
        }
    }

    @discardableResult
    public func pruneWalks(keepLast: Int, site: String?) throws -> Int {
        try writeBlocking("prune the walk history") { s in
            let sites = try site.map { [$0] } ?? s.query("SELECT DISTINCT site FROM walks").map { try $0.decode(String.self) }
            var removed = 0
            for name in sites { removed += try Self.prune(s, site: name, keepLast: keepLast) }
            return removed
        }
    }

    /// Deletes the walks of `site` older than its newest `keepLast` (their pages go with them); returns how many.
    @discardableResult
    static func prune(_ s: PostgresSession, site: String, keepLast: Int) throws -> Int {
        try s.query("""
            WITH gone AS (
                DELETE FROM walks WHERE site = \(site)
                AND id NOT IN (SELECT id FROM walks WHERE site = \(site) ORDER BY id DESC LIMIT \(max(0, keepLast)))
                RETURNING 1)
            SELECT count(*) FROM gone
            """).first!.decode(Int.self)
    }

    static func fullWalk(_ s: PostgresSession, _ row: PostgresRow, database: String) throws -> WalkReport {
        let id = try row.makeRandomAccess()[0].decode(Int64.self)
        let pages = try s.query("""
            SELECT url, depth, kind, method, status, time_ms, size, content_type, redirects, links, error_code, error_message
            FROM walk_pages WHERE walk_id = \(id) ORDER BY seq
            """).map { p in
            let (url, depth, kind, method, status, timeMs, size, contentType, redirects, links, errorCode, errorMessage) =
                try p.decode((String, Int, String, String, Int?, Double, Int, String?, String?, String?, String?, String?).self)
            return try StateRows.walkPage(walk: id, url: url, depth: depth, kind: kind, method: method, status: status, timeMs: timeMs,
                                          size: size, contentType: contentType, redirects: redirects, links: links, errorCode: errorCode,
                                          errorMessage: errorMessage, database: database)
        }
        return try decodeWalk(row, pages: pages, database: database)
    }

    static func decodeWalk(_ row: PostgresRow, pages: [WalkPage], database: String) throws -> WalkReport {
        let (id, site, start, started, finished, depth, maxPages, _, _, truncated, interrupted, requests, connections, resolve, broken) =
            try row.decode((Int64, String, String, Double, Double, Int, Int, Int, Int, Bool, Bool, Int, Int, String, String).self)
        return try StateRows.walk(id: id, site: site, start: start, started: started, finished: finished, depth: depth, maxPages: maxPages,
                                  truncated: truncated, interrupted: interrupted, requests: requests, connections: connections,
                                  resolve: resolve, broken: broken, pages: pages, database: database)
    }
}
