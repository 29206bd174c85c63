import Foundation

/// One request as the fake DigitalOcean sees it, independent of the HTTP server that received it.
public struct FakeHTTPRequest: Sendable {
    /// Upper-case method.
    public var method: String
    /// The path without query, percent-encoded as received (e.g. `/v2/droplets/12`).
    public var path: String
    /// The raw query string (without `?`), empty for none.
    public var rawQuery: String
    /// Header names lower-cased.
    public var headers: [String: String]
    /// The body.
    public var body: [UInt8]

    /// Creates a request.
    public init(method: String, path: String, rawQuery: String = "", headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method.uppercased()
        self.path = path
        self.rawQuery = rawQuery
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { _, last in last })
        self.body = body
    }

    /// Query parameters, percent-decoded (`+` as space); the last of repeated names wins.
    public var query: [String: String] {
        var out: [String: String] = [:]
        for pair in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(String(parts[0]))
            out[name] = parts.count > 1 ? Self.decode(String(parts[1])) : ""
        }
        return out
    }

    /// The path's segments, percent-decoded.
    public var segments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { Self.decode(String($0)) }
    }

    /// The body parsed as JSON (nil when empty or not JSON).
    public var json: JSONValue? { body.isEmpty ? nil : JSONValue.parse(body) }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}

/// What the fake answers, plus how the transport should misbehave (for fault injection).
public struct FakeHTTPResponse: Sendable {
    /// How the answer reaches the client.
    public enum Delivery: Sendable, Hashable {
        /// Normally.
        case normal
        /// Not at all: the connection is closed after the status line and headers, before the body.
        case drop
        /// After a delay (then the connection is dropped, since the client has long given up).
        case hang(seconds: Double)
    }

    /// The status code.
    public var status: Int
    /// Response headers (names as sent).
    public var headers: [String: String]
    /// The body (JSON, or empty for 204).
    public var body: [UInt8]
    /// How it is delivered.
    public var delivery: Delivery

    /// Creates a response.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], delivery: Delivery = .normal) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delivery = delivery
    }

    /// A JSON response.
    public static func json(_ status: Int, _ value: JSONValue) -> FakeHTTPResponse {
        FakeHTTPResponse(status: status, headers: ["Content-Type": "application/json; charset=utf-8"], body: value.bytes)
    }

    /// An error in DigitalOcean's shape: `{"id": ..., "message": ...}`.
    public static func error(_ status: Int, _ id: String, _ message: String) -> FakeHTTPResponse {
        json(status, ["id": .string(id), "message": .string(message)])
    }

    /// 204 No Content.
    public static var noContent: FakeHTTPResponse {
        FakeHTTPResponse(status: 204, headers: ["Content-Type": "application/json; charset=utf-8"])
    }

    /// 404 in DigitalOcean's words.
    public static var notFound: FakeHTTPResponse {
        error(404, "not_found", "The resource you were accessing could not be found.")
    }

    /// 422 with `message`.
    public static func unprocessable(_ message: String) -> FakeHTTPResponse {
        error(422, "unprocessable_entity", message)
    }

    /// The body parsed as JSON.
    public var json: JSONValue? { body.isEmpty ? nil : JSONValue.parse(body) }
}
