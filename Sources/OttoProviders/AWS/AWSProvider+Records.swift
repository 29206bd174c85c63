import OttoCore

private typealias R = AttributeName.DNSRecord

extension AWSProvider {
    /// Where a record lives: zone, owner name and type (names lower-case FQDNs with the dot).
    typealias RecordKey = DNSRecordKey<Route53Naming>

    /// Per zone involved: its id (cached, else one ListHostedZones), then every rrset of the zone (paginated);
    /// each request is matched by (name, type). Records of a zone that does not exist are absent.
    func observeRecords(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        var byZone: [String: [(ResourceAddress, RecordKey)]] = [:]
        for request in requests {
            guard let key = RecordKey(attributes: request.attributes, providerID: request.providerID) else {
                throw OttoError("provider.aws.attribute", "\(request.address): needs 'zone', 'name' and 'type' (or a zone|name|type id) to be found")
            }
            byZone[key.zone, default: []].append((request.address, key))
        }
        var zones: [(id: String, wanted: [(ResourceAddress, RecordKey)])] = []
        for (zone, wanted) in byZone {
            if let id = try await zoneID(for: zone) { zones.append((id, wanted)) }
        }
        let client = self.client
        return try await withThrowingTaskGroup(of: [ResourceAddress: ObservedResource].self) { group in
            var result: [ResourceAddress: ObservedResource] = [:]
            var iterator = zones.makeIterator()
            func addNext() -> Bool {
                guard let (id, wanted) = iterator.next() else { return false }
                group.addTask { try await Self.observeRecords(zoneID: id, wanted, client: client) }
                return true
            }
            for _ in 0..<min(4, zones.count) { _ = addNext() }
            while let found = try await group.next() {
                result.merge(found) { first, _ in first }
                _ = addNext()
            }
            return result
        }
    }

    private static func observeRecords(zoneID: String, _ wanted: [(ResourceAddress, RecordKey)], client: AWSClient) async throws
        -> [ResourceAddress: ObservedResource] {
        let sets: [Route53RecordSet]
        do {
            sets = try await client.listRecordSets(zoneID: zoneID)
        } catch let error as AWSServiceError where error.code == "NoSuchHostedZone" {
            return [:]
        } catch {
            throw client.wrap(error, doing: "list the records of hosted zone \(wanted.first?.1.zone ?? zoneID) (\(zoneID))")
        }
        var byKey: [String: Route53RecordSet] = [:]
        for set in sets where set.setIdentifier == nil { byKey[set.key] = set }
        var result: [ResourceAddress: ObservedResource] = [:]
        for (address, key) in wanted {
            guard let set = byKey[key.rrsetKey] else { continue }
            result[address] = recordObservation(key, set)
        }
        return result
    }

    static func recordObservation(_ key: RecordKey, _ set: Route53RecordSet) -> ObservedResource {
        var attributes: [String: Value] = [
            R.zone: .string(key.zone), R.name: .string(set.name), R.type: .string(set.type),
            R.ttl: set.ttl.map(Value.int) ?? .null,
            R.records: .list(set.values.map { Route53RecordValues.fromRoute53(type: set.type, $0) }.sorted().map(Value.string)),
        ]
        if let alias = set.aliasDNSName { attributes["alias"] = .string(alias) }
        return ObservedResource(providerID: key.providerID, attributes: attributes)
    }

    /// UPSERTs the rrset (create and update alike), coalesced with other changes to the same zone.
    func putRecord(_ resource: Resource, action: String) async throws -> ObservedResource {
        let address = resource.address
        let key = RecordKey(zone: try AWSProvider.attributes.string(resource.attributes, R.zone, of: address),
                            name: try AWSProvider.attributes.string(resource.attributes, R.name, of: address),
                            type: try AWSProvider.attributes.string(resource.attributes, R.type, of: address))
        guard let ttl = resource.attributes[R.ttl]?.intValue, ttl >= 0 else {
            throw OttoError("provider.aws.attribute", "\(address): attribute 'ttl' must be a non-negative integer")
        }
        let records = try AWSProvider.attributes.strings(resource.attributes, R.records, of: address).sorted()
        guard !records.isEmpty else {
            throw OttoError("provider.aws.attribute", "\(address): attribute 'records' must hold at least one record")
        }
        let doing = "\(action) \(key.type) \(key.name) in zone \(key.zone) (\(address))"
        guard let zoneID = try await zoneID(for: key.zone) else {
            throw OttoError("provider.aws.zone_missing", "\(address): hosted zone \(key.zone) does not exist in Route53; create the dns_zone first")
        }
        let set = Route53RecordSet(name: key.name, type: key.type, ttl: ttl,
                                   values: records.map { Route53RecordValues.toRoute53(type: key.type, $0) })
        do {
            try await batcher(for: zoneID).apply(Route53Change(action: "UPSERT", recordSet: set))
        } catch let error as AWSServiceError where error.code == "NoSuchHostedZone" {
            await zoneDirectory.forget(id: zoneID)
            throw OttoError("provider.aws.zone_missing", "\(address): hosted zone \(key.zone) does not exist in Route53; create the dns_zone first",
                            causeText: error.httpDescription)
        } catch {
            throw client.wrap(error, doing: doing)
        }
        return ObservedResource(providerID: key.providerID, attributes: [
            R.zone: .string(key.zone), R.name: .string(key.name), R.type: .string(key.type),
            R.ttl: .int(ttl), R.records: .list(records.map(Value.string)),
        ])
    }

    /// DELETEs the rrset with the values it holds. When Route53 refuses (the rrset changed or went away since it
    /// was observed), it is read again: gone is success, different values are deleted with those (once).
    func deleteRecord(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard let key = RecordKey(attributes: current.attributes, providerID: current.providerID) else {
            throw OttoError("provider.aws.attribute", "\(address): cannot tell which rrset to delete (no zone|name|type)")
        }
        let doing = "delete \(key.type) \(key.name) in zone \(key.zone) (\(address))"
        guard let zoneID = try await zoneID(for: key.zone) else { return }  // no zone: its records are gone too
        var set = Route53RecordSet(name: key.name, type: key.type, ttl: current.attributes[R.ttl]?.intValue,
                                   values: (current.attributes[R.records]?.listValue ?? []).compactMap(\.stringValue)
                                       .map { Route53RecordValues.toRoute53(type: key.type, $0) })
        for attempt in 1...2 {
            do {
                if set.values.isEmpty || set.ttl == nil {
                    // Not enough to name the rrset's values: read them.
                    guard let live = try await client.recordSet(zoneID: zoneID, name: key.name, type: key.type) else { return }
                    set = live
                }
                try await batcher(for: zoneID).apply(Route53Change(action: "DELETE", recordSet: set))
                return
            } catch let error as AWSServiceError where error.code == "NoSuchHostedZone" {
                return
            } catch let error as AWSServiceError where error.status == 400 && !error.isThrottling {
                let live: Route53RecordSet?
                do {
                    live = try await client.recordSet(zoneID: zoneID, name: key.name, type: key.type)
                } catch {
                    throw client.wrap(error, doing: doing)
                }
                guard let live else { return }  // already gone
                if attempt == 2 || (live.values.sorted() == set.values.sorted() && live.ttl == set.ttl) {
                    throw client.wrap(error, doing: doing)
                }
                set = live
            } catch {
                throw client.wrap(error, doing: doing)
            }
        }
    }
}

/// Route53 names: FQDNs with the dot, its octal escapes decoded.
enum Route53Naming: DNSNaming {
    static func normalize(_ name: String) -> String { Route53Names.decode(name) }
}

extension DNSRecordKey where Naming == Route53Naming {
    /// The rrset's identity inside its zone, as `Route53RecordSet.key`.
    var rrsetKey: String { "\(name)|\(type)" }
}
