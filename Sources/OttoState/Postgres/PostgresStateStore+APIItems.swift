import Foundation
import OttoCore
import PostgresNIO

/// Desired state written over the HTTP API in `api_items` (migration `v2-walks-and-api-items`). Blocking, like
/// `SQLiteStateStore`'s: the callers run it off the cooperative pool.
extension PostgresStateStore: APIItemStore {
    public func apiItems() throws -> [APIItem] {
        try readBlocking("read the API items") { s in
            // `COLLATE "C"`: byte order, as SQLite sorts, whatever the database's collation.
            try s.query("""
                SELECT kind, name, provider, document, updated_at FROM api_items ORDER BY kind COLLATE "C", name COLLATE "C"
                """).compactMap { row -> APIItem? in
                let (kindText, name, provider, document, updatedAt) = try row.decode((String, String, String?, String, Double).self)
                // A kind this otto does not know (written by a newer one) is skipped rather than misread.
                guard let kind = APIItemKind(rawValue: kindText) else { return nil }
                return APIItem(key: APIItemKey(kind, name), provider: provider, document: document,
                               updatedAt: Date(timeIntervalSince1970: updatedAt))
            }
        }
    }

    public func writeAPIItems(put: [APIItem], remove: [APIItemKey]) throws {
        guard !put.isEmpty || !remove.isEmpty else { return }
        try writeBlocking("write the API items") { s in
            try s.query("UPDATE meta SET api_version = api_version + 1 WHERE singleton = 1")
            try notify(s, .items)
            for key in remove {
                try s.query("DELETE FROM api_items WHERE kind = \(key.kind.rawValue) AND name = \(key.name)")
            }
            for item in put {
                try s.query("""
                    INSERT INTO api_items (kind, name, provider, document, updated_at)
                    VALUES (\(item.key.kind.rawValue), \(item.key.name), \(item.provider), \(item.document), \(item.updatedAt.timeIntervalSince1970))
                    ON CONFLICT (kind, name) DO UPDATE SET provider = excluded.provider, document = excluded.document,
                        updated_at = excluded.updated_at
                    """)
            }
        }
    }

    public func apiItemsVersion() throws -> Int64? {
        try readBlocking("read the API items' version") { s in
            try s.query("SELECT api_version FROM meta WHERE singleton = 1").first?.decode(Int64.self)
        }
    }
}
