import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: WalkerStore {
    public func storedWalkers() throws -> [String: WalkSpec] {
        try readBlocking("read the walkers") { db in
            var out: [String: WalkSpec] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT site, every_ms, depth, max_pages, allow, start_url FROM walkers") {
                let site: String = row[0]
                out[site] = try WalkerRow.spec(site: site, everyMilliseconds: row[1], depth: row[2], maxPages: row[3], allow: row[4],
                                               start: row[5])
            }
            return out
        }
    }

    public func storeWalker(site: String, _ spec: WalkSpec) throws {
        let allow = WalkerRow.allowJSON(spec.allow)
        try writeBlocking("store the walker of site \(site)") { db in
            try db.execute(sql: """
                INSERT INTO walkers (site, every_ms, depth, max_pages, allow, start_url, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (site) DO UPDATE SET every_ms = excluded.every_ms, depth = excluded.depth, max_pages = excluded.max_pages,
                    allow = excluded.allow, start_url = excluded.start_url, updated_at = excluded.updated_at
                """, arguments: [site, spec.every.milliseconds, spec.depth, spec.maxPages, allow, spec.start, Date().timeIntervalSince1970])
        }
    }

    public func removeStoredWalker(site: String) throws {
        try writeBlocking("forget the walker of site \(site)") { db in
            try db.execute(sql: "DELETE FROM walkers WHERE site = ?", arguments: [site])
        }
    }
}

/// A stored walker's columns, shared by both backends.
enum WalkerRow {
    /// `allow` as stored: `{"allow":[HOST, …]}`.
    static func allowJSON(_ allow: [String]) -> String {
        (try? ValueJSON.encode(["allow": .list(allow.map(Value.string))])) ?? #"{"allow":[]}"#
    }

    /// The spec stored for `site`.
    static func spec(site: String, everyMilliseconds: Int, depth: Int, maxPages: Int, allow: String, start: String) throws -> WalkSpec {
        let hosts: [String]
        do {
            guard case .list(let items)? = try ValueJSON.decodeAttributes(allow)["allow"] else { throw OttoError("state.corrupt", "no list") }
            hosts = items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        } catch {
            throw OttoError("state.corrupt", "the walker of site \(site) has an unreadable `allow` list in the state", cause: error)
        }
        guard let every = ConfigDuration(parsing: "\(everyMilliseconds)ms") else {
            throw OttoError("state.corrupt", "the walker of site \(site) has an unreadable interval (\(everyMilliseconds) ms)", causeText: nil)
        }
        return WalkSpec(every: every, depth: depth, maxPages: maxPages, allow: hosts, start: start, location: WalkSpec.apiLocation(site: site))
    }
}
