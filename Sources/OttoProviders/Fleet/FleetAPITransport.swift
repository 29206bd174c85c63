import Foundation
import OttoCore
import OttoHTTP

/// What one fleet request got back: the status, the body of a success, and fleet's own message for a failure.
struct FleetAPIResponse: Sendable {
    /// The HTTP status.
    var status: Int
    /// The body (of a status below 400; empty otherwise).
    var body: [UInt8]
    /// For a status of 400 or more: the `message` of fleet's error entity (`{"error": {"code": N, "message": …}}`), or
    /// a short account of a body that is not one; never the raw body.
    var message: String
}

/// How requests reach fleet's API: over HTTP (`FleetHTTPTransport`), or over SSH to fleetd's unix socket
/// (`FleetSSHTransport`). A transport returns every answer, whatever its status; it throws only when there was none
/// (an `OttoError` saying why).
protocol FleetAPITransport: Sendable {
    /// Where requests go, for messages: `fleet at http://HOST:PORT`.
    var place: String { get }
    /// Sends `method` to `path` (below `/fleet/v1`, already escaped) with `query` and a JSON `body`.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?) async throws -> FleetAPIResponse
    /// Releases connections.
    func shutdown() async
}

/// fleet's API over HTTP with otto's one HTTP client (libcurl): retries of idempotent requests, connection reuse,
/// requests counted under the provider's name.
struct FleetHTTPTransport: FleetAPITransport {
    /// The API root, without `/fleet/v1`.
    let root: String
    let client: HTTPClient
    let label: String

    var place: String { "fleet at \(root)" }

    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?) async throws -> FleetAPIResponse {
        var headers = ["Accept": "application/json"]
        if body != nil { headers["Content-Type"] = "application/json" }
        let request = HTTPRequest(method: method, url: root + "/fleet/v1" + path + FleetAPIText.queryString(query), headers: headers,
                                  body: body ?? [], label: label)
        do {
            let response = try await client.send(request)
            return FleetAPIResponse(status: response.status, body: response.body, message: "")
        } catch let error as HTTPError where error.code == "http.status" {
            return FleetAPIResponse(status: error.status ?? 0, body: [], message: FleetAPIText.clean(error.message))
        } catch let error as HTTPError {
            throw OttoError("provider.fleet.unreachable",
                            "could not reach \(place): \(method) \(FleetAPIText.display(path)): \(error.message); is fleetd's API listening there?",
                            causeText: error.description)
        }
    }

    func shutdown() async {}
}

/// Text helpers shared by the transports and the API.
enum FleetAPIText {
    /// `?a=b&c=d` with values escaped (empty for no query).
    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?" + query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    /// One path segment escaped (a unit name: `@` and `\` included).
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A path as people read it (escapes undone).
    static func display(_ path: String) -> String { path.removingPercentEncoding ?? path }

    /// fleet's message from an error body: the `message` of `{"error": {"code": N, "message": …}}` (or another JSON
    /// error shape `HTTPError` knows), else a short account of the body. Never the raw body, never a crash.
    static func message(fromBody body: [UInt8]) -> String {
        clean(HTTPError.serverMessage(from: body))
    }

    /// A server message made fit for an error: its first line, at most 200 characters; an HTML page is named, not
    /// shown.
    static func clean(_ message: String) -> String {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("<") { return "the answer was an HTML page, not fleet's JSON error" }
        let line = trimmed.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.count > 200 ? String(line.prefix(200)) + "…" : line
    }

    /// `409 Conflict`: the status with its reason phrase.
    static func status(_ code: Int) -> String {
        let reasons = [
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type",
            429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout",
        ]
        return reasons[code].map { "\(code) \($0)" } ?? "HTTP \(code)"
    }
}
