import Foundation
import Hummingbird

/// `/dom/ns/{domain}` and `/dom/dns/{domain}`: a zone's nameservers and records.
extension APIHandlers {
    static func getNameservers(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let domain = try r.domain()
        guard let body = r.environment.desired.snapshot.nameserverBodies[domain] else {
            throw APIError.notFound("no nameservers are defined for zone `\(domain).`")
        }
        return Responses.json(.ok, body)
    }

    /// `POST ?ns=ns1.example.net,ns2.example.net[&provider=NAME]`.
    static func postNameservers(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: ["ns", "provider"])
        let domain = try r.domain()
        guard let list = r.query["ns"] else {
            throw APIError.badRequest("query.missing", "give the nameservers as ?ns=ns1.example.net,ns2.example.net")
        }
        let nameservers = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !nameservers.isEmpty else {
            throw APIError.badRequest("query.ns", "?ns= is empty; give at least one nameserver (DELETE removes them)")
        }
        let written = try await r.environment.desired.setNameservers(domain, nameservers: nameservers, provider: r.query["provider"])
        return Responses.written(written.created, written.snapshot.nameserverBodies[domain], location: "/dom/ns/" + domain)
    }

    static func deleteNameservers(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        try await r.environment.desired.deleteNameservers(try r.domain())
        return Responses.noContent()
    }

    static func getRecords(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let domain = try r.domain()
        guard let body = r.environment.desired.snapshot.recordBodies[domain] else {
            throw APIError.notFound("no records are defined for zone `\(domain).`")
        }
        return Responses.json(.ok, body)
    }

    /// `PUT` with a JSON body `{"ttl": 300, "records": [...]}` (replaces every API record of the zone), or with
    /// `?rec=NAME [TTL] TYPE VALUE` (repeatable; sets those rrsets, keeps the others). `&provider=NAME` picks the DNS
    /// provider for a new zone.
    static func putRecords(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: ["rec", "provider"], repeatable: ["rec"])
        let domain = try r.domain()
        let body = try await r.body()
        let recs = try r.query.all("rec").map { text throws(APIError) in try RecordQuery(text, needsValue: true) }
        if !body.isEmpty && !recs.isEmpty {
            throw APIError.badRequest("request.ambiguous", "give the records either as a JSON body or as ?rec=, not both")
        }
        if body.isEmpty && recs.isEmpty {
            throw APIError.badRequest("body.missing", "give the records as a JSON body {\"records\": [...]} or as ?rec=NAME TYPE VALUE")
        }
        let written = try await r.environment.desired.putRecords(domain, body: body.isEmpty ? nil : body, recs: recs,
                                                                 provider: r.query["provider"])
        return Responses.written(written.created, written.snapshot.recordBodies[domain], location: "/dom/dns/" + domain)
    }

    /// `DELETE` (every API record of the zone) or `DELETE ?rec=NAME TYPE` (those rrsets only).
    static func deleteRecords(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: ["rec"], repeatable: ["rec"])
        let domain = try r.domain()
        let recs = try r.query.all("rec").map { text throws(APIError) in try RecordQuery(text, needsValue: false) }
        try await r.environment.desired.deleteRecords(domain, recs: recs)
        return Responses.noContent()
    }
}
