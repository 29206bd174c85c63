import Foundation
import OttoCore
import PostgresNIO

/// Walkers scheduled over HTTP (migration `v4-walkers-and-api-version`). Blocking, like `SQLiteStateStore`'s.
extension PostgresStateStore: WalkerStore {
    public func storedWalkers() throws -> [String: WalkSpec] {
        try readBlocking("read the walkers") { s in
            var out: [String: WalkSpec] = [:]
            for row in try s.query("SELECT site, every_ms, depth, max_pages, allow, start_url FROM walkers") {
                let (site, every, depth, pages, allow, start) = try row.decode((String, Int, Int, Int, String, String).self)
                out[site] = try WalkerRow.spec(site: site, everyMilliseconds: every, depth: depth, maxPages: pages, allow: allow, start: start)
            }
            return out
        }
    }

    public func storeWalker(site: String, _ spec: WalkSpec) throws {
        let allow = WalkerRow.allowJSON(spec.allow)
        try writeBlocking("store the walker of site \(site)") { s in
            try s.query("""
                INSERT INTO walkers (site, every_ms, depth, max_pages, allow, start_url, updated_at)
                VALUES (\(site), \(spec.every.milliseconds), \(spec.depth), \(spec.maxPages), \(allow), \(spec.start),
                        \(Date().timeIntervalSince1970))
                ON CONFLICT (site) DO UPDATE SET every_ms = excluded.every_ms, depth = excluded.depth, max_pages = excluded.max_pages,
                    allow = excluded.allow, start_url = excluded.start_url, updated_at = excluded.updated_at
                """)
            try notify(s, .walkers)
        }
    }

    public func removeStoredWalker(site: String) throws {
        try writeBlocking("forget the walker of site \(site)") { s in
            try s.query("DELETE FROM walkers WHERE site = \(site)")
            try notify(s, .walkers)
        }
    }
}
