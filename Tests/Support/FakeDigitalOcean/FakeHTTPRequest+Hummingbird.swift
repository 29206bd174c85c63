import HTTPTypes
import Hummingbird
import NIOCore

extension FakeHTTPRequest {
    /// A request as the fakes read it from Hummingbird: the body collected (at most 4 MiB), header names canonical,
    /// HTTP/1's Host as `host`.
    static func reading(_ request: Request) async throws -> FakeHTTPRequest {
        var request = request
        let body = try await request.collectBody(upTo: 4 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        if let authority = request.head.authority { headers["host"] = authority }  // HTTP/1 Host becomes :authority
        return FakeHTTPRequest(method: request.method.rawValue, path: request.uri.path, rawQuery: request.uri.query ?? "",
                               headers: headers, body: Array(buffer: body))
    }
}

extension HTTPFields {
    /// A fake's answer headers (names that are not valid HTTP field names are left out).
    init(fakeHeaders: [String: String]) {
        self.init()
        for (name, value) in fakeHeaders {
            if let field = HTTPField.Name(name) { self[field] = value }
        }
    }
}
