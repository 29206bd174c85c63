import OttoCore
import OttoHTTP

private typealias R = AttributeName.DNSRecord

extension PowerDNSProvider {
    /// Where a record lives: its zone, owner name and type.
    typealias RecordKey = DNSRecordKey<PowerDNSNaming>

    /// One zone detail per zone (it carries every rrset); each request is matched by (name, type).
    func observeRecords(_ requests: [ObserveRequest], details: ZoneDetails) async throws -> [ResourceAddress: ObservedResource] {
        var byZone: [String: [(ResourceAddress, RecordKey)]] = [:]
        for request in requests {
            guard let key = RecordKey(attributes: request.attributes, providerID: request.providerID) else {
                throw OttoError("provider.powerdns.attribute", "\(request.address): needs 'zone', 'name' and 'type' (or a zone|name|type id) to be found")
            }
            byZone[key.zone.lowercased(), default: []].append((request.address, key))
        }
        let api = self.api
        let zones = Array(byZone)
        return try await withThrowingTaskGroup(of: [ResourceAddress: ObservedResource].self) { group in
            var result: [ResourceAddress: ObservedResource] = [:]
            var iterator = zones.makeIterator()
            func addNext() -> Bool {
                guard let (_, wanted) = iterator.next() else { return false }
                group.addTask { try await Self.observeRecords(in: wanted[0].1.zone, wanted, api: api, details: details) }
                return true
            }
            for _ in 0..<min(8, zones.count) { _ = addNext() }
            while let found = try await group.next() {
                result.merge(found) { first, _ in first }
                _ = addNext()
            }
            return result
        }
    }

    private static func observeRecords(in zone: String, _ wanted: [(ResourceAddress, RecordKey)], api: PowerDNSAPI,
                                       details: ZoneDetails) async throws -> [ResourceAddress: ObservedResource] {
        let found: PowerDNSModel.Zone?
        do {
            found = try await details.detail(zone)
        } catch {
            throw api.wrap(error, doing: "read zone \(zone)")
        }
        guard let detail = found else { return [:] }  // no zone: none of its records exist
        var rrsets: [String: PowerDNSModel.RRSet] = [:]
        for rrset in detail.rrsets ?? [] { rrsets[rrset.key] = rrset }
        var result: [ResourceAddress: ObservedResource] = [:]
        for (address, key) in wanted {
            guard let rrset = rrsets[key.rrsetKey] else { continue }
            let observedKey = RecordKey(zone: detail.name, name: rrset.name, type: rrset.type)
            result[address] = ObservedResource(providerID: observedKey.providerID, attributes: [
                R.zone: .string(detail.name),
                R.name: .string(rrset.name),
                R.type: .string(rrset.type),
                R.ttl: .int(rrset.ttl ?? 0),
                R.records: .list(rrset.contents.map(Value.string)),
            ])
        }
        return result
    }

    /// REPLACEs the rrset (create and update alike), coalesced with other changes to the same zone.
    func putRecord(_ resource: Resource, action: String) async throws -> ObservedResource {
        let address = resource.address
        let key = RecordKey(zone: try Self.attributes.string(resource.attributes, R.zone, of: address),
                            name: try Self.attributes.string(resource.attributes, R.name, of: address),
                            type: try Self.attributes.string(resource.attributes, R.type, of: address))
        guard let ttl = resource.attributes[R.ttl]?.intValue, ttl >= 0 else {
            throw OttoError("provider.powerdns.attribute", "\(address): attribute 'ttl' must be a non-negative integer")
        }
        let contents = try Self.attributes.strings(resource.attributes, R.records, of: address).sorted()
        guard !contents.isEmpty else {
            throw OttoError("provider.powerdns.attribute", "\(address): attribute 'records' must hold at least one record")
        }
        do {
            try await batcher(for: key.zone).apply(.replace(name: key.name, type: key.type, ttl: ttl, contents: contents))
        } catch {
            throw recordError(error, action: action, key: key, address: address)
        }
        return ObservedResource(providerID: key.providerID, attributes: [
            R.zone: .string(key.zone), R.name: .string(key.name), R.type: .string(key.type),
            R.ttl: .int(ttl), R.records: .list(contents.map(Value.string)),
        ])
    }

    /// DELETEs the rrset; an rrset or zone already gone is fine.
    func deleteRecord(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard let key = RecordKey(attributes: current.attributes, providerID: current.providerID) else {
            throw OttoError("provider.powerdns.attribute", "\(address): cannot tell which rrset to delete (no zone|name|type)")
        }
        do {
            try await batcher(for: key.zone).apply(.delete(name: key.name, type: key.type))
        } catch let error as HTTPError where error.status == 404 {
            return  // the zone is gone, and its records with it
        } catch {
            throw recordError(error, action: "delete", key: key, address: address)
        }
    }

    private func recordError(_ error: any Error, action: String, key: RecordKey, address: ResourceAddress) -> any Error {
        if let http = error as? HTTPError, http.status == 404 {
            return OttoError("provider.powerdns.zone_missing",
                             "\(address): zone \(key.zone) does not exist in PowerDNS; create the dns_zone first",
                             causeText: http.description)
        }
        return api.wrap(error, doing: "\(action) \(key.type) \(key.name) in zone \(key.zone) (\(address))")
    }
}

/// PowerDNS writes names with the final dot, as given.
enum PowerDNSNaming: DNSNaming {
    static func normalize(_ name: String) -> String { PowerDNSModel.fqdn(name) }
}

extension DNSRecordKey where Naming == PowerDNSNaming {
    /// The rrset's identity inside its zone (case-insensitive).
    var rrsetKey: String { PowerDNSModel.key(name: name, type: type) }
}
