import OttoCore
import OttoHTTP

private typealias Z = AttributeName.DNSZone

extension DigitalOceanProvider {
    /// DigitalOcean's own nameservers, which every new domain gets.
    static let defaultNameservers = ["ns1.digitalocean.com.", "ns2.digitalocean.com.", "ns3.digitalocean.com."]

    /// One paginated list of the domains; the apex NS records come from each domain's zone file (one records call
    /// for a domain whose zone file is missing).
    func observeZones(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let domains: [DigitalOceanModel.Domain]
        do {
            domains = try await api.list(DigitalOceanModel.Domain.self, "/v2/domains", key: "domains")
        } catch {
            throw api.wrap(error, doing: "list the domains")
        }
        var byName: [String: DigitalOceanModel.Domain] = [:]
        for domain in domains { byName[domain.name.lowercased()] = domain }
        var result: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            let wanted = request.attributes[Z.name]?.stringValue ?? request.providerID ?? ""
            guard !wanted.isEmpty, let domain = byName[DigitalOceanRecordCodec.domain(wanted)] else { continue }
            let nameservers: [String]
            if let zoneFile = domain.zoneFile, let parsed = Self.apexNameservers(zoneFile: zoneFile, domain: domain.name) {
                nameservers = parsed
            } else {
                nameservers = try await apexNameservers(domain.name)
            }
            result[request.address] = zoneObservation(domain.name, nameservers: nameservers)
        }
        return result
    }

    func zoneObservation(_ domain: String, nameservers: [String]) -> ObservedResource {
        ObservedResource(providerID: DigitalOceanRecordCodec.domain(domain), attributes: [
            Z.name: .string(DigitalOceanRecordCodec.fqdn(domain)),
            Z.kind: .string("Native"),
            Z.nameservers: .list(nameservers.sorted().map(Value.string)),
        ])
    }

    /// The apex NS targets in a zone file (`NAME [TTL] IN NS TARGET` lines whose owner is the apex); nil when the
    /// text has no SOA line (not a zone file otto understands).
    static func apexNameservers(zoneFile: String, domain: String) -> [String]? {
        let apex = DigitalOceanRecordCodec.fqdn(domain)
        var sawSOA = false
        var out: [String] = []
        for line in zoneFile.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count >= 3, !fields[0].hasPrefix("$"), !fields[0].hasPrefix(";") else { continue }
            guard let typeIndex = fields.firstIndex(where: { ["SOA", "NS"].contains($0.uppercased()) }), typeIndex + 1 < fields.count else { continue }
            if fields[typeIndex].uppercased() == "SOA" {
                sawSOA = true
            } else if fields[0] == "@" || DigitalOceanRecordCodec.fqdn(fields[0]) == apex {
                out.append(DigitalOceanRecordCodec.fqdn(fields[typeIndex + 1]))
            }
        }
        return sawSOA ? out.sorted() : nil
    }

    /// The apex NS records of `domain` (one records call).
    func apexNameservers(_ domain: String) async throws -> [String] {
        let zone = DigitalOceanRecordCodec.fqdn(domain)
        let records = try await zoneRecords(zone, name: zone, type: "NS") ?? []
        return records.compactMap { DigitalOceanRecordCodec.presentation($0, zone: zone) }.sorted()
    }

    /// POST /v2/domains; a domain already in the account is adopted (DigitalOcean answers 422, also to a create
    /// retried after a lost answer). When `nameservers` is configured, the apex NS records are set to it.
    func createZone(_ resource: Resource) async throws -> ObservedResource {
        let address = resource.address
        let domain = DigitalOceanRecordCodec.domain(try Self.attributes.string(resource.attributes, Z.name, of: address))
        let action = "create domain \(domain) (\(address))"
        do {
            _ = try await api.send(.post, "/v2/domains", body: DigitalOceanModel.NewDomain(name: domain), idempotent: true)
        } catch let error as HTTPError where error.status == 422 {
            do {
                _ = try await api.get(DigitalOceanModel.DomainEnvelope.self, "/v2/domains/\(DigitalOceanAPI.segment(domain))")
            } catch let lookup as HTTPError where lookup.status == 404 {
                throw api.wrap(error, doing: "\(action); the name is not in this account (taken by another, or invalid)")
            } catch {
                throw api.wrap(error, doing: action)
            }
        } catch {
            throw api.wrap(error, doing: action)
        }
        return try await setNameservers(resource, domain: domain)
    }

    /// Sets the apex NS records to the configured `nameservers`.
    func updateZone(_ resource: Resource, current: ObservedResource) async throws -> ObservedResource {
        let domain = DigitalOceanRecordCodec.domain(try Self.attributes.string(resource.attributes, Z.name, of: resource.address))
        return try await setNameservers(resource, domain: domain)
    }

    /// Makes the apex NS rrset the configured `nameservers` (when configured), and reports the zone.
    private func setNameservers(_ resource: Resource, domain: String) async throws -> ObservedResource {
        let zone = DigitalOceanRecordCodec.fqdn(domain)
        let wanted = try Self.attributes.strings(resource.attributes, Z.nameservers, of: resource.address).map(DigitalOceanRecordCodec.fqdn)
        guard resource.attributes[Z.nameservers] != nil, !wanted.isEmpty else {
            return zoneObservation(domain, nameservers: try await apexNameservers(domain))
        }
        let key = RecordKey(zone: zone, name: zone, type: "NS")
        let bodies = try recordBodies(key, values: wanted, ttl: 1800, address: resource.address)
        try await reconcile(key, bodies, ttl: nil, address: resource.address, action: "set the nameservers of")
        return zoneObservation(domain, nameservers: bodies.compactMap { DigitalOceanRecordCodec.presentation(of: $0, zone: zone) })
    }

    /// DELETE /v2/domains/NAME; a domain already gone is fine.
    func deleteZone(_ address: ResourceAddress, current: ObservedResource) async throws {
        let domain = DigitalOceanRecordCodec.domain(current.providerID.isEmpty ? (current.attributes[Z.name]?.stringValue ?? "") : current.providerID)
        guard !domain.isEmpty else { return }
        do {
            _ = try await api.send(.delete, "/v2/domains/\(DigitalOceanAPI.segment(domain))", idempotent: true)
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch {
            throw api.wrap(error, doing: "delete domain \(domain) (\(address))")
        }
    }
}
