import Foundation
import GRDB
import GRDBSQLite
import OttoCore

extension SQLiteStateStore: StateReader, StateWriter {
    static let upsertSQL = """
        INSERT INTO resources (address, kind, provider, provider_id, attributes, dependencies, updated_at, site)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, provider = excluded.provider,
            provider_id = excluded.provider_id, attributes = excluded.attributes,
            dependencies = excluded.dependencies, updated_at = excluded.updated_at, site = excluded.site
        """
    static let bumpSerialSQL = "UPDATE meta SET serial = serial + 1 WHERE singleton = 1"
    static let bumpScopeSerialSQL = """
        INSERT INTO serials (scope, serial) VALUES (?, 1) ON CONFLICT (scope) DO UPDATE SET serial = serial + 1
        """
    static let deleteSQL = "DELETE FROM resources WHERE address = ? RETURNING site"
    static let clearPendingSQL = "DELETE FROM pending_creates WHERE address = ? RETURNING site"
    static let anyPendingSQL = "SELECT EXISTS (SELECT 1 FROM pending_creates)"

    public func snapshot() async throws -> StateSnapshot {
        let path = self.path
        return try await read("read the resources") { db in
            guard let meta = try Row.fetchOne(db, sql: "SELECT lineage, serial FROM meta WHERE singleton = 1") else {
                throw OttoError("state.corrupt", "the state database \(path) has no lineage row in `meta`",
                                causeText: nil)
            }
            var records: [ResourceAddress: ResourceRecord] = [:]
            records.reserveCapacity(try Int.fetchOne(db, sql: "SELECT count(*) FROM resources") ?? 0)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT address, provider, provider_id, attributes, dependencies, site FROM resources
                """)
            while let row = try rows.next() {
                let record = try Self.decodeRecord(row, path: path)
                records[record.address] = record
            }
            var pending: [ResourceAddress: PendingCreate] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT address, provider, key, attributes, dependencies, since, site FROM pending_creates") {
                let p = try Self.decodePending(row, path: path)
                pending[p.address] = p
            }
            var serials: [StateScope: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT scope, serial FROM serials") {
                if let scope = StateScope(key: row[0]) { serials[scope] = row[1] }
            }
            return StateSnapshot(lineage: meta[0], serial: meta[1], records: records, pending: pending, serials: serials)
        }
    }

    public func providerNames() async throws -> Set<String> {
        try await read("read the providers") { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT provider FROM resources UNION SELECT DISTINCT provider FROM pending_creates"))
        }
    }

    public func scopes() async throws -> Set<StateScope> {
        try await read("read the scopes") { db in
            let sites = try Optional<String>.fetchAll(db, sql: "SELECT DISTINCT site FROM resources UNION SELECT DISTINCT site FROM pending_creates")
            return Set(sites.map(StateScope.init(site:)))
        }
    }

    public func putPending(_ pending: PendingCreate) async throws {
        let attributes: String
        do { attributes = try ValueJSON.encode(pending.attributes) } catch {
            throw OttoError("state.write", "cannot encode the attributes of \(pending.address) as JSON", cause: error)
        }
        try await write("record the pending create of \(pending.address)") { db in
            try db.execute(sql: """
                INSERT INTO pending_creates (address, provider, key, attributes, dependencies, since, site) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (address) DO UPDATE SET provider = excluded.provider, key = excluded.key,
                    attributes = excluded.attributes, dependencies = excluded.dependencies, since = excluded.since,
                    site = excluded.site
                """, arguments: [pending.address.description, pending.provider, pending.key, attributes,
                                 ValueJSON.encode(pending.dependencies), pending.since, pending.site])
            try Self.bumpSerials(db, [pending.scope])
        }
    }

    public func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) async throws {
        guard !records.isEmpty || !removing.isEmpty || !handlers.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        let encoded = try records.map { try Self.encodeRecord($0, now: now) }
        let encodedHandlers: [StatementArguments] = try handlers.map { h in
            do { return [h.id, h.provider, h.name, try ValueJSON.encode(h.attributes), now] } catch {
                throw OttoError("state.write", "cannot encode handler \(h.id) as JSON", cause: error)
            }
        }
        let what = records.count == 1 && removing.isEmpty ? "record \(records[0].address)"
            : removing.count == 1 && records.isEmpty ? "remove \(removing[0])" : "record \(records.count) resources"
        try await write(what) { db in
            let addHandler = try db.cachedStatement(sql: """
                INSERT INTO handlers (id, provider, name, attributes, since) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes
                """)
            for arguments in encodedHandlers { try addHandler.execute(arguments: arguments) }
            var scopes = Set<StateScope>()
            let upsert = try db.cachedStatement(sql: Self.upsertSQL)
            let clearPending = try db.cachedStatement(sql: Self.clearPendingSQL)
            // Most records have no pending create (only machines are created that way): one look at the table spares
            // a DELETE per record when it is empty.
            let anyPending = try Bool.fetchOne(db.cachedStatement(sql: Self.anyPendingSQL)) ?? true
            for (record, row) in zip(records, encoded) {
                try row.upsert(upsert, db)
                if anyPending { _ = try Row.fetchOne(clearPending, arguments: [record.address.description]) }
                scopes.insert(record.scope)
            }
            let delete = try db.cachedStatement(sql: Self.deleteSQL)
            for address in removing {
                // The row says whose serial moves (a removed address is not in the configuration any more).
                if let row = try Row.fetchOne(delete, arguments: [address.description]) { scopes.insert(StateScope(site: row[0])) }
                if let row = try Row.fetchOne(clearPending, arguments: [address.description]) { scopes.insert(StateScope(site: row[0])) }
            }
            try Self.bumpSerials(db, scopes)
        }
    }

    /// Increments the lineage-wide serial and the serial of each of `scopes` (nothing when `scopes` is empty).
    static func bumpSerials(_ db: Database, _ scopes: Set<StateScope>) throws {
        guard !scopes.isEmpty else { return }
        try db.cachedStatement(sql: bumpSerialSQL).execute()
        let bump = try db.cachedStatement(sql: bumpScopeSerialSQL)
        for scope in scopes { try bump.execute(arguments: [scope.key]) }
    }

    public func pendingHandlers() async throws -> [Handler] {
        let path = self.path
        return try await read("read pending handlers") { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, provider, name, attributes FROM handlers ORDER BY since, id")
            return try rows.map { row in
                let text: String = row[3]
                do {
                    return Handler(id: row[0], provider: row[1], name: row[2], attributes: try ValueJSON.decodeAttributes(text))
                } catch {
                    throw OttoError("state.corrupt", "the state database \(path) holds unreadable JSON for handler \(row[0] as String)",
                                    cause: error)
                }
            }
        }
    }

    public func handlerRan(id: String) async throws {
        try await write("clear handler \(id)") { db in
            try db.execute(sql: "DELETE FROM handlers WHERE id = ?", arguments: [id])
        }
    }

    static func encodeRecord(_ record: ResourceRecord, now: Double) throws -> EncodedRecord {
        do {
            return EncodedRecord(address: record.address.description, kind: record.kind, provider: record.provider,
                                 providerID: record.providerID, attributes: try ValueJSON.encode(record.attributes),
                                 dependencies: ValueJSON.encode(record.dependencies), updatedAt: now, site: record.site)
        } catch {
            throw OttoError("state.write", "cannot encode the attributes of \(record.address) as JSON", cause: error)
        }
    }

    static func decodePending(_ row: Row, path: String) throws -> PendingCreate {
        let text: String = row[0]
        guard let address = ResourceAddress(parsing: text) else {
            throw OttoError("state.corrupt", "the state database \(path) holds a pending create whose address `\(text)` is not KIND.NAME",
                            causeText: nil)
        }
        do {
            let attributesText: String = row[3]
            let dependenciesText: String = row[4]
            return PendingCreate(address: address, provider: row[1], key: row[2],
                                 attributes: try ValueJSON.decodeAttributes(attributesText),
                                 dependencies: try ValueJSON.decodeAddresses(dependenciesText), since: row[5], site: row[6])
        } catch {
            throw OttoError("state.corrupt", "the state database \(path) holds unreadable JSON for the pending create of \(address)",
                            cause: error)
        }
    }

    static func decodeRecord(_ row: Row, path: String) throws -> ResourceRecord {
        let text: String = row[0]
        guard let address = ResourceAddress(parsing: text) else {
            throw OttoError("state.corrupt", "the state database \(path) holds a row whose address `\(text)` is "
                            + "not KIND.NAME", causeText: nil)
        }
        do {
            let attributesText: String = row[3]
            let dependenciesText: String = row[4]
            let attributes = try ValueJSON.decodeAttributes(attributesText)
            let dependencies = try ValueJSON.decodeAddresses(dependenciesText)
            return ResourceRecord(address: address, provider: row[1], providerID: row[2],
                                  attributes: attributes, dependencies: dependencies, site: row[5])
        } catch {
            throw OttoError("state.corrupt", "the state database \(path) holds unreadable JSON for \(address)",
                            cause: error)
        }
    }
}

/// One row of `SQLiteStateStore.upsertSQL`, encoded before the transaction starts.
struct EncodedRecord: Sendable {
    var address, kind, provider, providerID, attributes, dependencies: String
    var updatedAt: Double
    var site: String?

    /// Runs the prepared `upsert` for this row through SQLite's C API: the hot statement of an apply (one per
    /// resource), where GRDB's generic binding and per-statement bookkeeping cost about half as much as SQLite's own
    /// work for the row. Same statement, same transaction; an error is the `DatabaseError` GRDB would have thrown. The texts
    /// are bound in place (no copy) for the time of the step, then unbound.
    func upsert(_ upsert: Statement, _ db: Database) throws {
        let statement = upsert.sqliteStatement
        sqlite3_reset(statement)
        sqlite3_bind_double(statement, 7, updatedAt)
        let texts: [(String?, CInt)] = [(address, 1), (kind, 2), (provider, 3), (providerID, 4), (attributes, 5),
                                        (dependencies, 6), (site, 8)]
        let code = withTexts(texts[...], statement) {
            let code = sqlite3_step(statement)
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            return code
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                                sql: upsert.sql)
        }
    }

    /// `body` with each text bound (in place) to its parameter of `statement`, one after the other; a failed bind is
    /// returned as `body`'s result code.
    private func withTexts(_ texts: ArraySlice<(String?, CInt)>, _ statement: OpaquePointer, _ body: () -> CInt) -> CInt {
        guard let (text, index) = texts.first else { return body() }
        return withText(text, index, statement) { withTexts(texts.dropFirst(), statement, body) }
    }

    /// `body` with `text` bound (in place) to parameter `index` of `statement` (NULL for nil); a failed bind is
    /// returned as `body`'s result code.
    private func withText(_ text: String?, _ index: CInt, _ statement: OpaquePointer, _ body: () -> CInt) -> CInt {
        guard let text else {
            let code = sqlite3_bind_null(statement, index)
            return code == SQLITE_OK ? body() : code
        }
        return text.withCString { pointer in
            let code = sqlite3_bind_text(statement, index, pointer, -1, nil)
            return code == SQLITE_OK ? body() : code
        }
    }
}
