import HTTPTypes
import Foundation
import Hummingbird

/// The bearer-token check every route goes through.
enum Authorization {
    /// The token of `request` when `scope` is needed: 401 (`auth.missing`, `auth.invalid`) without a valid
    /// `Authorization: Bearer SECRET`, 403 (`auth.scope`) when the token's scope is too small. Nil for open routes.
    static func check(_ request: Request, needs scope: Scope?, tokens: TokenSet) throws(APIError) -> TokenSet.Token? {
        guard let scope else { return nil }
        var challenge = HTTPFields()
        challenge[.wwwAuthenticate] = "Bearer realm=\"otto\""
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "auth.missing", "this route needs a bearer token (Authorization: Bearer SECRET)",
                           headers: challenge)
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let token = tokens.verify(parts[1].trimmingCharacters(in: .whitespaces)) else {
            challenge[.wwwAuthenticate] = "Bearer realm=\"otto\", error=\"invalid_token\""
            throw APIError(.unauthorized, "auth.invalid", "the bearer token is not valid", headers: challenge)
        }
        guard token.scope.allows(scope) else {
            throw APIError(.forbidden, "auth.scope", "token `\(token.name)` has scope \(token.scope.rawValue); this route needs \(scope.rawValue)")
        }
        return token
    }
}
