import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore {
    static let upsertSQL = """
        INSERT INTO resources (address, kind, provider, provider_id, attributes, dependencies, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, provider = excluded.provider,
            provider_id = excluded.provider_id, attributes = excluded.attributes,
            dependencies = excluded.dependencies, updated_at = excluded.updated_at
        """
    static let bumpSerialSQL = "UPDATE meta SET serial = serial + 1 WHERE singleton = 1"
    static let deleteSQL = "DELETE FROM resources WHERE address = ?"
    static let clearPendingSQL = "DELETE FROM pending_creates WHERE address = ?"

    public func snapshot() throws -> StateSnapshot {
        try read("read the resources") { db in
            guard let meta = try Row.fetchOne(db, sql: "SELECT lineage, serial FROM meta WHERE singleton = 1") else {
                throw OttoError("state.corrupt", "the state database \(path) has no lineage row in `meta`",
                                causeText: nil)
            }
            var records: [ResourceAddress: ResourceRecord] = [:]
            records.reserveCapacity(try Int.fetchOne(db, sql: "SELECT count(*) FROM resources") ?? 0)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT address, provider, provider_id, attributes, dependencies FROM resources
                """)
            while let row = try rows.next() {
                let record = try decodeRecord(row)
                records[record.address] = record
            }
            var pending: [ResourceAddress: PendingCreate] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT address, provider, key, attributes, dependencies, since FROM pending_creates") {
                let p = try decodePending(row)
                pending[p.address] = p
            }
            return StateSnapshot(lineage: meta[0], serial: meta[1], records: records, pending: pending)
        }
    }

    public func put(_ record: ResourceRecord) throws {
        let now = Date().timeIntervalSince1970
        let arguments = try encodeRecord(record, now: now)
        try write("record \(record.address)") { db in
            try db.cachedStatement(sql: Self.upsertSQL).execute(arguments: arguments)
            try db.cachedStatement(sql: Self.clearPendingSQL).execute(arguments: [record.address.description])
            try db.cachedStatement(sql: Self.bumpSerialSQL).execute()
        }
    }

    public func putPending(_ pending: PendingCreate) throws {
        let attributes: String
        do { attributes = try ValueJSON.encode(pending.attributes) } catch {
            throw OttoError("state.write", "cannot encode the attributes of \(pending.address) as JSON", cause: error)
        }
        try write("record the pending create of \(pending.address)") { db in
            try db.execute(sql: """
                INSERT INTO pending_creates (address, provider, key, attributes, dependencies, since) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (address) DO UPDATE SET provider = excluded.provider, key = excluded.key,
                    attributes = excluded.attributes, dependencies = excluded.dependencies, since = excluded.since
                """, arguments: [pending.address.description, pending.provider, pending.key, attributes,
                                 ValueJSON.encode(pending.dependencies), pending.since])
            try db.cachedStatement(sql: Self.bumpSerialSQL).execute()
        }
    }

    public func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) throws {
        guard !records.isEmpty || !removing.isEmpty || !handlers.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        let encoded = try records.map { try encodeRecord($0, now: now) }
        let encodedHandlers: [StatementArguments] = try handlers.map { h in
            do { return [h.id, h.provider, h.name, try ValueJSON.encode(h.attributes), now] } catch {
                throw OttoError("state.write", "cannot encode handler \(h.id) as JSON", cause: error)
            }
        }
        try write("record \(records.count) resources") { db in
            let addHandler = try db.cachedStatement(sql: """
                INSERT INTO handlers (id, provider, name, attributes, since) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes
                """)
            for arguments in encodedHandlers { try addHandler.execute(arguments: arguments) }
            let upsert = try db.cachedStatement(sql: Self.upsertSQL)
            let clearPending = try db.cachedStatement(sql: Self.clearPendingSQL)
            for (record, arguments) in zip(records, encoded) {
                try upsert.execute(arguments: arguments)
                try clearPending.execute(arguments: [record.address.description])
            }
            var changed = !records.isEmpty
            let delete = try db.cachedStatement(sql: Self.deleteSQL)
            for address in removing {
                try delete.execute(arguments: [address.description])
                changed = changed || db.changesCount > 0
                try clearPending.execute(arguments: [address.description])
                changed = changed || db.changesCount > 0
            }
            if changed { try db.cachedStatement(sql: Self.bumpSerialSQL).execute() }
        }
    }

    public func pendingHandlers() throws -> [Handler] {
        try read("read pending handlers") { db in
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

    public func handlerRan(id: String) throws {
        try write("clear handler \(id)") { db in
            try db.execute(sql: "DELETE FROM handlers WHERE id = ?", arguments: [id])
        }
    }

    public func remove(_ address: ResourceAddress) throws {
        try write("remove \(address)") { db in
            try db.cachedStatement(sql: Self.deleteSQL).execute(arguments: [address.description])
            var changed = db.changesCount > 0
            try db.cachedStatement(sql: Self.clearPendingSQL).execute(arguments: [address.description])
            changed = changed || db.changesCount > 0
            if changed { try db.cachedStatement(sql: Self.bumpSerialSQL).execute() }
        }
    }

    func encodeRecord(_ record: ResourceRecord, now: Double) throws -> StatementArguments {
        let attributes: String
        let dependencies: String
        do {
            attributes = try ValueJSON.encode(record.attributes)
            dependencies = ValueJSON.encode(record.dependencies)
        } catch {
            throw OttoError("state.write", "cannot encode the attributes of \(record.address) as JSON", cause: error)
        }
        return [record.address.description, record.kind, record.provider, record.providerID,
                attributes, dependencies, now]
    }

    func decodePending(_ row: Row) throws -> PendingCreate {
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
                                 dependencies: try ValueJSON.decodeAddresses(dependenciesText), since: row[5])
        } catch {
            throw OttoError("state.corrupt", "the state database \(path) holds unreadable JSON for the pending create of \(address)",
                            cause: error)
        }
    }

    func decodeRecord(_ row: Row) throws -> ResourceRecord {
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
                                  attributes: attributes, dependencies: dependencies)
        } catch {
            throw OttoError("state.corrupt", "the state database \(path) holds unreadable JSON for \(address)",
                            cause: error)
        }
    }
}
