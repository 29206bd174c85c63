import HTTPTypes
import OttoCore

/// What ``RequestMiddleware`` learned about the request a handler is answering: its operation, the token that was
/// checked, the parsed query, and the body's bytes (the generated API decodes bodies only to check they are JSON;
/// the handlers read them with the configuration reader). Set as a task-local value around the handler, the way
/// swift-openapi-runtime passes request-scoped values from a middleware to a handler.
struct APIRequestContext: Sendable {
    /// The operation of the document being answered.
    let operation: APIOperation
    /// The request as received.
    let request: HTTPRequest
    /// The query string, parsed and checked against the operation's parameters.
    let query: QueryParameters
    /// The body (empty when none was sent; only read for operations that take one).
    let body: [UInt8]

    @TaskLocal static var current: APIRequestContext?

    /// The context of the request being answered.
    static func get() throws(APIError) -> APIRequestContext {
        guard let current else {
            throw APIError(.internalServerError, "internal", "the request context is missing")
        }
        return current
    }
}
