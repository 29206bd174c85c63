import Foundation
import OttoCore
import PostgresNIO

extension PostgresStateStore: StateTableAccess {
    /// The PostgreSQL name of a column SQLite names `column` in `table`.
    static func column(_ column: String, of table: String) -> String {
        table == "runs" && column == "user" ? "user_name" : column
    }

    func copyRows(_ table: String, columns: [String]) async throws -> [[StateCell]] {
        try await read("read the table \(table)") { s in
            guard try s.query("SELECT to_regclass(\(table)) IS NOT NULL").first!.decode(Bool.self) else { return [] }
            let list = columns.map { "\"\(Self.column($0, of: table))\"" }.joined(separator: ", ")
            return try s.query(PostgresQuery(unsafeSQL: "SELECT \(list) FROM \(table) ORDER BY 1")).map { row in
                try row.map { cell -> StateCell in
                    switch cell.dataType {
                    case .int2, .int4, .int8: return try cell.decode(Int64?.self).map(StateCell.int) ?? .null
                    case .float4, .float8, .numeric: return try cell.decode(Double?.self).map(StateCell.double) ?? .null
                    case .bool: return try cell.decode(Bool?.self).map { .int($0 ? 1 : 0) } ?? .null
                    default: return try cell.decode(String?.self).map(StateCell.text) ?? .null
                    }
                }
            }
        }
    }

    func pasteState(lineage: String, serial: Int64, environment: String?, serials: [(String, Int64)],
                    tables: [StateTableRows]) async throws {
        try await write("copy a state in") { s in
            try s.query("UPDATE meta SET lineage = \(lineage), serial = \(serial), environment = \(environment) WHERE singleton = 1")
            for (scope, value) in serials {
                try s.query("""
                    INSERT INTO scopes (scope, serial) VALUES (\(scope), \(value)) ON CONFLICT (scope) DO UPDATE SET serial = excluded.serial
                    """)
            }
            for table in tables where !table.rows.isEmpty {
                // Each value goes as text and is cast to its column's type (an SQLite integer may be a boolean here).
                let types = try Dictionary(uniqueKeysWithValues: s.query("""
                    SELECT column_name::text, format_type(atttypid, atttypmod) FROM information_schema.columns c
                    JOIN pg_attribute a ON a.attrelid = to_regclass(\(table.table)) AND a.attname = c.column_name
                    WHERE c.table_schema = current_schema() AND c.table_name = \(table.table)
                    """).map { try $0.decode((String, String).self) })
                let names = table.columns.map { Self.column($0, of: table.table) }
                let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
                let perBatch = max(1, 30_000 / max(1, names.count))
                var start = 0
                while start < table.rows.count {
                    let batch = table.rows[start..<min(table.rows.count, start + perBatch)]
                    var binds = PostgresBindings()
                    var tuples: [String] = []
                    for row in batch {
                        var marks: [String] = []
                        for (name, cell) in zip(names, row) {
                            let text: String?
                            switch cell {
                            case .null: text = nil
                            case .int(let v): text = String(v)
                            case .double(let v): text = "\(v)"
                            case .text(let v): text = v
                            }
                            binds.append(text)
                            marks.append("$\(binds.count)::text::\(types[name] ?? "text")")
                        }
                        tuples.append("(" + marks.joined(separator: ", ") + ")")
                    }
                    try s.query(PostgresQuery(unsafeSQL: "INSERT INTO \(table.table) (\(list)) VALUES " + tuples.joined(separator: ", "),
                                              binds: binds))
                    start += perBatch
                }
                if names.contains("id") {
                    try s.query(PostgresQuery(unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table.table)', 'id'), max(id)) FROM \(table.table) HAVING max(id) IS NOT NULL
                        """))
                }
            }
        }
    }
}
