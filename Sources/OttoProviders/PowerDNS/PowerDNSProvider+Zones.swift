import OttoCore
import OttoHTTP

private typealias Z = AttributeName.DNSZone

extension PowerDNSProvider {
    /// One zone list, then the detail of each requested zone that exists (for its apex NS rrset).
    func observeZones(_ requests: [ObserveRequest], details: ZoneDetails) async throws -> [ResourceAddress: ObservedResource] {
        guard !requests.isEmpty else { return [:] }
        let zones: [PowerDNSModel.Zone]
        do {
            zones = try await api.send(.get, "/zones").decode([PowerDNSModel.Zone].self)
        } catch {
            throw api.wrap(error, doing: "list zones")
        }
        var byName: [String: PowerDNSModel.Zone] = [:]
        var byID: [String: PowerDNSModel.Zone] = [:]
        for zone in zones {
            byName[zone.name.lowercased()] = zone
            byID[zone.id] = zone
        }
        var wanted: [(ResourceAddress, String)] = []
        for request in requests {
            let zone = request.attributes[Z.name]?.stringValue.flatMap { byName[PowerDNSModel.fqdn($0).lowercased()] }
                ?? request.providerID.flatMap { byID[$0] }
            if let zone { wanted.append((request.address, zone.id)) }
        }
        let api = self.api
        return try await withThrowingTaskGroup(of: (ResourceAddress, ObservedResource?).self) { group in
            var result: [ResourceAddress: ObservedResource] = [:]
            var iterator = wanted.makeIterator()
            func addNext() -> Bool {
                guard let (address, id) = iterator.next() else { return false }
                group.addTask {
                    do {
                        return (address, try await details.detail(id).map(Self.observation(of:)))
                    } catch {
                        throw api.wrap(error, doing: "read zone \(id)")
                    }
                }
                return true
            }
            for _ in 0..<min(8, wanted.count) { _ = addNext() }
            while let (address, observed) = try await group.next() {
                if let observed { result[address] = observed }
                _ = addNext()
            }
            return result
        }
    }

    /// The zone's detail as an observation; nil when it is gone.
    static func fetchZone(id: String, api: PowerDNSAPI) async throws -> ObservedResource? {
        do {
            let zone = try await api.send(.get, PowerDNSAPI.zonePath(id)).decode(PowerDNSModel.Zone.self)
            return observation(of: zone)
        } catch let error as HTTPError where error.status == 404 {
            return nil
        } catch {
            throw api.wrap(error, doing: "read zone \(id)")
        }
    }

    static func observation(of zone: PowerDNSModel.Zone) -> ObservedResource {
        let apex = zone.name.lowercased()
        let ns = (zone.rrsets ?? []).first { $0.name.lowercased() == apex && $0.type == "NS" }
        return ObservedResource(providerID: zone.id, attributes: [
            Z.name: .string(zone.name),
            Z.kind: .string(zone.kind),
            Z.nameservers: .list((ns?.contents ?? []).map(Value.string)),
        ])
    }

    /// POST /zones with the nameservers; an existing zone (409) is adopted and its NS rrset set.
    func createZone(_ resource: Resource) async throws -> ObservedResource {
        let name = PowerDNSModel.fqdn(try Self.attributes.string(resource.attributes, Z.name, of: resource.address))
        let kind = resource.attributes[Z.kind]?.stringValue ?? "Native"
        let nameservers = try Self.attributes.strings(resource.attributes, Z.nameservers, of: resource.address).sorted()
        do {
            let zone = try await api.send(.post, "/zones", body: PowerDNSModel.NewZone(name: name, kind: kind, nameservers: nameservers))
                .decode(PowerDNSModel.Zone.self)
            return Self.observation(of: zone)
        } catch let error as HTTPError where error.status == 409 {
            try await setNameservers(zone: name, nameservers, ttl: 3600, address: resource.address)
            guard let observed = try await Self.fetchZone(id: name, api: api) else {
                throw OttoError("provider.powerdns.http", "\(resource.address): PowerDNS reported zone \(name) as existing but it cannot be read")
            }
            return observed
        } catch {
            throw api.wrap(error, doing: "create zone \(name) for \(resource.address)")
        }
    }

    /// Replaces the apex NS rrset.
    func updateZone(_ resource: Resource, current: ObservedResource) async throws -> ObservedResource {
        let name = PowerDNSModel.fqdn(try Self.attributes.string(resource.attributes, Z.name, of: resource.address))
        let nameservers = try Self.attributes.strings(resource.attributes, Z.nameservers, of: resource.address).sorted()
        try await setNameservers(zone: current.providerID, nameservers, ttl: 3600, address: resource.address, apex: name)
        var attributes = current.attributes
        attributes[Z.nameservers] = .list(nameservers.map(Value.string))
        return ObservedResource(providerID: current.providerID, attributes: attributes)
    }

    private func setNameservers(zone: String, _ nameservers: [String], ttl: Int, address: ResourceAddress, apex: String? = nil) async throws {
        let owner = apex ?? PowerDNSModel.fqdn(zone)
        let change = nameservers.isEmpty
            ? PowerDNSModel.RRSet.delete(name: owner, type: "NS")
            : PowerDNSModel.RRSet.replace(name: owner, type: "NS", ttl: ttl, contents: nameservers)
        do {
            try await batcher(for: zone).apply(change)
        } catch {
            throw api.wrap(error, doing: "set the nameservers of \(address)")
        }
    }

    /// DELETE /zones/ID; a zone already gone is fine.
    func deleteZone(_ address: ResourceAddress, current: ObservedResource) async throws {
        let id = current.providerID.isEmpty ? (current.attributes[Z.name]?.stringValue ?? address.name) : current.providerID
        do {
            _ = try await api.send(.delete, PowerDNSAPI.zonePath(id))
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch {
            throw api.wrap(error, doing: "delete zone \(id) for \(address)")
        }
    }
}
