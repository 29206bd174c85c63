import Foundation
import OttoCore
import OttoHTTP

/// The calls otto makes to fleet's v1 API, over either transport, with fleet's errors turned into `OttoError`s
/// (`provider.fleet.http`: `fleet at http://…: PUT /units/x.service: 409 Conflict: unit does not exist and options
/// field empty`).
struct FleetAPI: Sendable {
    let transport: any FleetAPITransport

    /// The most pages one list follows (100 items each: 100,000 units).
    static let maxPages = 1000

    /// `/units/NAME`, escaped.
    static func unitPath(_ name: String) -> String { "/units/" + FleetAPIText.segment(name) }

    /// Sends a request and returns the answer whatever its status.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil) async throws -> FleetAPIResponse {
        try await transport.send(method, path, query: query, body: body)
    }

    /// Sends a request; a status of 400 or more is thrown as `failure`.
    func checked(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil) async throws -> FleetAPIResponse {
        let response = try await send(method, path, query: query, body: body)
        guard response.status < 400 else { throw failure(method, path, response) }
        return response
    }

    /// fleet's refusal as an error an operator can act on: where, what, the status and fleet's own message.
    func failure(_ method: HTTPMethod, _ path: String, _ response: FleetAPIResponse) -> OttoError {
        let message = response.message.isEmpty ? "" : ": " + response.message
        return OttoError("provider.fleet.http",
                         "\(transport.place): \(method) \(FleetAPIText.display(path)): \(FleetAPIText.status(response.status))\(message)")
    }

    /// Decodes a JSON body, or says which answer could not be read.
    func decode<T: Decodable>(_ type: T.Type, _ response: FleetAPIResponse, _ method: HTTPMethod, _ path: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw OttoError("provider.fleet.response",
                            "\(transport.place): \(method) \(FleetAPIText.display(path)): the answer is not the JSON fleet's API sends (\(T.self)); is this endpoint fleet's API?",
                            cause: error)
        }
    }

    /// Every item of a paged list: the first page, then each `nextPageToken` in turn until a page has none.
    func list<Page: FleetAPIPage>(_ type: Page.Type, _ path: String, query: [(String, String)] = []) async throws -> [Page.Item] {
        var items: [Page.Item] = []
        var token: String?
        var seen: Set<String> = []
        for _ in 0..<Self.maxPages {
            let pageQuery = query + (token.map { [("nextPageToken", $0)] } ?? [])
            let response = try await checked(.get, path, query: pageQuery)
            let page = try decode(type, response, .get, path)
            items += page.pageItems
            guard let next = page.nextPageToken, !next.isEmpty else { return items }
            guard seen.insert(next).inserted else {
                throw OttoError("provider.fleet.response", "\(transport.place): GET \(path): fleet sent the page token \(next) twice; its list cannot be read to the end")
            }
            token = next
        }
        throw OttoError("provider.fleet.response", "\(transport.place): GET \(path): more than \(Self.maxPages) pages; stopped reading")
    }

    /// Every unit (`GET /units`, all pages).
    func units() async throws -> [FleetAPIModel.Unit] {
        try await list(FleetAPIModel.UnitPage.self, "/units")
    }

    /// Every state row, or those of one unit (`GET /state[?unitName=]`, all pages).
    func states(unitName: String? = nil) async throws -> [FleetAPIModel.UnitState] {
        try await list(FleetAPIModel.UnitStatePage.self, "/state", query: unitName.map { [("unitName", $0)] } ?? [])
    }

    /// One unit (`GET /units/NAME`); nil when fleet has none of that name.
    func unit(_ name: String) async throws -> FleetAPIModel.Unit? {
        let path = Self.unitPath(name)
        let response = try await send(.get, path)
        if response.status == 404 { return nil }
        guard response.status < 400 else { throw failure(.get, path, response) }
        return try decode(FleetAPIModel.Unit.self, response, .get, path)
    }

    /// `PUT /units/NAME` with `body`; returns the status (201: created or replaced, 204: desired state set).
    @discardableResult
    func put(_ name: String, _ body: FleetAPIModel.UnitWrite) async throws -> Int {
        let data = try JSONEncoder().encode(body)
        return try await checked(.put, Self.unitPath(name), body: Array(data)).status
    }

    /// `DELETE /units/NAME`; false when the unit was already gone (404).
    @discardableResult
    func delete(_ name: String) async throws -> Bool {
        let path = Self.unitPath(name)
        let response = try await send(.delete, path)
        if response.status == 404 { return false }
        guard response.status < 400 else { throw failure(.delete, path, response) }
        return true
    }
}
