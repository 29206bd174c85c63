import HTTPTypes
import OttoCore
import Synchronization

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
    /// The name of the token that was checked (nil on open routes): who did it, for the ledgers.
    var tokenName: String? = nil
    /// A body the handler answers with as the server stored it (see ``APIHandlers/stored(_:)``).
    let storedAnswer = StoredAnswer()

    @TaskLocal static var current: APIRequestContext?

    /// The context of the request being answered.
    static func get() throws(APIError) -> APIRequestContext {
        guard let current else {
            throw APIError(.internalServerError, "internal", "the request context is missing")
        }
        return current
    }
}

/// The bytes of a JSON body the server rendered earlier (desired state's read answers), set by a handler and sent by
/// ``RequestMiddleware`` in place of what the generated layer encoded: the generated serializer would decode and
/// encode every stored body again (that was most of the time of a `GET /inv/{item}`).
final class StoredAnswer: Sendable {
    private let bytes = Mutex<[UInt8]?>(nil)

    /// Answers with `bytes`.
    func set(_ bytes: [UInt8]) { self.bytes.withLock { $0 = bytes } }

    /// The bytes set, if any.
    func take() -> [UInt8]? { bytes.withLock { $0.take() } }
}
