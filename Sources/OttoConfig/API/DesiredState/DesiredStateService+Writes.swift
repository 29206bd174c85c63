import OttoCore

/// The writes of `/inv` and `/dom`; errors say which HTTP answer they are (`DesiredStateError`).
extension DesiredStateService {
    /// Checks that `bytes` are one well-formed JSON document (400 `body.malformed` otherwise) and returns its text.
    static func jsonDocument(_ bytes: [UInt8], file: String) throws(DesiredStateError) -> String {
        guard !bytes.isEmpty else { throw .badRequest(code: "body.missing", message: "this request needs a JSON body", details: []) }
        do {
            _ = try JSONNodeReader.parse(bytes, file: file)
        } catch {
            let lines = error.diagnostics.map(\.description)
            throw .badRequest(code: "body.malformed", message: lines.joined(separator: "; "), details: lines)
        }
        // the reader accepted it, so it is valid UTF-8
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Fails with 409 when YAML defines what `key` would.
    static func checkNotYAML(_ key: APIItemKey, in base: DesiredStateSnapshot) throws(DesiredStateError) {
        guard let owner = base.project.yamlOwner(of: key) else { return }
        let what = key.kind == .host ? "host `\(key.name)`" : "zone `\(key.name).`"
        throw .yamlOwned(what: what, at: owner)
    }

    /// `POST /inv/{item}`: creates or replaces an inventory host.
    public func putHost(_ name: String, body: [UInt8]) async throws(DesiredStateError) -> DesiredStateWrite {
        let key = APIItemKey(.host, name)
        let document = try Self.jsonDocument(body, file: key.file)
        let now = clock()
        return try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            return Change(put: [APIItem(key: key, document: document, updatedAt: now)], checked: [key],
                          created: base.items[key] == nil)
        }
    }

    /// `DELETE /inv/{item}`.
    public func deleteHost(_ name: String) async throws(DesiredStateError) {
        let key = APIItemKey(.host, name)
        try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            guard base.items[key] != nil else { throw .notFound("no host `\(name)` was created over the API") }
            return Change(remove: [key])
        }
    }

    /// The DNS provider a write to `domain`'s zone uses: `requested` (`?provider=`), else the one its other item
    /// already uses, else the project's only DNS-capable provider.
    static func provider(for key: APIItemKey, requested: String?, in base: DesiredStateSnapshot) throws(DesiredStateError) -> String {
        let other = APIItemKey(key.kind == .records ? .nameservers : .records, key.name)
        let existing = base.items[other]?.provider
        if let requested {
            if let existing, existing != requested {
                throw .conflict(code: "zone.provider_conflict",
                               message: "zone `\(key.name).` is served by provider `\(existing)` (its \(other.kind.rawValue) were written with it); "
                               + "use ?provider=\(existing), or delete them first")
            }
            return requested
        }
        if let existing { return existing }
        let candidates = base.project.dnsProviders
        if candidates.count == 1 { return candidates[0] }
        throw .badRequest(code: "query.provider", message: candidates.isEmpty
            ? "no DNS-capable provider (powerdns, digitalocean, aws) is defined in inventory/; add one, then pass ?provider=NAME"
            : "several DNS providers are defined (\(candidates.joined(separator: ", "))): pass ?provider=NAME", details: [])
    }

    /// `POST /dom/ns/{domain}?ns=…`: sets the zone's nameservers.
    public func setNameservers(_ domain: String, nameservers: [String], provider requested: String?) async throws(DesiredStateError)
        -> DesiredStateWrite {
        let key = APIItemKey(.nameservers, domain)
        let document = JSON.object([("nameservers", .strings(nameservers))]).documentText
        let now = clock()
        return try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            let provider = try Self.provider(for: key, requested: requested, in: base)
            return Change(put: [APIItem(key: key, provider: provider, document: document, updatedAt: now)],
                          checked: [key, APIItemKey(.records, domain)], created: base.items[key] == nil)
        }
    }

    /// `DELETE /dom/ns/{domain}`.
    public func deleteNameservers(_ domain: String) async throws(DesiredStateError) {
        let key = APIItemKey(.nameservers, domain)
        try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            guard base.items[key] != nil else { throw .notFound("zone `\(domain).` has no nameservers set over the API") }
            return Change(remove: [key])
        }
    }

    /// `PUT /dom/dns/{domain}`: with a body, replaces the zone's records; with `?rec=`, sets the named rrsets and keeps
    /// the others.
    public func putRecords(_ domain: String, body: [UInt8]?, edits recs: [RecordSetEdit], provider requested: String?)
        async throws(DesiredStateError) -> DesiredStateWrite {
        let key = APIItemKey(.records, domain)
        let bodyDocument = try body.map { bytes throws(DesiredStateError) in try Self.jsonDocument(bytes, file: key.file) }
        let now = clock()
        return try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            let provider = try Self.provider(for: key, requested: requested, in: base)
            let existing = base.items[key]
            let document: String
            if let bodyDocument { document = bodyDocument } else { document = try Self.upsert(recs, into: existing, domain: domain) }
            return Change(put: [APIItem(key: key, provider: provider, document: document, updatedAt: now)],
                          checked: [key, APIItemKey(.nameservers, domain)], created: existing == nil)
        }
    }

    /// `DELETE /dom/dns/{domain}`: all of the zone's API records, or only the rrsets `?rec=` names.
    public func deleteRecords(_ domain: String, edits recs: [RecordSetEdit]) async throws(DesiredStateError) {
        let key = APIItemKey(.records, domain)
        let now = clock()
        try await write { base throws(DesiredStateError) in
            try Self.checkNotYAML(key, in: base)
            guard let existing = base.items[key] else { throw .notFound("zone `\(domain).` has no records written over the API") }
            if recs.isEmpty { return Change(remove: [key]) }
            let (ttl, records) = try Self.records(of: existing, domain: domain)
            let doomed = Set(recs.map { Self.rrsetKey(name: $0.name, type: $0.type, zone: domain + ".") })
            let kept = records.filter { !doomed.contains(Self.rrsetKey(of: $0, zone: domain + ".")) }
            guard kept.count < records.count else {
                throw .notFound("zone `\(domain).` has no such rrset written over the API: "
                                        + recs.map { "\($0.name) \($0.type)" }.joined(separator: ", "))
            }
            var item = existing
            item.document = Self.recordsDocument(ttl: ttl, records: kept)
            item.updatedAt = now
            return Change(put: [item])
        }
    }

    /// The `ttl` and record objects of a stored records document.
    static func records(of item: APIItem, domain: String) throws(DesiredStateError) -> (ttl: JSON?, records: [JSON]) {
        guard let node = try? JSONNodeReader.parse(item.document, file: item.key.file),
              case .object(let pairs) = JSON(node: node) else {
            throw .conflict(code: "item.unreadable",
                            message: "the stored records of `\(domain)` are not a JSON object; replace them with PUT and a body")
        }
        let ttl = pairs.first { $0.0 == "ttl" }?.1
        guard let list = pairs.first(where: { $0.0 == "records" })?.1 else { return (ttl, []) }
        guard case .array(let records) = list else {
            throw .conflict(code: "item.unreadable", message: "the stored records of `\(domain)` have no list of records; replace them with PUT and a body")
        }
        return (ttl, records)
    }

    static func recordsDocument(ttl: JSON?, records: [JSON]) -> String {
        var pairs: [(String, JSON)] = []
        if let ttl { pairs.append(("ttl", ttl)) }
        pairs.append(("records", .array(records)))
        return JSON.object(pairs).documentText
    }

    /// `NAME TYPE` with the name as the reader makes it (or as written, lowercased, when it is invalid).
    static func rrsetKey(name: String, type: String, zone: String) -> String {
        (Project.recordOwner(name, zone: zone) ?? name.lowercased()) + " " + type.uppercased()
    }

    static func rrsetKey(of record: JSON, zone: String) -> String {
        guard case .object(let fields) = record else { return "" }
        func text(_ key: String) -> String {
            if case .string(let s)? = fields.first(where: { $0.0 == key })?.1 { return s }
            return ""
        }
        return rrsetKey(name: text("name"), type: text("type"), zone: zone)
    }

    /// The records document after setting the rrsets `recs` name (values of one name and type together).
    static func upsert(_ recs: [RecordSetEdit], into existing: APIItem?, domain: String) throws(DesiredStateError) -> String {
        let zone = domain + "."
        var ttl: JSON?
        var stored: [JSON] = []
        if let existing { (ttl, stored) = try Self.records(of: existing, domain: domain) }
        var order: [String] = []
        var sets: [String: (name: String, type: String, ttl: Int?, values: [String])] = [:]
        for rec in recs {
            let key = rrsetKey(name: rec.name, type: rec.type, zone: zone)
            if var set = sets[key] {
                if let t = rec.ttl, let before = set.ttl, t != before {
                    throw .badRequest(code: "query.rec", message: "rec \(rec.name) \(rec.type): two different TTLs (\(before) and \(t)) for one rrset",
                                      details: [])
                }
                set.ttl = set.ttl ?? rec.ttl
                set.values.append(rec.value ?? "")
                sets[key] = set
            } else {
                order.append(key)
                sets[key] = (rec.name, rec.type, rec.ttl, [rec.value ?? ""])
            }
        }
        var replaced = Set<String>()
        var records = stored.map { record in
            let key = rrsetKey(of: record, zone: zone)
            guard let set = sets[key] else { return record }
            replaced.insert(key)
            return recordJSON(set)
        }
        for key in order where !replaced.contains(key) { records.append(recordJSON(sets[key]!)) }
        return recordsDocument(ttl: ttl, records: records)
    }

    static func recordJSON(_ set: (name: String, type: String, ttl: Int?, values: [String])) -> JSON {
        .fields(["name": .string(set.name), "type": .string(set.type), "ttl": set.ttl.map { .int($0) },
                 "values": .strings(set.values)])
    }
}
