import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: StateTableAccess {
    func copyRows(_ table: String, columns: [String]) async throws -> [[StateCell]] {
        try await read("read the table \(table)") { db in
            guard try db.tableExists(table) else { return [] }
            let list = columns.map { "\"\($0)\"" }.joined(separator: ", ")
            return try Row.fetchAll(db, sql: "SELECT \(list) FROM \(table) ORDER BY 1").map { row in
                (0..<columns.count).map { i -> StateCell in
                    let value: DatabaseValue = row[i]
                    switch value.storage {
                    case .null: return .null
                    case .int64(let v): return .int(v)
                    case .double(let v): return .double(v)
                    case .string(let v): return .text(v)
                    case .blob(let data): return .text(String(decoding: data, as: UTF8.self))
                    }
                }
            }
        }
    }

    func pasteState(lineage: String, serial: Int64, environment: String?, serials: [(String, Int64)],
                    tables: [StateTableRows]) async throws {
        try await write("copy a state in") { db in
            try db.execute(sql: "UPDATE meta SET lineage = ?, serial = ?, environment = ? WHERE singleton = 1",
                           arguments: [lineage, serial, environment])
            for (scope, value) in serials {
                try db.execute(sql: "INSERT INTO serials (scope, serial) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET serial = excluded.serial",
                               arguments: [scope, value])
            }
            for table in tables where !table.rows.isEmpty {
                let list = table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                let marks = Array(repeating: "?", count: table.columns.count).joined(separator: ", ")
                let insert = try db.makeStatement(sql: "INSERT INTO \(table.table) (\(list)) VALUES (\(marks))")
                for row in table.rows {
                    try insert.execute(arguments: StatementArguments(row.map { cell -> (any DatabaseValueConvertible)? in
                        switch cell {
                        case .null: return nil
                        case .int(let v): return v
                        case .double(let v): return v
                        case .text(let v): return v
                        }
                    }))
                }
            }
        }
    }
}
