import OttoCore
import Foundation

/// `/dom/ns/{domain}` and `/dom/dns/{domain}`: a zone's nameservers and records.
extension APIHandlers {
    func getNameservers(_ input: Operations.getNameservers.Input) async throws -> Operations.getNameservers.Output {
        let domain = try Self.domain(input.path.domain)
        guard let body = desired.snapshot.nameserverBodies[domain] else {
            throw APIError.notFound("no nameservers are defined for zone `\(domain).`")
        }
        return .ok(.init(body: .json(try stored(body))))
    }

    /// `POST ?ns=ns1.example.net,ns2.example.net[&provider=NAME]`.
    func setNameservers(_ input: Operations.setNameservers.Input) async throws -> Operations.setNameservers.Output {
        let domain = try Self.domain(input.path.domain)
        let nameservers = input.query.ns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !nameservers.isEmpty else {
            throw APIError.badRequest("query.ns", "?ns= is empty; give at least one nameserver (DELETE removes them)")
        }
        let written = try await desired.setNameservers(domain, nameservers: nameservers, provider: input.query.provider)
        let body = try written.snapshot.nameserverBodies[domain].map { bytes throws(APIError) in try stored(bytes) } ?? .object([])
        if written.created { return .created(.init(headers: .init(Location: "/dom/ns/" + domain), body: .json(body))) }
        return .ok(.init(body: .json(body)))
    }

    func deleteNameservers(_ input: Operations.deleteNameservers.Input) async throws -> Operations.deleteNameservers.Output {
        try await desired.deleteNameservers(try Self.domain(input.path.domain))
        return .noContent(.init())
    }

    func getRecords(_ input: Operations.getRecords.Input) async throws -> Operations.getRecords.Output {
        let domain = try Self.domain(input.path.domain)
        guard let body = desired.snapshot.recordBodies[domain] else {
            throw APIError.notFound("no records are defined for zone `\(domain).`")
        }
        return .ok(.init(body: .json(try stored(body))))
    }

    /// `PUT` with a JSON body `{"ttl": 300, "records": [...]}` (replaces every API record of the zone), or with
    /// `?rec=NAME [TTL] TYPE VALUE` (repeatable; sets those rrsets, keeps the others). `&provider=NAME` picks the DNS
    /// provider for a new zone.
    func putRecords(_ input: Operations.putRecords.Input) async throws -> Operations.putRecords.Output {
        let domain = try Self.domain(input.path.domain)
        let body = try body()
        let recs = try (input.query.rec ?? []).map { text throws(APIError) in try RecordQuery(text, needsValue: true) }
        if !body.isEmpty && !recs.isEmpty {
            throw APIError.badRequest("request.ambiguous", "give the records either as a JSON body or as ?rec=, not both")
        }
        if body.isEmpty && recs.isEmpty {
            throw APIError.badRequest("body.missing", "give the records as a JSON body {\"records\": [...]} or as ?rec=NAME TYPE VALUE")
        }
        let written = try await desired.putRecords(domain, body: body.isEmpty ? nil : body, recs: recs, provider: input.query.provider)
        let records = try written.snapshot.recordBodies[domain].map { bytes throws(APIError) in try stored(bytes) } ?? .object([])
        if written.created { return .created(.init(headers: .init(Location: "/dom/dns/" + domain), body: .json(records))) }
        return .ok(.init(body: .json(records)))
    }

    /// `DELETE` (every API record of the zone) or `DELETE ?rec=NAME TYPE` (those rrsets only).
    func deleteRecords(_ input: Operations.deleteRecords.Input) async throws -> Operations.deleteRecords.Output {
        let domain = try Self.domain(input.path.domain)
        let recs = try (input.query.rec ?? []).map { text throws(APIError) in try RecordQuery(text, needsValue: false) }
        try await desired.deleteRecords(domain, recs: recs)
        return .noContent(.init())
    }
}
