import HTTPTypes
import Hummingbird
import NIOCore
import OttoCore

/// Answers the hot read routes (`GET /inv`, `GET /inv/{item}`, `GET /dom/ns/{domain}`, `GET /dom/dns/{domain}`) from
/// the bytes desired state stored for them, before the generated OpenAPI layer. That layer turns each request and
/// response into its own types and streams the body through an async sequence: for a lookup of stored bytes it was
/// most of the cost (bench/api GETs fell from 45.8k/s to 21–22k/s when the API moved onto it).
///
/// Only a plain success is answered here: a valid token with the route's scope, no query string, a path parameter
/// without percent-escapes, and an item that exists. Anything else (a missing or wrong token, a query, a 404) goes on
/// to the generated route, which gives the one error answer. The answer is the same as the generated route's (status,
/// `Content-Type`, `Content-Length`, body): `StoredReadTests` compares both on every route.
struct StoredReadMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    /// One route answered from stored bytes.
    struct Route: Sendable {
        /// The operation of the document (its scope is the one checked).
        let operation: APIOperation
        /// The stored answer for the path parameter (nil for a route without one); nil when there is none.
        let lookup: @Sendable (DesiredStateAPI.Snapshot, Substring?) -> [UInt8]?
    }

    let desired: DesiredStateAPI
    let configuration: APIServerConfiguration
    /// By the router's endpoint path (`/inv/{item}`), which is the document's path template.
    let routes: [String: Route]

    init(desired: DesiredStateAPI, configuration: APIServerConfiguration) {
        self.desired = desired
        self.configuration = configuration
        var routes: [String: Route] = [:]
        func add(_ id: String, _ lookup: @escaping @Sendable (DesiredStateAPI.Snapshot, Substring?) -> [UInt8]?) {
            guard let operation = OpenAPIDocument.operationsByID[id] else { return }
            routes[Self.endpoint(operation.path)] = Route(operation: operation, lookup: lookup)
        }
        add("listInventory") { snapshot, _ in snapshot.inventoryBody }
        add("getHost") { snapshot, name in name.flatMap { snapshot.hostBodies[String($0)] } }
        add("getNameservers") { snapshot, domain in Self.domain(domain).flatMap { snapshot.nameserverBodies[$0] } }
        add("getRecords") { snapshot, domain in Self.domain(domain).flatMap { snapshot.recordBodies[$0] } }
        self.routes = routes
    }

    /// The operations answered here.
    var operationIDs: Set<String> { Set(routes.values.map(\.operation.id)) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, request.uri.query == nil, let endpoint = context.endpointPath,
              let route = routes[endpoint] else {
            return try await next(request, context)
        }
        let parameter = context.parameters.first?.value
        if let parameter, parameter.utf8.contains(UInt8(ascii: "%")) { return try await next(request, context) }
        let scope = configuration.openPaths.contains(route.operation.path) ? nil : route.operation.scope
        do {
            _ = try Authorization.check(request.headers, needs: scope, tokens: configuration.tokens)
        } catch {
            return try await next(request, context)
        }
        guard let bytes = route.lookup(desired.snapshot, parameter) else { return try await next(request, context) }
        var headers = HTTPFields()
        headers[.contentType] = Responses.jsonType
        headers[.contentLength] = String(bytes.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A document path template as the router names its endpoint: no trailing slash.
    static func endpoint(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The normalized domain, or nil for an invalid one (the generated route answers that 400).
    static func domain(_ text: Substring?) -> String? {
        text.flatMap { DNSPresentation.normalizedDomain(String($0)) }
    }
}
