/// Hosted zone ids by zone name, learned from lists and creates, so records find their zone without a list call;
/// and a single-flight ListHostedZones: callers that need the list while one is in flight share it (a thousand
/// record creates at the start of an apply make one list call, not a thousand).
actor Route53ZoneDirectory {
    private var ids: [String: String] = [:]
    private var inFlight: Task<[Route53Zone], any Error>?

    /// The id cached for the zone `name` (decoded FQDN), if any.
    func id(for name: String) -> String? { ids[name] }

    /// Records the id of a zone otto just created.
    func set(_ name: String, id: String) { ids[name] = id }

    /// Forgets a zone that is gone.
    func forget(id: String) { ids = ids.filter { $0.value != id } }

    /// Every hosted zone, from one ListHostedZones shared with concurrent callers; names held by exactly one public
    /// zone (or exactly one of otto's) are cached.
    func list(using client: AWSClient) async throws -> [Route53Zone] {
        if let inFlight { return try await inFlight.value }
        let task = Task { try await client.listHostedZones() }
        inFlight = task
        defer { inFlight = nil }
        let zones = try await task.value
        remember(zones)
        return zones
    }

    private func remember(_ zones: [Route53Zone]) {
        var byName: [String: [Route53Zone]] = [:]
        for zone in zones where !zone.isPrivate { byName[zone.name, default: []].append(zone) }
        for (name, list) in byName {
            let ours = list.filter(\.isOtto)
            if list.count == 1 {
                ids[name] = list[0].id
            } else if ours.count == 1 {
                ids[name] = ours[0].id
            } else {
                ids[name] = nil
            }
        }
    }
}
