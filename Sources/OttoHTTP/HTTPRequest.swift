import Foundation

/// An HTTP method.
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The method token, upper case (`GET`).
    public let rawValue: String
    /// Creates a method from its token (upper-cased).
    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
    /// Creates a method from a literal.
    public init(stringLiteral value: String) { self.init(rawValue: value) }

    /// `GET`
    public static let get: HTTPMethod = "GET"
    /// `HEAD`
    public static let head: HTTPMethod = "HEAD"
    /// `POST`
    public static let post: HTTPMethod = "POST"
    /// `PUT`
    public static let put: HTTPMethod = "PUT"
    /// `PATCH`
    public static let patch: HTTPMethod = "PATCH"
    /// `DELETE`
    public static let delete: HTTPMethod = "DELETE"
    /// `OPTIONS`
    public static let options: HTTPMethod = "OPTIONS"

    /// True for methods whose repetition has the same effect as one call (GET, HEAD, PUT, DELETE, OPTIONS).
    public var isIdempotent: Bool { ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(rawValue) }

    public var description: String { rawValue }
}

/// One HTTP request.
public struct HTTPRequest: Sendable {
    /// The method.
    public var method: HTTPMethod
    /// The absolute URL (`http://127.0.0.1:8081/api/v1/...`).
    public var url: String
    /// Request headers. They may carry credentials, so they never appear in errors or logs.
    public var headers: [String: String]
    /// The request body (empty for none).
    public var body: [UInt8]
    /// Total time allowed for one attempt; nil uses the client's default.
    public var timeout: Duration?
    /// Whether the request may be retried after a failure the server may already have acted on
    /// (other 5xx, timeouts, dropped connections). Defaults from the method.
    public var idempotent: Bool
    /// The bucket every attempt of this request takes a token from (one per provider account); nil for none.
    public var limiter: RateLimiter?
    /// What the client counts this request under (`HTTPClient.requestCounts`), usually the provider's name.
    public var label: String?
    /// Retries for this request; nil uses the client's policy.
    public var retry: RetryPolicy?
    /// Signs every attempt just before it is sent (after it got its rate-limit token), so a request that waited long
    /// for its bucket or a retry never goes out with a stale signature (AWS SigV4). Nil for none.
    public var signer: (any HTTPRequestSigner)?

    /// Creates a request; `idempotent` defaults from the method.
    public init(method: HTTPMethod = .get, url: String, headers: [String: String] = [:], body: [UInt8] = [],
                timeout: Duration? = nil, idempotent: Bool? = nil, limiter: RateLimiter? = nil, label: String? = nil,
                signer: (any HTTPRequestSigner)? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.idempotent = idempotent ?? method.isIdempotent
        self.limiter = limiter
        self.label = label
        self.signer = signer
    }

    /// Creates a request whose body is `value` encoded as JSON (sets `Content-Type: application/json`).
    public static func json<T: Encodable>(_ method: HTTPMethod, url: String, body value: T, headers: [String: String] = [:],
                                          timeout: Duration? = nil, idempotent: Bool? = nil, limiter: RateLimiter? = nil,
                                          label: String? = nil) throws -> HTTPRequest {
        let data = try JSONEncoder().encode(value)
        var all = headers
        all["Content-Type"] = "application/json"
        return HTTPRequest(method: method, url: url, headers: all, body: Array(data), timeout: timeout, idempotent: idempotent,
                           limiter: limiter, label: label)
    }
}

/// Adds authentication that depends on the moment of sending (a signature over the request and a timestamp).
public protocol HTTPRequestSigner: Sendable {
    /// Returns `request` with its authentication headers set for sending at `date`.
    func sign(_ request: HTTPRequest, at date: Date) -> HTTPRequest
}
