import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime
import OttoCore

/// The checks every operation of the generated API goes through before its handler, driven by the operation as the
/// OpenAPI document describes it (``APIOperation``):
/// - the token (401 `auth.missing` / `auth.invalid` with both `WWW-Authenticate` challenges, 403 `auth.scope`);
/// - the query string: malformed escapes (400 `query.malformed`), names the operation does not take
///   (`query.unknown`), a name given twice that is not an array (`query.repeated`), a required one missing
///   (`query.missing`);
/// - path parameters with malformed percent-escapes (400 `path.invalid`);
/// - the body, for operations that take one: at most `maxBodyBytes` (413), JSON (415), well-formed (400
///   `body.malformed` with `api:PATH:LINE:COL`), present when required (400 `body.missing`).
/// Then the handler runs with an ``APIRequestContext``. Writes are logged with the token's name, never its secret.
struct RequestMiddleware: ServerMiddleware {
    let configuration: APIServerConfiguration
    let logger: Logger

    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?)
    {
        guard let operation = OpenAPIDocument.operationsByID[operationID] else {
            throw APIError(.internalServerError, "internal", "operation \(operationID) is not in the document")
        }
        let scope = configuration.openPaths.contains(operation.path) ? nil : operation.scope
        let token = try Authorization.check(request.headerFields, needs: scope, tokens: configuration.tokens)
        let (path, queryText) = Self.split(request.path ?? "/")
        let query = try QueryParameters(queryText)
        try query.check(allowed: Set(operation.query.map(\.name)),
                        repeatable: Set(operation.query.filter(\.repeatable).map(\.name)))
        for parameter in operation.query where parameter.required && query[parameter.name] == nil {
            throw APIError.badRequest("query.missing", "give the query parameter `\(parameter.name)`: \(parameter.description)")
        }
        for (_, raw) in metadata.pathParameters where raw.utf8.contains(UInt8(ascii: "%")) {
            guard let decoded = raw.removingPercentEncoding, !decoded.isEmpty else {
                throw APIError.badRequest("path.invalid", "malformed percent-escape in the path")
            }
        }
        var bytes: [UInt8] = []
        if let required = operation.bodyRequired {
            bytes = try await read(body, request)
            if bytes.isEmpty, required {
                throw APIError.badRequest("body.missing", "this request needs a JSON body")
            }
            if !bytes.isEmpty {
                do {
                    _ = try JSONNode.parse(bytes, file: SourceLocation.apiPrefix + (path.removingPercentEncoding ?? path))
                } catch {
                    let lines = error.diagnostics.map(\.description)
                    throw APIError(.badRequest, "body.malformed", lines.joined(separator: "; "), details: lines)
                }
            }
        }
        // The server answers in its one format whatever the client accepts, as it always has: the generated
        // serializer would otherwise refuse a request whose Accept header names none of the document's media types.
        var forwarded = request
        forwarded.headerFields[.accept] = nil
        let context = APIRequestContext(operation: operation, request: request, query: query, body: bytes, tokenName: token?.name)
        var answer = try await APIRequestContext.$current.withValue(context) {
            try await next(forwarded, bytes.isEmpty ? nil : HTTPBody(bytes), metadata)
        }
        // The runtime writes header values URI-encoded (OpenAPI's `simple` style: `/` becomes `%2F`); a `Location` is
        // already a URI reference (`/inv/web1`), so it is sent as the handler gave it.
        if let location = answer.0.headerFields[.location], let plain = location.removingPercentEncoding {
            answer.0.headerFields[.location] = plain
        }
        if let stored = context.storedAnswer.take(), answer.0.status.kind == .successful {
            answer.0.headerFields[.contentLength] = String(stored.count)
            answer.1 = HTTPBody(stored)
        }
        if operationID == OpenAPIDocument.operationID, answer.0.status == .ok {
            // The document exactly as written from openapi.yaml, not its re-encoding by the generated serializer.
            var response = answer.0
            response.headerFields[.contentLength] = String(OpenAPIDocument.text.utf8.count)
            return (response, HTTPBody(OpenAPIDocument.text))
        }
        if let token, request.method != .get {
            logger.info("api write", metadata: ["route": "\(operation)", "token": "\(token.name)", "status": "\(answer.0.status.code)"])
        }
        return answer
    }

    /// The path and the query string of a request target.
    static func split(_ target: String) -> (path: String, query: String?) {
        guard let mark = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    /// The body, at most `maxBodyBytes`; 413 when larger, 415 when it is not JSON.
    func read(_ body: HTTPBody?, _ request: HTTPRequest) async throws(APIError) -> [UInt8] {
        let limit = configuration.maxBodyBytes
        if let length = request.headerFields[.contentLength].flatMap({ Int($0) }), length > limit { throw Self.tooLarge(limit) }
        guard let body else { return [] }
        var bytes: [UInt8] = []
        do {
            for try await chunk in body {
                guard bytes.count + chunk.count <= limit else { throw Self.tooLarge(limit) }
                bytes += chunk
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("body.unreadable", "the request body could not be read")
        }
        if !bytes.isEmpty, let type = request.headerFields[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "body.media_type", "the body must be JSON (Content-Type: application/json), got \(JSONQuoted(type))")
        }
        return bytes
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body.too_large", "the request body is larger than \(limit) bytes")
    }
}
