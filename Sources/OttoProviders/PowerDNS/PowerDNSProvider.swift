import Foundation
import OttoCore
import OttoHTTP

/// Manages `dns_zone` and `dns_record` resources through the PowerDNS authoritative server's HTTP API.
///
/// Attributes (exactly what the configuration layer produces):
/// - `dns_zone`: `name` (FQDN with the trailing dot), `kind` (`Native`), `nameservers` (FQDNs, the apex NS rrset).
///   providerID: the zone id PowerDNS returns.
/// - `dns_record`: `zone`, `name` (FQDNs), `type`, `ttl` (int), `records` (contents in PowerDNS canonical form).
///   providerID: `zone|name|type`.
///
/// Observation is in bulk (one zone list, one zone detail per zone involved). Record changes for one zone that
/// arrive concurrently are coalesced into one PATCH (see `ZoneChangeBatcher`).
public final class PowerDNSProvider: Provider {
    /// The instance name (an inventory `providers:` key).
    public let name: String
    /// Most actions run at once.
    public let concurrencyLimit: Int
    /// `dns_zone` and `dns_record`.
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [SharedSchemas.dnsZone(), SharedSchemas.dnsRecord]

    let api: PowerDNSAPI
    /// How attribute errors of this provider read.
    static let attributes = AttributeReader(code: "provider.powerdns.attribute")
    private let batchers = ZoneBatchers<PowerDNSModel.RRSet>()

    /// Creates a provider for the server at `baseURL` (`http://HOST:PORT`, with or without `/api/v1`).
    ///
    /// `concurrency` is the most actions the engine should run at once; record changes to one zone coalesce
    /// into shared PATCH requests, so a high value is cheap and makes batches larger (default 256).
    /// `apiKey` is sent only in the `X-API-Key` header and never appears in errors.
    public init(name: String, baseURL: String, serverID: String = "localhost", apiKey: String, concurrency: Int = 256,
                client: HTTPClient) {
        self.name = name
        self.concurrencyLimit = max(1, concurrency)
        self.api = PowerDNSAPI(providerName: name, baseURL: baseURL, serverID: serverID, apiKey: apiKey, client: client)
    }

    /// PATCH requests sent so far (for logs and tests: shows how well record changes were coalesced).
    public var patchRequestCount: Int { api.patchCounter.current }

    /// See `Provider.observe`.
    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        switch kind {
        case "dns_zone": return try await observeZones(requests, details: ZoneDetails(api: api))
        case "dns_record": return try await observeRecords(requests, details: ZoneDetails(api: api))
        default: throw unknownKind(kind)
        }
    }

    /// Zones and records together: each zone's detail (which carries every rrset) is read once for both kinds, so a
    /// refresh costs one zone list plus one read per zone.
    public func observeAll(_ requests: [String: [ObserveRequest]]) async throws -> [ResourceAddress: ObservedResource] {
        if let other = requests.keys.first(where: { $0 != "dns_zone" && $0 != "dns_record" }) { throw unknownKind(other) }
        let details = ZoneDetails(api: api)
        async let zones = observeZones(requests["dns_zone"] ?? [], details: details)
        async let records = observeRecords(requests["dns_record"] ?? [], details: details)
        var out = try await zones
        out.merge(try await records) { a, _ in a }
        return out
    }

    /// See `Provider.create`.
    public func create(_ resource: Resource) async throws -> ObservedResource {
        switch resource.kind {
        case "dns_zone": return try await createZone(resource)
        case "dns_record": return try await putRecord(resource, action: "create")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.update`.
    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        switch resource.kind {
        case "dns_zone": return try await updateZone(resource, current: current)
        case "dns_record": return try await putRecord(resource, action: "update")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.delete`.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        switch address.kind {
        case "dns_zone": try await deleteZone(address, current: current)
        case "dns_record": try await deleteRecord(address, current: current)
        default: throw unknownKind(address.kind)
        }
    }

    /// The batcher for `zone` (one per zone, created on first use).
    /// Rrset changes to one zone that arrive together share a PATCH (at most 1,000 rrsets); a PATCH PowerDNS rejects
    /// as invalid (400/422) is split until the failure lands on the change at fault.
    func batcher(for zone: String) -> ZoneChangeBatcher<PowerDNSModel.RRSet> {
        let api = self.api
        return batchers.batcher(for: zone.lowercased()) {
            ZoneChangeBatcher(limits: BatchLimits(changes: 1000), send: { try await api.patch(zone: zone, $0) },
                              isInvalidBatch: { ($0 as? HTTPError).map { $0.status == 400 || $0.status == 422 } ?? false })
        }
    }

    private func unknownKind(_ kind: String) -> OttoError {
        OttoError("provider.powerdns.kind", "provider '\(name)' (PowerDNS) does not manage resources of kind '\(kind)'; it manages dns_zone and dns_record")
    }
}


/// Zone details read during one observation, each at most once (concurrent askers share the read). A zone that does
/// not exist reads as nil.
actor ZoneDetails {
    private let api: PowerDNSAPI
    private var reads: [String: Task<PowerDNSModel.Zone?, any Error>] = [:]

    init(api: PowerDNSAPI) { self.api = api }

    /// The detail of zone `id` (its name with the final dot, as PowerDNS names zones).
    func detail(_ id: String) async throws -> PowerDNSModel.Zone? {
        let key = id.lowercased()
        if let read = reads[key] { return try await read.value }
        let api = self.api
        let read = Task<PowerDNSModel.Zone?, any Error> {
            do {
                return try await api.send(.get, PowerDNSAPI.zonePath(id)).decode(PowerDNSModel.Zone.self)
            } catch let error as HTTPError where error.status == 404 {
                return nil
            }
        }
        reads[key] = read
        return try await read.value
    }
}
