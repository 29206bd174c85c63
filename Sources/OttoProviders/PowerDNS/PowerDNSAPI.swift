import Foundation
import OttoCore
import OttoHTTP

/// Calls to one PowerDNS server's HTTP API. The key travels only in the `X-API-Key` header.
struct PowerDNSAPI: Sendable {
    let providerName: String
    let root: String
    let serverID: String
    let apiKey: String
    let client: HTTPClient
    let patchCounter = Counter()

    init(providerName: String, baseURL: String, serverID: String, apiKey: String, client: HTTPClient) {
        var root = baseURL
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/api/v1") { root.removeLast("/api/v1".count) }
        self.providerName = providerName
        self.root = root
        self.serverID = serverID
        self.apiKey = apiKey
        self.client = client
    }

    /// `ROOT/api/v1/servers/SID` + `path`.
    func url(_ path: String) -> String { "\(root)/api/v1/servers/\(Self.segment(serverID))\(path)" }

    /// `/zones/ID` with the id escaped as one path segment.
    static func zonePath(_ id: String) -> String { "/zones/" + segment(id) }

    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Sends a request with the key and JSON headers; throws `HTTPError` as is.
    func send(_ method: HTTPMethod, _ path: String, idempotent: Bool? = nil) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: method, url: url(path), headers: headers, idempotent: idempotent, label: providerName))
    }

    /// Sends a JSON body; throws `HTTPError` as is.
    func send<Body: Encodable>(_ method: HTTPMethod, _ path: String, body: Body, idempotent: Bool? = nil) async throws -> HTTPResponse {
        try await client.send(.json(method, url: url(path), body: body, headers: headers, idempotent: idempotent, label: providerName))
    }

    /// PATCHes rrset changes into a zone. REPLACE and DELETE are idempotent, so the PATCH may be retried.
    func patch(zone: String, _ rrsets: [PowerDNSModel.RRSet]) async throws {
        patchCounter.increment()
        _ = try await send(.patch, Self.zonePath(zone), body: PowerDNSModel.Patch(rrsets: rrsets), idempotent: true)
    }

    private var headers: [String: String] { ["X-API-Key": apiKey, "Accept": "application/json"] }

    /// Turns a failure into an `OttoError` an operator can act on (never containing the key).
    func wrap(_ error: any Error, doing action: String) -> any Error {
        guard let http = error as? HTTPError else { return error }
        let server = "PowerDNS at \(root)"
        switch (http.code, http.status) {
        case (_, 401?), (_, 403?):
            return OttoError("provider.powerdns.auth",
                             "\(server) rejected the API key while trying to \(action) (HTTP \(http.status!)\(http.message.isEmpty ? "" : ": " + http.message)); check the api key configured for provider '\(providerName)'",
                             causeText: http.description)
        case ("http.status", let status?):
            let detail = http.message.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(http.message)"
            return OttoError("provider.powerdns.http", "\(server) refused to \(action): \(detail)", causeText: http.description)
        default:
            return OttoError("provider.powerdns.unreachable",
                             "could not reach \(server) to \(action): \(http.message); is the API enabled and listening?",
                             causeText: http.description)
        }
    }
}

/// A thread-safe counter.
///
/// `@unchecked Sendable`: `value` is only touched under `lock`.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() { lock.lock(); value += 1; lock.unlock() }
    var current: Int { lock.lock(); defer { lock.unlock() }; return value }
}
