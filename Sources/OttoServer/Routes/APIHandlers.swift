import Foundation
import Logging
import OttoCore

/// The handlers of the API: an implementation of the `APIProtocol` swift-openapi-generator makes from openapi.yaml,
/// one method per operation (`registerHandlers(on:)` routes to them). ``RequestMiddleware`` has checked the token, the
/// query and the body by then; errors are thrown as ``APIError`` and answered as JSON by ``FallbackMiddleware``.
struct APIHandlers: APIProtocol {
    let environment: APIEnvironment

    var desired: DesiredStateAPI { environment.desired }

    /// The body's bytes (see ``APIRequestContext``).
    func body() throws(APIError) -> [UInt8] { try APIRequestContext.get().body }

    /// A JSON body the server rendered earlier, answered as stored: the generated layer encodes the `null` returned here
    /// and ``RequestMiddleware`` sends `bytes` instead (with their length), for a success status.
    func stored(_ bytes: [UInt8]) throws(APIError) -> JSON {
        try APIRequestContext.get().storedAnswer.set(bytes)
        return .null
    }

    /// A domain from the path, normalized (lowercase, no trailing dot); 400 `name.invalid` when it is not a valid name.
    static func domain(_ text: String) throws(APIError) -> String {
        guard let domain = DNSPresentation.normalizedDomain(text) else {
            throw APIError.badRequest("name.invalid", "invalid domain name \(JSONQuoted(text))")
        }
        return domain
    }

    /// Runs a service call, mapping what it throws to an answer.
    static func call<T: Sendable>(_ body: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await body()
        } catch {
            throw APIError.from(error)
        }
    }
}
