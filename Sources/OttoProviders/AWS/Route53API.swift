import OttoHTTP

/// The Route53 operations otto uses. They throw `AWSServiceError` / `HTTPError` as they come; callers wrap them.
extension AWSClient {
    /// Every hosted zone of the account, all pages (100 per page, `marker` / `NextMarker`).
    func listHostedZones() async throws -> [Route53Zone] {
        var zones: [Route53Zone] = []
        var marker: String?
        repeat {
            var query = [("maxitems", "100")]
            if let marker { query.append(("marker", marker)) }
            let page = try await route53(.get, "/hostedzone", query: query)
            zones += page.child("HostedZones")?.children("HostedZone").map(Route53Zone.init) ?? []
            marker = page.string("IsTruncated") == "true" ? page.string("NextMarker") : nil
        } while marker != nil
        return zones
    }

    /// GetHostedZone: the zone and its delegation set's name servers (FQDNs with the dot, sorted).
    func getHostedZone(_ id: String) async throws -> (zone: Route53Zone, nameServers: [String]) {
        let answer = try await route53(.get, "/hostedzone/" + id)
        guard let zone = answer.child("HostedZone") else {
            throw AWSServiceError(status: 200, code: "EmptyResponse", message: "GetHostedZone returned no zone", httpDescription: "GET \(route53URL)/hostedzone/\(id)")
        }
        return (Route53Zone(zone), Self.nameServers(answer))
    }

    /// CreateHostedZone (a public zone) with `callerReference` as idempotency key and otto's comment.
    func createHostedZone(name: String, callerReference: String, comment: String) async throws -> (zone: Route53Zone, nameServers: [String]) {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CreateHostedZoneRequest xmlns=\"\(Self.route53Namespace)\">"
            + XMLText.element("Name", name) + XMLText.element("CallerReference", callerReference)
            + "<HostedZoneConfig>" + XMLText.element("Comment", comment) + "<PrivateZone>false</PrivateZone></HostedZoneConfig>"
            + "</CreateHostedZoneRequest>"
        let answer = try await route53(.post, "/hostedzone", body: body, idempotent: false)
        guard let zone = answer.child("HostedZone") else {
            throw AWSServiceError(status: 200, code: "EmptyResponse", message: "CreateHostedZone returned no zone", httpDescription: "POST \(route53URL)/hostedzone")
        }
        return (Route53Zone(zone), Self.nameServers(answer))
    }

    /// DeleteHostedZone.
    func deleteHostedZone(_ id: String) async throws {
        _ = try await route53(.delete, "/hostedzone/" + id)
    }

    /// Every rrset of a zone, all pages (300 per page, `NextRecordName` / `NextRecordType` / `NextRecordIdentifier`).
    func listRecordSets(zoneID: String) async throws -> [Route53RecordSet] {
        var sets: [Route53RecordSet] = []
        var next: [(String, String)] = []
        repeat {
            let page = try await route53(.get, "/hostedzone/\(zoneID)/rrset", query: [("maxitems", "300")] + next)
            sets += page.child("ResourceRecordSets")?.children("ResourceRecordSet").map(Route53RecordSet.init) ?? []
            next = []
            if page.string("IsTruncated") == "true", let name = page.string("NextRecordName") {
                next.append(("name", name))
                if let type = page.string("NextRecordType") { next.append(("type", type)) }
                if let identifier = page.string("NextRecordIdentifier") { next.append(("identifier", identifier)) }
            }
        } while !next.isEmpty
        return sets
    }

    /// The rrset `name`/`type` of a zone (without routing policy), or nil: one page of one item starting there.
    func recordSet(zoneID: String, name: String, type: String) async throws -> Route53RecordSet? {
        let page = try await route53(.get, "/hostedzone/\(zoneID)/rrset", query: [("name", name), ("type", type), ("maxitems", "1")])
        let found = page.child("ResourceRecordSets")?.children("ResourceRecordSet").map(Route53RecordSet.init) ?? []
        return found.first { $0.name == Route53Names.decode(name) && $0.type == type && $0.setIdentifier == nil }
    }

    /// ChangeResourceRecordSets: every change applies, or none does. UPSERT and DELETE (with the current values)
    /// give the same result when repeated, so the call may be retried.
    func changeRecordSets(zoneID: String, _ changes: [Route53Change], comment: String) async throws {
        changeBatches.increment()
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ChangeResourceRecordSetsRequest xmlns=\"\(Self.route53Namespace)\">"
            + "<ChangeBatch>" + XMLText.element("Comment", comment) + "<Changes>" + changes.map(\.xml).joined() + "</Changes></ChangeBatch>"
            + "</ChangeResourceRecordSetsRequest>"
        _ = try await route53(.post, "/hostedzone/\(zoneID)/rrset", body: body, idempotent: true)
    }

    /// The delegation set's name servers of a GetHostedZone / CreateHostedZone answer, FQDNs with the dot, sorted.
    static func nameServers(_ answer: XMLTree) -> [String] {
        (answer.find("DelegationSet", "NameServers")?.children("NameServer") ?? [])
            .map { Route53RecordValues.fqdn($0.text.trimmingXMLSpace()) }
            .sorted()
    }
}
