import OttoCore
import OttoHTTP

private typealias R = AttributeName.DNSRecord

extension DigitalOceanProvider {
    /// Where an rrset lives: its zone and owner (FQDNs with the dot) and type.
    typealias RecordKey = DNSRecordKey<DigitalOceanNaming>

    // MARK: - Observe

    /// Every record of each zone involved (`per_page=200`, all pages, up to 8 zones at once), grouped into rrsets.
    func observeRecords(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        var byZone: [String: [(ResourceAddress, RecordKey)]] = [:]
        for request in requests {
            guard let key = RecordKey(attributes: request.attributes, providerID: request.providerID) else {
                throw OttoError("provider.digitalocean.attribute", "\(request.address): needs 'zone', 'name' and 'type' (or a zone|name|type id) to be found")
            }
            byZone[key.zone, default: []].append((request.address, key))
        }
        let zones = Array(byZone)
        return try await withThrowingTaskGroup(of: [ResourceAddress: ObservedResource].self) { group in
            var result: [ResourceAddress: ObservedResource] = [:]
            var iterator = zones.makeIterator()
            func addNext() {
                guard let (zone, wanted) = iterator.next() else { return }
                group.addTask {
                    guard let records = try await self.zoneRecords(zone) else { return [:] }  // no zone: no records
                    var rrsets: [RecordKey: [DigitalOceanModel.Record]] = [:]
                    for record in records {
                        let key = RecordKey(zone: zone, name: DigitalOceanRecordCodec.owner(record.name, zone: zone), type: record.type)
                        rrsets[key, default: []].append(record)
                    }
                    var found: [ResourceAddress: ObservedResource] = [:]
                    for (address, key) in wanted {
                        if let records = rrsets[key], let observed = self.rrsetObservation(key, records) { found[address] = observed }
                    }
                    return found
                }
            }
            for _ in 0..<8 { addNext() }
            while let found = try await group.next() {
                result.merge(found) { first, _ in first }
                addNext()
            }
            return result
        }
    }

    /// All records of `zone`; nil when the domain does not exist.
    func zoneRecords(_ zone: String, name: String? = nil, type: String? = nil) async throws -> [DigitalOceanModel.Record]? {
        var query: [(String, String)] = []
        if let name { query.append(("name", DigitalOceanRecordCodec.domain(name))) }
        if let type { query.append(("type", type)) }
        do {
            return try await api.list(DigitalOceanModel.Record.self, "/v2/domains/\(DigitalOceanAPI.segment(DigitalOceanRecordCodec.domain(zone)))/records",
                                      key: "domain_records", query: query)
        } catch let error as HTTPError where error.status == 404 {
            return nil
        } catch {
            throw api.wrap(error, doing: "list the records of domain \(DigitalOceanRecordCodec.domain(zone))")
        }
    }

    /// An rrset as otto compares it: values in presentation form, sorted; the smallest TTL of its records.
    func rrsetObservation(_ key: RecordKey, _ records: [DigitalOceanModel.Record]) -> ObservedResource? {
        guard DigitalOceanRecordCodec.types.contains(key.type) else { return nil }
        let values = records.compactMap { DigitalOceanRecordCodec.presentation($0, zone: key.zone) }.sorted()
        guard !values.isEmpty else { return nil }
        return ObservedResource(providerID: key.providerID, attributes: [
            R.zone: .string(key.zone), R.name: .string(key.name), R.type: .string(key.type),
            R.ttl: .int(records.compactMap(\.ttl).min() ?? 1800), R.records: .list(values.map(Value.string)),
        ])
    }

    // MARK: - Write

    /// Makes the rrset hold exactly the desired values with the desired TTL (create and update alike).
    func putRecord(_ resource: Resource, action: String) async throws -> ObservedResource {
        let address = resource.address
        let key = RecordKey(zone: try Self.attributes.string(resource.attributes, R.zone, of: address), name: try Self.attributes.string(resource.attributes, R.name, of: address),
                            type: try Self.attributes.string(resource.attributes, R.type, of: address))
        guard let ttl = resource.attributes[R.ttl]?.intValue, ttl >= 30 else {
            throw OttoError("provider.digitalocean.attribute", "\(address): attribute 'ttl' must be an integer of at least 30 (DigitalOcean's minimum)")
        }
        let values = try Self.attributes.strings(resource.attributes, R.records, of: address)
        guard !values.isEmpty else {
            throw OttoError("provider.digitalocean.attribute", "\(address): attribute 'records' must hold at least one record")
        }
        let bodies = try recordBodies(key, values: values, ttl: ttl, address: address)
        try await reconcile(key, bodies, ttl: ttl, address: address, action: action)
        let presented = bodies.compactMap { DigitalOceanRecordCodec.presentation(of: $0, zone: key.zone) }.sorted()
        return ObservedResource(providerID: key.providerID, attributes: [
            R.zone: .string(key.zone), R.name: .string(key.name), R.type: .string(key.type), R.ttl: .int(ttl),
            R.records: .list(presented.map(Value.string)),
        ])
    }

    /// The record bodies for an rrset's values (duplicates removed).
    func recordBodies(_ key: RecordKey, values: [String], ttl: Int, address: ResourceAddress) throws -> [DigitalOceanModel.RecordBody] {
        guard let relative = DigitalOceanRecordCodec.relative(key.name, zone: key.zone) else {
            throw OttoError("provider.digitalocean.attribute", "\(address): record name \(key.name) is outside zone \(key.zone)")
        }
        var bodies: [DigitalOceanModel.RecordBody] = []
        for value in values {
            switch DigitalOceanRecordCodec.body(type: key.type, name: relative, value: value, ttl: ttl, zone: key.zone) {
            case .success(let body): if !bodies.contains(body) { bodies.append(body) }
            case .failure(let error): throw OttoError(error.code, "\(address): \(error.message)")
            }
        }
        return bodies
    }

    /// One change to a record.
    enum RecordChange {
        case create(DigitalOceanModel.RecordBody)
        case update(Int, DigitalOceanModel.RecordBody)
        case delete(Int)
    }

    /// Lists the rrset's records and changes them until they are the desired ones: values already there stay (their
    /// TTL fixed), extra records are rewritten into missing values (PUT), what is still missing is created (POST, not
    /// idempotent), what is still extra is deleted. When a change's answer is lost, the rrset is listed again and the
    /// remaining changes worked out anew (at most 4 rounds), so a lost POST never leaves a duplicate.
    /// `ttl` nil keeps the TTL of records that stay (used for a zone's NS records).
    func reconcile(_ key: RecordKey, _ desired: [DigitalOceanModel.RecordBody], ttl: Int?, address: ResourceAddress, action: String) async throws {
        let domain = DigitalOceanRecordCodec.domain(key.zone)
        let what = "\(action) \(key.type) \(key.name) in domain \(domain) (\(address))"
        for _ in 0..<4 {
            guard let existing = try await zoneRecords(key.zone, name: key.name, type: key.type) else {
                throw OttoError("provider.digitalocean.zone_missing", "\(address): domain \(domain) does not exist in DigitalOcean; create the dns_zone first")
            }
            let changes = Self.changes(existing.filter { $0.type == key.type }, desired, zone: key.zone, ttl: ttl)
            if changes.isEmpty { return }
            var lost = false
            for change in changes {
                do {
                    try await apply(change, domain: domain)
                } catch where DigitalOceanAPI.isAmbiguous(error) {
                    lost = true
                } catch let error as HTTPError where error.status == 404 {
                    if case .delete = change { continue }  // already gone
                    lost = true
                } catch {
                    throw api.wrap(error, doing: what)
                }
            }
            if !lost { return }
        }
        throw OttoError("provider.digitalocean.http", "could not \(what): DigitalOcean kept failing; run otto again")
    }

    /// The changes that turn `existing` into `desired`.
    static func changes(_ existing: [DigitalOceanModel.Record], _ desired: [DigitalOceanModel.RecordBody], zone: String, ttl: Int?) -> [RecordChange] {
        var missing: [DigitalOceanModel.RecordBody] = []
        var unmatched = existing
        var changes: [RecordChange] = []
        for body in desired {
            let value = DigitalOceanRecordCodec.presentation(of: body, zone: zone)
            if let index = unmatched.firstIndex(where: { DigitalOceanRecordCodec.presentation($0, zone: zone) == value }) {
                let record = unmatched.remove(at: index)
                if let ttl, record.ttl != ttl { changes.append(.update(record.id, body)) }
            } else {
                var body = body
                if ttl == nil { body.ttl = 1800 }
                missing.append(body)
            }
        }
        while !unmatched.isEmpty, !missing.isEmpty {
            changes.append(.update(unmatched.removeFirst().id, missing.removeFirst()))
        }
        changes += missing.map(RecordChange.create)
        changes += unmatched.map { RecordChange.delete($0.id) }
        return changes
    }

    private func apply(_ change: RecordChange, domain: String) async throws {
        let path = "/v2/domains/\(DigitalOceanAPI.segment(domain))/records"
        switch change {
        case .create(let body): _ = try await api.send(.post, path, body: body, idempotent: false)
        case .update(let id, let body): _ = try await api.send(.put, "\(path)/\(id)", body: body, idempotent: true)
        case .delete(let id): _ = try await api.send(.delete, "\(path)/\(id)", idempotent: true)
        }
    }

    /// Deletes every record of the rrset; a domain or record already gone is fine.
    func deleteRecord(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard let key = RecordKey(attributes: current.attributes, providerID: current.providerID) else {
            throw OttoError("provider.digitalocean.attribute", "\(address): cannot tell which rrset to delete (no zone|name|type)")
        }
        do {
            try await reconcile(key, [], ttl: nil, address: address, action: "delete")
        } catch let error as OttoError where error.code == "provider.digitalocean.zone_missing" {
            return  // the domain is gone, and its records with it
        }
    }
}

/// DigitalOcean names in keys: FQDNs with the final dot.
enum DigitalOceanNaming: DNSNaming {
    static func normalize(_ name: String) -> String { DigitalOceanRecordCodec.fqdn(name) }
}
