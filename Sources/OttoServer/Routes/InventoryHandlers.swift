import Hummingbird

/// `/inv`: inventory hosts, from YAML (read-only) and from the API.
extension APIHandlers {
    static func listInventory(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        return Responses.json(.ok, r.environment.desired.snapshot.inventoryBody)
    }

    static func getHost(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let name = try r.parameter("item")
        guard let body = r.environment.desired.snapshot.hostBodies[name] else {
            throw APIError.notFound("no inventory host `\(name)`")
        }
        return Responses.json(.ok, body)
    }

    static func postHost(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let name = try r.parameter("item")
        let body = try await r.body()
        let written = try await r.environment.desired.putHost(name, body: body)
        return Responses.written(written.created, written.snapshot.hostBodies[name], location: "/inv/" + name)
    }

    static func deleteHost(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        try await r.environment.desired.deleteHost(try r.parameter("item"))
        return Responses.noContent()
    }
}
