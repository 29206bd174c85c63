import Hummingbird

/// `/healthz`, `/metrics`, `/` and `/openapi.json`.
extension APIHandlers {
    static func healthz(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        return Responses.json(.ok, .object([("status", .string("ok"))]))
    }

    static func metrics(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        return Responses.text(await r.environment.metrics(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    static func statusPage(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        return Responses.text(await r.environment.statusPage(), contentType: "text/html; charset=utf-8")
    }

    static func openAPI(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        return Responses.json(.ok, OpenAPIDocument.buffer)
    }
}
