import HTTPTypes
import Foundation

/// The bearer-token check every operation goes through (in ``RequestMiddleware``).
enum Authorization {
    /// The token of `request` when `scope` is needed: 401 (`auth.missing`, `auth.invalid`) without a valid
    /// `Authorization: Bearer SECRET`, 403 (`auth.scope`) when the token's scope is too small. Nil for open routes.
    static func check(_ headers: HTTPFields, needs scope: Scope?, tokens: TokenSet) throws(APIError) -> TokenSet.Token? {
        guard let scope else { return nil }
        guard let header = headers[.authorization] else {
            throw APIError(.unauthorized, "auth.missing", "this route needs a bearer token (Authorization: Bearer SECRET)",
                           headers: challenge(invalid: false))
        }
        // `Bearer SECRET`, the scheme case-insensitive; read from the bytes (this runs on every request).
        let bytes = Array(header.utf8)
        var start = 0
        let scheme = Array("bearer".utf8)
        if bytes.count > 6, zip(bytes, Array("basic ".utf8)).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) {
            return try basic(bytes[6...], needs: scope, tokens: tokens)
        }
        guard bytes.count > scheme.count, zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }) else {
            throw APIError(.unauthorized, "auth.invalid", "the bearer token is not valid", headers: challenge(invalid: true))
        }
        start = scheme.count
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        var end = bytes.count
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard start > scheme.count, end > start, let token = tokens.verify(bytes[start..<end]) else {
            throw APIError(.unauthorized, "auth.invalid", "the bearer token is not valid", headers: challenge(invalid: true))
        }
        guard token.scope.allows(scope) else {
            throw APIError(.forbidden, "auth.scope", "token `\(token.name)` has scope \(token.scope.rawValue); this route needs \(scope.rawValue)")
        }
        return token
    }

    /// HTTP Basic with a token as the password (any user name), so a browser can open the status page: it asks once
    /// and sends the same header with every request.
    private static func basic(_ encoded: ArraySlice<UInt8>, needs scope: Scope, tokens: TokenSet) throws(APIError) -> TokenSet.Token {
        let text = String(decoding: encoded, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: text), let colon = data.firstIndex(of: UInt8(ascii: ":")),
              let token = tokens.verify(Array(data[data.index(after: colon)...])[...]) else {
            throw APIError(.unauthorized, "auth.invalid", "the token (the password of HTTP Basic) is not valid", headers: challenge(invalid: true))
        }
        guard token.scope.allows(scope) else {
            throw APIError(.forbidden, "auth.scope", "token `\(token.name)` has scope \(token.scope.rawValue); this route needs \(scope.rawValue)")
        }
        return token
    }

    /// Both schemes: API clients use Bearer, browsers prompt for Basic (a token as the password).
    static func challenge(invalid: Bool) -> HTTPFields {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .wwwAuthenticate, value: invalid ? "Bearer realm=\"otto\", error=\"invalid_token\"" : "Bearer realm=\"otto\""))
        fields.append(HTTPField(name: .wwwAuthenticate, value: "Basic realm=\"otto\", charset=\"UTF-8\""))
        return fields
    }
}
