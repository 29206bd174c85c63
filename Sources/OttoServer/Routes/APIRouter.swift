import OttoCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime

/// Everything a handler may use.
struct APIEnvironment: Sendable {
    let configuration: APIServerConfiguration
    let desired: DesiredStateAPI
    let runs: any RunService
    let walks: any WalkService
    let releases: any ReleaseLedger
    let deployments: any DeployLedger
    let metrics: @Sendable () async -> String
    let statusPage: @Sendable () async -> String
    let health: @Sendable () async -> DatabaseHealth?
    let logger: Logger
}

/// Builds the Hummingbird router: the routes and types swift-openapi-generator makes from openapi.yaml, registered
/// with ``APIHandlers`` behind ``RequestMiddleware`` (auth, query, body), ``StoredReadMiddleware`` in front of them (the
/// hot reads' successes, from stored bytes), and ``FallbackMiddleware`` around all of it (JSON errors, 404 and 405).
enum APIRouter {
    /// How the generated code encodes: compact JSON with sorted keys, dates in ISO 8601 with milliseconds.
    static let configuration = Configuration(dateTranscoder: .iso8601WithFractionalSeconds,
                                             jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])

    static func build(_ env: APIEnvironment) throws -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: FallbackMiddleware(logger: env.logger))
        if env.configuration.storedReads {
            router.add(middleware: StoredReadMiddleware(desired: env.desired, configuration: env.configuration))
        }
        try APIHandlers(environment: env).registerHandlers(
            on: router, serverURL: Servers.Server1.url(), configuration: configuration,
            middlewares: [RequestMiddleware(configuration: env.configuration, logger: env.logger)])
        return router
    }
}

/// Turns every error into the API's JSON error answer, so no answer is ever Hummingbird's bare default:
/// - an ``APIError`` from a handler or from ``RequestMiddleware`` (with its headers: `WWW-Authenticate`, `Allow`);
/// - a request the generated code could not decode (a parameter of the wrong type, ...): 400 `request.invalid`;
/// - no route: 405 with `Allow` when the path exists with other methods, else 404.
struct FallbackMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as ServerError {
            if let answer = error.underlyingError as? APIError {
                if answer.status.code >= 500 {
                    logger.error("api error", metadata: ["operation": "\(error.operationID)", "code": "\(answer.code)", "message": "\(answer.message)"])
                }
                return Responses.error(answer)
            }
            return Responses.error(APIError(.badRequest, "request.invalid", "the request does not fit the API: \(error.causeDescription)"))
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = APIOperation.methods(at: request.uri.path)
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

/// Error answers.
enum Responses {
    static let jsonType = "application/json; charset=utf-8"

    static func error(_ error: APIError) -> Response {
        var headers = error.headers
        headers[.contentType] = jsonType
        return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: error.json.buffer))
    }
}
