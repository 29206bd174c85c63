import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: APIItemStore {
    public func apiItems() throws -> [APIItem] {
        try readBlocking("read the API items") { db in
            try Row.fetchAll(db, sql: "SELECT kind, name, provider, document, updated_at FROM api_items ORDER BY kind, name")
                .compactMap { row -> APIItem? in
                    // A kind this otto does not know (written by a newer one) is skipped rather than misread.
                    guard let kind = APIItemKind(rawValue: row["kind"]) else { return nil }
                    return APIItem(key: APIItemKey(kind, row["name"]), provider: row["provider"], document: row["document"],
                                   updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
                }
        }
    }

    public func writeAPIItems(put: [APIItem], remove: [APIItemKey]) throws {
        guard !put.isEmpty || !remove.isEmpty else { return }
        try writeBlocking("write the API items") { db in
            for key in remove {
                try db.execute(sql: "DELETE FROM api_items WHERE kind = ? AND name = ?", arguments: [key.kind.rawValue, key.name])
            }
            for item in put {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO api_items (kind, name, provider, document, updated_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [item.key.kind.rawValue, item.key.name, item.provider, item.document,
                                     item.updatedAt.timeIntervalSince1970])
            }
        }
    }
}
