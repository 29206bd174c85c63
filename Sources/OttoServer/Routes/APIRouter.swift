import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OttoCore
import Foundation

/// Everything a route handler may use.
struct APIEnvironment: Sendable {
    let configuration: APIServerConfiguration
    let desired: DesiredStateAPI
    let runs: any RunService
    let walks: any WalkService
    let metrics: @Sendable () async -> String
    let statusPage: @Sendable () async -> String
    let logger: Logger
}

/// One request as a handler sees it: path parameters already percent-decoded, the query parsed, the body read on demand
/// (bounded by the configured limit).
struct APIRequest: Sendable {
    let request: Request
    let context: BasicRequestContext
    let environment: APIEnvironment
    let query: QueryParameters

    /// A path parameter, percent-decoded.
    func parameter(_ name: String) throws(APIError) -> String {
        guard let raw = context.parameters.get(name) else { throw APIError.badRequest("path.invalid", "missing path parameter `\(name)`") }
        if !raw.utf8.contains(UInt8(ascii: "%")) { return raw }
        guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
            throw APIError.badRequest("path.invalid", "malformed percent-escape in the path")
        }
        return decoded
    }

    /// A domain from the path, normalized (lowercase, no trailing dot); 400 `name.invalid` when it is not a valid name.
    func domain() throws(APIError) -> String {
        let text = try parameter("domain")
        guard let domain = DNSPresentation.normalizedDomain(text) else {
            throw APIError.badRequest("name.invalid", "invalid domain name \(JSONQuoted(text))")
        }
        return domain
    }

    /// The body, at most `maxBodyBytes`; empty when none was sent. 413 when larger, 415 when it is not JSON.
    func body() async throws(APIError) -> [UInt8] {
        let limit = environment.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Self.tooLarge(limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(limit)
        } catch {
            throw APIError.badRequest("body.unreadable", "the request body could not be read")
        }
        if buffer.readableBytes > 0, let type = request.headers[.contentType],
           !type.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "body.media_type", "the body must be JSON (Content-Type: application/json), got \(JSONQuoted(type))")
        }
        return Array(buffer.readableBytesView)
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body.too_large", "the request body is larger than \(limit) bytes")
    }
}

/// A route's handler.
typealias APIHandler = @Sendable (APIRequest) async throws(APIError) -> Response

/// Builds the Hummingbird router from ``RouteTable``: every route goes through the same wrapper, which checks the
/// token, parses the query, runs the handler and turns every error into a JSON answer.
enum APIRouter {
    static func build(_ env: APIEnvironment) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: FallbackMiddleware())
        for route in RouteTable.all {
            let handler = APIHandlers.handler(for: route)
            let scope = env.configuration.scope(of: route)
            router.on(RouterPath(stringLiteral: route.path), method: route.method) { request, context in
                await respond(route, scope: scope, request, context, env, handler)
            }
        }
        return router
    }

    static func respond(_ route: RouteSpec, scope: Scope?, _ request: Request, _ context: BasicRequestContext,
                        _ env: APIEnvironment, _ handler: APIHandler) async -> Response {
        do {
            let token = try Authorization.check(request, needs: scope, tokens: env.configuration.tokens)
            let query = try QueryParameters(request.uri.query)
            let response = try await handler(APIRequest(request: request, context: context, environment: env, query: query))
            if let token, request.method != .get {
                env.logger.info("api write", metadata: ["route": "\(route)", "token": "\(token.name)", "status": "\(response.status.code)"])
            }
            return response
        } catch {
            if error.status.code >= 500 {
                env.logger.error("api error", metadata: ["route": "\(route)", "code": "\(error.code)", "message": "\(error.message)"])
            }
            return Responses.error(error)
        }
    }
}

/// Answers what no route matched: 405 with `Allow` when the path exists with other methods, else 404; both as JSON.
/// Also turns any other error thrown below it into JSON, so no answer is ever Hummingbird's bare default.
struct FallbackMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = RouteTable.methods(at: request.uri.path)
            if !allowed.isEmpty {
                var headers = HTTPFields()
                headers[.allow] = allowed.joined(separator: ", ")
                return Responses.error(APIError(.methodNotAllowed, "method.not_allowed",
                                                "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))",
                                                headers: headers))
            }
            return Responses.error(APIError.notFound("no route \(request.method.rawValue) \(JSONQuoted(request.uri.path))"))
        } catch let error as any HTTPResponseError {
            let status = error.status.code >= 500 ? HTTPResponse.Status.badRequest : error.status
            return Responses.error(APIError(status, "request.invalid", "the request could not be handled (\(error.status.code))"))
        } catch {
            return Responses.error(APIError(.badRequest, "request.invalid", "the request could not be handled"))
        }
    }
}

/// Response builders.
enum Responses {
    static let jsonType = "application/json; charset=utf-8"

    static func json(_ status: HTTPResponse.Status, _ body: ByteBuffer, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = jsonType
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    static func json(_ status: HTTPResponse.Status, _ body: JSON, headers: HTTPFields = [:]) -> Response {
        json(status, body.buffer, headers: headers)
    }

    static func text(_ body: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func noContent() -> Response { Response(status: .noContent) }

    static func error(_ error: APIError) -> Response { json(error.status, error.json, headers: error.headers) }

    /// 201 with `Location` when `created`, else 200.
    static func written(_ created: Bool, _ body: ByteBuffer?, location: String) -> Response {
        var headers = HTTPFields()
        if created { headers[.location] = location }
        return json(created ? .created : .ok, body ?? JSON.object([]).buffer, headers: headers)
    }
}
