import OttoCore

private typealias Z = AttributeName.DNSZone

extension AWSProvider {
    /// TTL of the apex NS rrset otto writes (Route53's own default for it).
    static let nameserverTTL = 172_800

    /// One paginated ListHostedZones, matched by id, else pending key (`CallerReference`), else name; then, per zone
    /// found, GetHostedZone (the delegation set) and the apex NS rrset (`nameservers`).
    func observeZones(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let zones = try await listZones()
        var wanted: [(ResourceAddress, Route53Zone)] = []
        for request in requests {
            if let id = request.providerID, !id.isEmpty {
                if let zone = zones.first(where: { $0.id == Route53Zone.bareID(id) }) { wanted.append((request.address, zone)) }
                continue
            }
            if let key = request.pendingKey, let zone = zones.first(where: { $0.callerReference == key }) {
                wanted.append((request.address, zone))
                continue
            }
            if let name = request.attributes[Z.name]?.stringValue, let zone = try pickZone(named: name, in: zones) {
                wanted.append((request.address, zone))
            }
        }
        let client = self.client
        return try await withThrowingTaskGroup(of: (ResourceAddress, ObservedResource?).self) { group in
            var result: [ResourceAddress: ObservedResource] = [:]
            var iterator = wanted.makeIterator()
            func addNext() -> Bool {
                guard let (address, zone) = iterator.next() else { return false }
                group.addTask { (address, try await Self.readZone(zone, client: client)) }
                return true
            }
            for _ in 0..<min(4, wanted.count) { _ = addNext() }
            while let (address, observed) = try await group.next() {
                if let observed { result[address] = observed }
                _ = addNext()
            }
            return result
        }
    }

    /// The zone with its delegation set and apex NS rrset; nil when it is gone.
    static func readZone(_ zone: Route53Zone, client: AWSClient) async throws -> ObservedResource? {
        do {
            async let detail = client.getHostedZone(zone.id)
            async let apex = client.recordSet(zoneID: zone.id, name: zone.name, type: "NS")
            let (found, delegation) = try await detail
            let nameservers = try await apex?.values.map { Route53RecordValues.fromRoute53(type: "NS", $0) }
            return zoneObservation(found, nameservers: nameservers ?? delegation, delegation: delegation)
        } catch let error as AWSServiceError where error.code == "NoSuchHostedZone" {
            return nil
        } catch {
            throw client.wrap(error, doing: "read hosted zone \(zone.name) (\(zone.id))")
        }
    }

    static func zoneObservation(_ zone: Route53Zone, nameservers: [String], delegation: [String]) -> ObservedResource {
        ObservedResource(providerID: zone.id, attributes: [
            Z.name: .string(zone.name),
            Z.kind: .string("Native"),
            Z.nameservers: .list(nameservers.sorted().map(Value.string)),
            "delegation_set": .list(delegation.sorted().map(Value.string)),
        ])
    }

    /// The public zone named `name`: the only one, or the only one otto created; nil when there is none.
    /// - Throws: `provider.aws.ambiguous` when several public zones have that name and otto cannot tell which.
    func pickZone(named name: String, in zones: [Route53Zone]) throws -> Route53Zone? {
        let fqdn = Route53Names.decode(name)
        let named = zones.filter { $0.name == fqdn && !$0.isPrivate }
        if named.count <= 1 { return named.first }
        let ours = named.filter(\.isOtto)
        if ours.count == 1 { return ours[0] }
        throw OttoError("provider.aws.ambiguous",
                        "Route53 holds \(named.count) public hosted zones named \(fqdn) (\(named.map(\.id).joined(separator: ", "))); otto cannot tell which one to use: import the right one with `otto state import dns_zone.NAME ID`, or delete the others")
    }

    /// Every hosted zone (one shared ListHostedZones for concurrent callers).
    func listZones() async throws -> [Route53Zone] {
        do {
            return try await zoneDirectory.list(using: client)
        } catch {
            throw client.wrap(error, doing: "list hosted zones")
        }
    }

    /// The id of the public zone `name`, cached or from the list; nil when there is no such zone.
    func zoneID(for name: String) async throws -> String? {
        let fqdn = Route53Names.decode(name)
        if let id = await zoneDirectory.id(for: fqdn) { return id }
        return try pickZone(named: fqdn, in: try await listZones())?.id
    }

    /// CreateHostedZone with `CallerReference` = key and otto's comment; the apex NS rrset set to `nameservers` when
    /// given. A lost answer is resolved by looking the key up before creating again (at most 3 tries); a key Route53
    /// already knows (`HostedZoneAlreadyExists`) means the zone is there: it is looked up and adopted.
    func createZone(_ resource: Resource, key: String) async throws -> ObservedResource {
        let address = resource.address
        let name = Route53Names.decode(try AWSProvider.attributes.string(resource.attributes, Z.name, of: address))
        let nameservers = try AWSProvider.attributes.strings(resource.attributes, Z.nameservers, of: address).map(Route53RecordValues.fqdn).sorted()
        let doing = "create hosted zone \(name) (\(address))"
        var zone: Route53Zone?
        var delegation: [String] = []
        var attempt = 0
        while zone == nil {
            attempt += 1
            do {
                let created = try await client.createHostedZone(name: name, callerReference: key,
                                                                comment: "\(Route53Zone.ottoComment) (\(address))")
                zone = created.zone
                delegation = created.nameServers
            } catch let error as AWSServiceError where error.code == "HostedZoneAlreadyExists" {
                guard let found = try await findZone(callerReference: key, doing: doing) else { throw client.wrap(error, doing: doing) }
                zone = found
            } catch where isAmbiguous(error) {
                if let found = try await findZone(callerReference: key, doing: doing) {
                    zone = found
                } else if attempt >= 3 {
                    throw client.wrap(error, doing: doing)
                }
            } catch {
                throw client.wrap(error, doing: doing)
            }
        }
        guard let zone else { throw OttoError("provider.aws.api", "\(address): no zone after create") }
        if delegation.isEmpty {
            do {
                delegation = try await client.getHostedZone(zone.id).nameServers
            } catch {
                throw client.wrap(error, doing: "read hosted zone \(name) (\(zone.id))")
            }
        }
        await zoneDirectory.set(zone.name, id: zone.id)
        if !nameservers.isEmpty {
            try await setNameservers(zoneID: zone.id, zoneName: zone.name, nameservers, address: address)
        }
        return Self.zoneObservation(zone, nameservers: nameservers.isEmpty ? delegation : nameservers, delegation: delegation)
    }

    /// The zone whose `CallerReference` is `key`, if any.
    private func findZone(callerReference key: String, doing: String) async throws -> Route53Zone? {
        do {
            // A list of its own, started after the failure (one already in flight could predate the create).
            return try await client.listHostedZones().first { $0.callerReference == key }
        } catch {
            throw client.wrap(error, doing: "look for the zone of a lost answer to: \(doing)")
        }
    }

    /// UPSERTs the apex NS rrset when `nameservers` is given (it cannot be removed: without it, nothing changes).
    func updateZone(_ resource: Resource, current: ObservedResource) async throws -> ObservedResource {
        let address = resource.address
        let nameservers = try AWSProvider.attributes.strings(resource.attributes, Z.nameservers, of: address).map(Route53RecordValues.fqdn).sorted()
        guard !nameservers.isEmpty else { return current }
        let name = Route53Names.decode(try AWSProvider.attributes.string(resource.attributes, Z.name, of: address))
        try await setNameservers(zoneID: Route53Zone.bareID(current.providerID), zoneName: name, nameservers, address: address)
        var attributes = current.attributes
        attributes[Z.nameservers] = .list(nameservers.map(Value.string))
        return ObservedResource(providerID: current.providerID, attributes: attributes)
    }

    private func setNameservers(zoneID: String, zoneName: String, _ nameservers: [String], address: ResourceAddress) async throws {
        let change = Route53Change(action: "UPSERT", recordSet: Route53RecordSet(name: zoneName, type: "NS", ttl: Self.nameserverTTL,
                                                                                  values: nameservers))
        do {
            try await batcher(for: zoneID).apply(change)
        } catch {
            throw client.wrap(error, doing: "set the nameservers of \(zoneName) (\(address))")
        }
    }

    /// DeleteHostedZone; a zone already gone is fine. Records otto does not manage keep it alive: Route53 refuses,
    /// and the error lists them (otto never deletes what it did not make).
    func deleteZone(_ address: ResourceAddress, current: ObservedResource) async throws {
        let id = Route53Zone.bareID(current.providerID)
        guard !id.isEmpty else { return }
        do {
            try await client.deleteHostedZone(id)
            await zoneDirectory.forget(id: id)
        } catch let error as AWSServiceError where error.code == "NoSuchHostedZone" {
            await zoneDirectory.forget(id: id)
        } catch let error as AWSServiceError where error.code == "HostedZoneNotEmpty" {
            let name = current.attributes[Z.name]?.stringValue ?? id
            let left = (try? await client.listRecordSets(zoneID: id))?
                .filter { !(($0.type == "NS" || $0.type == "SOA") && $0.name == Route53Names.decode(name)) }
                .map { "\($0.name) \($0.type)" } ?? []
            throw OttoError("provider.aws.zone_not_empty",
                            "AWS refused to delete hosted zone \(name) (\(id), \(address)): \(error)\(left.isEmpty ? "" : "; it still holds records otto does not manage: " + left.prefix(20).joined(separator: ", ") + (left.count > 20 ? ", …" : "")). Delete them first, or `otto state rm \(address)` to leave the zone",
                            causeText: error.httpDescription)
        } catch {
            throw client.wrap(error, doing: "delete hosted zone \(id) (\(address))")
        }
    }
}
