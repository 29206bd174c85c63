import Crypto
import Foundation
import OttoCore
import OttoHTTP

/// Calls to DigitalOcean's API v2 for one provider instance.
///
/// The token travels only in the `Authorization: Bearer` header and is scrubbed from every error text. Every request
/// takes a token from the account's shared `RateLimiter` and is counted under the provider's name, and says
/// explicitly whether it may be retried after an ambiguous failure.
struct DigitalOceanAPI: Sendable {
    let providerName: String
    /// `https://api.digitalocean.com` (without `/v2`).
    let root: String
    let token: String
    let client: HTTPClient
    let limiter: RateLimiter
    let timeout: Duration?

    /// Items per page of every list call (the API's maximum).
    static let perPage = 200

    init(providerName: String, endpoint: String, token: String, client: HTTPClient, limiter: RateLimiter, timeout: Duration?) {
        var root = endpoint.trimmingCharacters(in: .whitespaces)
        while root.hasSuffix("/") { root.removeLast() }
        if root.hasSuffix("/v2") { root.removeLast(3) }
        self.providerName = providerName
        self.root = root
        self.token = token
        self.client = client
        self.limiter = limiter
        self.timeout = timeout
    }

    /// The rate-limit account of a token: `digitalocean:` and the first 16 hex digits of its SHA-256 (never the token).
    static func account(token: String) -> String {
        "digitalocean:" + SHA256.hash(data: Data(token.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    private var headers: [String: String] { ["Authorization": "Bearer \(token)", "Accept": "application/json"] }

    func url(_ path: String, query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return root + path }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        let text = query.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
        return root + path + "?" + text
    }

    /// Escapes one path segment.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Sends a request without body; throws `HTTPError` as is.
    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], idempotent: Bool) async throws -> HTTPResponse {
        var request = HTTPRequest(method: method, url: url(path, query: query), headers: headers, timeout: timeout,
                                  idempotent: idempotent, limiter: limiter, label: providerName)
        request.retry = .cloudAPI
        return try await client.send(request)
    }

    /// Sends a JSON body; throws `HTTPError` as is.
    func send<Body: Encodable>(_ method: HTTPMethod, _ path: String, body: Body, idempotent: Bool) async throws -> HTTPResponse {
        var request = try HTTPRequest.json(method, url: url(path), body: body, headers: headers, timeout: timeout,
                                           idempotent: idempotent, limiter: limiter, label: providerName)
        request.retry = .cloudAPI
        return try await client.send(request)
    }

    /// GETs `path` and decodes it.
    func get<T: Decodable>(_ type: T.Type, _ path: String, query: [(String, String)] = []) async throws -> T {
        try Self.decode(type, from: try await send(.get, path, query: query, idempotent: true))
    }

    static func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse, itemsKey: String? = nil) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        if let itemsKey { decoder.userInfo[DigitalOceanModel.itemsKey] = itemsKey }
        do {
            return try decoder.decode(type, from: Data(response.body))
        } catch {
            throw OttoError("provider.digitalocean.response", "DigitalOcean sent a response otto cannot read (\(T.self))", cause: error)
        }
    }

    /// Every item of a paginated list, `per_page=200`: the first page tells the total, the other pages are fetched
    /// concurrently (at most 4 at a time). Items are returned in page order. When the total changes between pages
    /// (something was made or deleted meanwhile, so items may have shifted across a page boundary), the list is read
    /// again (twice at most): a droplet missed that way would look deleted and be made twice.
    func list<Item: Decodable & Sendable>(_ type: Item.Type, _ path: String, key: String, query: [(String, String)] = []) async throws -> [Item] {
        var attempt = 0
        while true {
            attempt += 1
            let (items, consistent) = try await listOnce(type, path, key: key, query: query)
            if consistent || attempt >= 3 { return items }
        }
    }

    private func listOnce<Item: Decodable & Sendable>(_ type: Item.Type, _ path: String, key: String,
                                                      query: [(String, String)]) async throws -> (items: [Item], consistent: Bool) {
        func page(_ number: Int) async throws -> DigitalOceanModel.Page<Item> {
            let response = try await send(.get, path, query: query + [("page", String(number)), ("per_page", String(Self.perPage))],
                                          idempotent: true)
            return try Self.decode(DigitalOceanModel.Page<Item>.self, from: response, itemsKey: key)
        }
        let first = try await page(1)
        if first.links?.pages?.next == nil { return (first.items, true) }
        guard let total = first.meta?.total else {
            // No total: follow the pages one by one.
            var items = first.items
            var number = 1
            var current = first
            while current.links?.pages?.next != nil, number < 10_000 {
                number += 1
                current = try await page(number)
                items += current.items
            }
            return (items, true)
        }
        let pages = max(1, (total + Self.perPage - 1) / Self.perPage)
        var results: [Int: [Item]] = [1: first.items]
        var consistent = true
        try await withThrowingTaskGroup(of: (Int, DigitalOceanModel.Page<Item>).self) { group in
            var next = 2
            func addNext() {
                guard next <= pages else { return }
                let number = next
                next += 1
                group.addTask { (number, try await page(number)) }
            }
            for _ in 0..<4 { addNext() }
            while let (number, fetched) = try await group.next() {
                results[number] = fetched.items
                if let other = fetched.meta?.total, other != total { consistent = false }
                addNext()
            }
        }
        return ((1...pages).flatMap { results[$0] ?? [] }, consistent)
    }

    // MARK: - Errors

    /// True when the server may have carried out a request whose answer was lost: a timeout, a dropped connection, a
    /// 5xx (a 429 or 503 that outlasted the retries was not carried out, but looking is harmless).
    static func isAmbiguous(_ error: any Error) -> Bool {
        guard let http = error as? HTTPError else { return false }
        switch http.code {
        case "http.timeout", "http.transport", "http.connect": return true
        case "http.status": return (http.status ?? 0) >= 500 || http.status == 429
        default: return false
        }
    }

    /// The 4xx status of a definitive refusal, when `error` is one.
    static func status(_ error: any Error) -> Int? { (error as? HTTPError)?.status }

    /// Turns a failure into an `OttoError` with DigitalOcean's own message and status, never the token:
    /// "DigitalOcean refused to ACTION: HTTP 422: MESSAGE".
    func wrap(_ error: any Error, doing action: String) -> any Error {
        if let otto = error as? OttoError { return scrub(otto) }
        guard let http = error as? HTTPError else { return error }
        let cause = scrub(http.description)
        let message = scrub(http.message)
        switch (http.code, http.status) {
        case (_, 401?), (_, 403?):
            return OttoError("provider.digitalocean.auth",
                             "DigitalOcean refused to \(action): HTTP \(http.status!)\(message.isEmpty ? "" : ": " + message); check the token of provider '\(providerName)' (token_env / token_file) and its scopes",
                             causeText: cause)
        case ("http.status", let status?):
            let detail = message.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(message)"
            let code = status == 429 ? "provider.digitalocean.rate_limited" : "provider.digitalocean.http"
            return OttoError(code, "DigitalOcean refused to \(action): \(detail)", causeText: cause)
        default:
            return OttoError("provider.digitalocean.unreachable",
                             "could not reach DigitalOcean at \(root) to \(action): \(message)", causeText: cause)
        }
    }

    /// `text` with the token replaced.
    func scrub(_ text: String) -> String {
        guard !token.isEmpty else { return text }
        return text.replacingOccurrences(of: token, with: "[token]")
    }

    private func scrub(_ error: OttoError) -> OttoError {
        OttoError(error.code, scrub(error.message), causeText: error.cause.map(scrub))
    }
}
