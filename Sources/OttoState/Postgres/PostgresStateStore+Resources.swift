import Foundation
import OttoCore
import PostgresNIO
import Synchronization

extension PostgresStateStore: StateReader, StateWriter {
    public func snapshot() async throws -> StateSnapshot {
        let location = self.location
        return try await read("read the resources") { s in
            guard let meta = try s.query("SELECT lineage, serial FROM meta WHERE singleton = 1").first else {
                throw OttoError("state.corrupt", "the state in \(location) has no lineage row in `meta`", causeText: nil)
            }
            let (lineage, serial) = try meta.decode((String, Int).self)
            var records: [ResourceAddress: ResourceRecord] = [:]
            let rows = try s.query("SELECT address, provider, provider_id, attributes, dependencies, site FROM resources")
            records.reserveCapacity(rows.count)
            for row in rows {
                let (address, provider, providerID, attributes, dependencies, site) =
                    try row.decode((String, String, String, String, String, String?).self)
                let record = try Self.decodeRecord(address: address, provider: provider, providerID: providerID,
                                                   attributes: attributes, dependencies: dependencies, site: site, location: location)
                records[record.address] = record
            }
            var pending: [ResourceAddress: PendingCreate] = [:]
            for row in try s.query("SELECT address, provider, key, attributes, dependencies, since, site FROM pending_creates") {
                let p = try Self.decodePending(row, location: location)
                pending[p.address] = p
            }
            var serials: [StateScope: Int] = [:]
            for row in try s.query("SELECT scope, serial FROM scopes WHERE serial > 0") {
                let (key, value) = try row.decode((String, Int).self)
                if let scope = StateScope(key: key) { serials[scope] = value }
            }
            return StateSnapshot(lineage: lineage, serial: serial, records: records, pending: pending, serials: serials)
        }
    }

    public func scopes() async throws -> Set<StateScope> {
        try await read("read the scopes") { s in
            let rows = try s.query("SELECT DISTINCT site FROM resources UNION SELECT DISTINCT site FROM pending_creates")
            return Set(try rows.map { StateScope(site: try $0.decode(String?.self)) })
        }
    }

    public func putPending(_ pending: PendingCreate) async throws {
        let attributes: String
        do { attributes = try ValueJSON.encode(pending.attributes) } catch {
            throw OttoError("state.write", "cannot encode the attributes of \(pending.address) as JSON", cause: error)
        }
        let dependencies = ValueJSON.encode(pending.dependencies)
        try await write("record the pending create of \(pending.address)") { [self] s in
            try checkFence(s, [pending.scope])
            try s.query("""
                INSERT INTO pending_creates (address, provider, key, attributes, dependencies, since, site)
                VALUES (\(pending.address.description), \(pending.provider), \(pending.key), \(attributes), \(dependencies),
                        \(pending.since), \(pending.site))
                ON CONFLICT (address) DO UPDATE SET provider = excluded.provider, key = excluded.key,
                    attributes = excluded.attributes, dependencies = excluded.dependencies, since = excluded.since,
                    site = excluded.site
                """)
            try Self.bumpSerials(s, [pending.scope])
        }
    }

    public func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) async throws {
        guard !records.isEmpty || !removing.isEmpty || !handlers.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        // One row per key in one statement (`ON CONFLICT` may not touch a row twice): the last of each wins, as the
        // SQLite store's one statement per item does.
        let records = Self.lastOfEach(records, by: \.address)
        let handlers = Self.lastOfEach(handlers, by: \.id)
        var addresses: [String] = [], kinds: [String] = [], providers: [String] = [], ids: [String] = []
        var attributes: [String] = [], dependencies: [String] = [], sites: [String] = []
        for record in records {
            addresses.append(record.address.description)
            kinds.append(record.kind)
            providers.append(record.provider)
            ids.append(record.providerID)
            do { attributes.append(try ValueJSON.encode(record.attributes)) } catch {
                throw OttoError("state.write", "cannot encode the attributes of \(record.address) as JSON", cause: error)
            }
            dependencies.append(ValueJSON.encode(record.dependencies))
            // An empty site is no site (NULLIF below): site names are never empty.
            sites.append(record.site ?? "")
        }
        var handlerIDs: [String] = [], handlerProviders: [String] = [], handlerNames: [String] = [], handlerAttributes: [String] = []
        for h in handlers {
            handlerIDs.append(h.id)
            handlerProviders.append(h.provider)
            handlerNames.append(h.name)
            do { handlerAttributes.append(try ValueJSON.encode(h.attributes)) } catch {
                throw OttoError("state.write", "cannot encode handler \(h.id) as JSON", cause: error)
            }
        }
        let removed = removing.map(\.description)
        let written = Set(records.map(\.scope))
        let what = records.count == 1 && removing.isEmpty ? "record \(records[0].address)"
            : removing.count == 1 && records.isEmpty ? "remove \(removing[0])" : "record \(records.count) resources"
        try await write(what) { [self, addresses, kinds, providers, ids, attributes, dependencies, sites, handlerIDs,
                                 handlerProviders, handlerNames, handlerAttributes] s in
            if !handlerIDs.isEmpty {
                try s.query("""
                    INSERT INTO handlers (id, provider, name, attributes, since)
                    SELECT id, provider, name, attributes, \(now)
                    FROM unnest(\(handlerIDs)::text[], \(handlerProviders)::text[], \(handlerNames)::text[], \(handlerAttributes)::text[])
                        AS h (id, provider, name, attributes)
                    ON CONFLICT (id) DO UPDATE SET attributes = excluded.attributes
                    """)
            }
            var scopes = written
            if !addresses.isEmpty {
                try s.query("""
                    INSERT INTO resources (address, kind, provider, provider_id, attributes, dependencies, updated_at, site)
                    SELECT address, kind, provider, provider_id, attributes, dependencies, \(now), NULLIF(site, '')
                    FROM unnest(\(addresses)::text[], \(kinds)::text[], \(providers)::text[], \(ids)::text[],
                                \(attributes)::text[], \(dependencies)::text[], \(sites)::text[])
                        AS r (address, kind, provider, provider_id, attributes, dependencies, site)
                    ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, provider = excluded.provider,
                        provider_id = excluded.provider_id, attributes = excluded.attributes,
                        dependencies = excluded.dependencies, updated_at = excluded.updated_at, site = excluded.site
                    """)
                for row in try s.query("DELETE FROM pending_creates WHERE address = ANY(\(addresses)::text[]) RETURNING site") {
                    scopes.insert(StateScope(site: try row.decode(String?.self)))
                }
            }
            if !removed.isEmpty {
                // The rows say whose serial moves (a removed address is not in the configuration any more).
                for table in ["resources", "pending_creates"] {
                    let rows = try s.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE address = ANY($1::text[]) RETURNING site",
                                                         binds: Self.binds(removed)))
                    for row in rows { scopes.insert(StateScope(site: try row.decode(String?.self))) }
                }
            }
            try checkFence(s, scopes)
            try Self.bumpSerials(s, scopes)
        }
    }

    /// Increments the lineage-wide serial and the serial of each of `scopes` (nothing when `scopes` is empty).
    static func bumpSerials(_ s: PostgresSession, _ scopes: Set<StateScope>) throws {
        guard !scopes.isEmpty else { return }
        try s.query("UPDATE meta SET serial = serial + 1 WHERE singleton = 1")
        let keys = scopes.map(\.key).sorted()
        try s.query("""
            INSERT INTO scopes (scope, serial) SELECT unnest(\(keys)::text[]), 1
            ON CONFLICT (scope) DO UPDATE SET serial = scopes.serial + 1
            """)
    }

    public func pendingHandlers() async throws -> [Handler] {
        let location = self.location
        return try await read("read pending handlers") { s in
            try s.query("SELECT id, provider, name, attributes FROM handlers ORDER BY since, id COLLATE \"C\"").map { row in
                let (id, provider, name, text) = try row.decode((String, String, String, String).self)
                do {
                    return Handler(id: id, provider: provider, name: name, attributes: try ValueJSON.decodeAttributes(text))
                } catch {
                    throw OttoError("state.corrupt", "the state in \(location) holds unreadable JSON for handler \(id)", cause: error)
                }
            }
        }
    }

    public func handlerRan(id: String) async throws {
        try await write("clear handler \(id)") { s in
            _ = try s.query("DELETE FROM handlers WHERE id = \(id)")
        }
    }

    /// `items` with only the last of those sharing a key, in the order of those last ones.
    static func lastOfEach<T, Key: Hashable>(_ items: [T], by key: (T) -> Key) -> [T] {
        var last: [Key: Int] = [:]
        for (i, item) in items.enumerated() { last[key(item)] = i }
        guard last.count < items.count else { return items }
        return items.enumerated().filter { last[key($0.element)] == $0.offset }.map(\.element)
    }

    /// One text-array bind.
    static func binds(_ texts: [String]) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(texts)
        return binds
    }

    static func decodeRecord(address text: String, provider: String, providerID: String, attributes: String, dependencies: String,
                             site: String?, location: PostgresLocation) throws -> ResourceRecord {
        guard let address = ResourceAddress(parsing: text) else {
            throw OttoError("state.corrupt", "the state in \(location) holds a row whose address `\(text)` is not KIND.NAME", causeText: nil)
        }
        do {
            return ResourceRecord(address: address, provider: provider, providerID: providerID,
                                  attributes: try ValueJSON.decodeAttributes(attributes),
                                  dependencies: try ValueJSON.decodeAddresses(dependencies), site: site)
        } catch {
            throw OttoError("state.corrupt", "the state in \(location) holds unreadable JSON for \(address)", cause: error)
        }
    }

    static func decodePending(_ row: PostgresRow, location: PostgresLocation) throws -> PendingCreate {
        let (text, provider, key, attributes, dependencies, since, site) =
            try row.decode((String, String, String, String, String, Double, String?).self)
        guard let address = ResourceAddress(parsing: text) else {
            throw OttoError("state.corrupt", "the state in \(location) holds a pending create whose address `\(text)` is not KIND.NAME",
                            causeText: nil)
        }
        do {
            return PendingCreate(address: address, provider: provider, key: key, attributes: try ValueJSON.decodeAttributes(attributes),
                                 dependencies: try ValueJSON.decodeAddresses(dependencies), since: since, site: site)
        } catch {
            throw OttoError("state.corrupt", "the state in \(location) holds unreadable JSON for the pending create of \(address)",
                            cause: error)
        }
    }
}

extension PostgresStateStore {
    public func startRun(command: String, user: String) async throws -> Int64 {
        let scopes = held.withLock { $0.keys.map(\.key).sorted().joined(separator: ",") }
        let replica = Self.replica
        return try await write("record the start of a run") { s in
            try s.query("""
                INSERT INTO runs (command, user_name, host, started, scopes, replica)
                VALUES (\(command), \(user), \(ProcessIdentity.host), extract(epoch FROM clock_timestamp())::float8, \(scopes), \(replica))
                RETURNING id
                """).first!.decode(Int64.self)
        }
    }

    public func finishRun(id: Int64, outcome: String, summary: String) async throws {
        let location = self.location
        try await write("record the end of run \(id)") { s in
            let rows = try s.query("""
                UPDATE runs SET finished = extract(epoch FROM clock_timestamp())::float8,
                    outcome = CASE WHEN outcome = 'abandoned' THEN 'fenced' ELSE \(outcome) END,
                    summary = CASE WHEN outcome = 'abandoned' THEN 'fenced: lost the lock mid-run; ' || \(summary) ELSE \(summary) END
                WHERE id = \(id) RETURNING id
                """)
            if rows.isEmpty {
                throw OttoError("state.run", "there is no run \(id) in the state \(location)", causeText: nil)
            }
        }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        try await read("read the run history") { s in
            try s.query("""
                SELECT id, command, user_name, host, started, finished, outcome, summary FROM runs ORDER BY id DESC LIMIT \(max(0, limit))
                """).map { row in
                let (id, command, user, host, started, finished, outcome, summary) =
                    try row.decode((Int64, String, String, String, Double, Double?, String?, String?).self)
                return RunRecord(id: id, command: command, user: user, host: host, started: Date(timeIntervalSince1970: started),
                                 finished: finished.map(Date.init(timeIntervalSince1970:)), outcome: outcome, summary: summary)
            }
        }
    }

    /// This process as a replica: `HOST/PID`.
    public static var replica: String { "\(ProcessIdentity.host)/\(ProcessIdentity.pid)" }
}
