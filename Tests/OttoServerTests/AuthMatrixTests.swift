import Foundation
import HTTPTypes
import OttoServer
import OttoTestSupport
import Testing

/// Every route × no token / a bad token / a read token / a write token.
@Suite struct AuthMatrixTests {
    /// A concrete request for each route (a harmless one: the point is the auth answer, not the route's work).
    static func sample(_ route: APIOperation) -> (uri: String, body: String?) {
        var uri = route.path.replacingOccurrences(of: "{item}", with: "web9")
            .replacingOccurrences(of: "{domain}", with: "example.org").replacingOccurrences(of: "{site}", with: "blog")
            .replacingOccurrences(of: "{walkid}", with: "w1").replacingOccurrences(of: "{id}", with: "1")
            .replacingOccurrences(of: "{app}", with: "hello")
        switch (route.method, route.path) {
        case (.post, "/dom/ns/{domain}"): uri += "?ns=ns1.example.net."
        case (.put, "/dom/dns/{domain}"): uri += "?rec=www+A+192.0.2.1"
        case (.put, "/site/walk/{site}"): uri += "?params=every%3D1m"
        case (.get, "/v1/approvals"): uri += "?app=hello&environment=default"
        default: break
        }
        let body: String? = switch (route.method, route.path) {
        case (.post, "/inv/{item}"): "{}"
        case (.post, "/v1/plan"), (.post, "/v1/apply"): "{}"
        case (.post, "/v1/artifacts"): #"{"name": "hello", "version": "1.0.0", "digest": "\#(String(repeating: "ab", count: 32))"}"#
        case (.post, "/v1/deployments"): #"{"artifact": 1, "environment": "default"}"#
        case (.patch, "/v1/deployments/{id}"): #"{"state": "STARTED"}"#
        case (.post, "/v1/approvals"): #"{"app": "hello", "environment": "default", "version": "1.0.0", "digest": "\#(String(repeating: "ab", count: 32))"}"#
        default: nil
        }
        return (uri, body)
    }

    @Test func matrix() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            for route in APIOperation.all {
                let (uri, body) = Self.sample(route)
                for caller in Caller.allCases {
                    let r = try await c.call(route.method, uri, as: caller, body: body)
                    let expected: Set<Int>
                    switch (route.scope, caller) {
                    case (nil, _): expected = [200]
                    case (_, .anonymous), (_, .badToken), (_, .browserBadToken): expected = [401]
                    case (.write?, .reader), (.write?, .browserReader): expected = [403]
                    default: expected = [200, 201, 202, 204, 404]
                    }
                    #expect(expected.contains(r.status.code), "\(route) as \(caller): \(r.status.code) \(r.text)")
                    if r.status.code == 401 {
                        // Both challenges: API clients use Bearer, a browser prompts for Basic.
                        #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                        #expect(r.headers[values: .wwwAuthenticate].contains { $0.hasPrefix("Basic realm=\"otto\"") })
                        #expect(r.errorCode == (caller == .anonymous ? "auth.missing" : "auth.invalid"))
                    }
                    if r.status.code == 403 { #expect(r.errorCode == "auth.scope") }
                    #expect(!r.text.contains(TestTokens.read) && !r.text.contains(TestTokens.write))
                }
            }
        }
    }

    @Test func tokensFromFileAndEnvironment() throws {
        let dir = try TempDir(prefix: "otto-tokens")
        defer { dir.cleanup() }
        let path = dir.file("tokens")
        try "# comment\n\nci write 0123456789abcdef0123\nops\tread  fedcba9876543210fedc\n".write(toFile: path, atomically: true, encoding: .utf8)
        var set = TokenSet()
        #expect(throws: (any Error).self) { try set.add(file: path) }  // 0644: readable by others
        chmod(path, 0o600)
        try set.add(file: path)
        try set.add(environment: ["OTTO_API_TOKENS": "env1 read aaaaaaaaaaaaaaaaaaaa;env2 write bbbbbbbbbbbbbbbbbbbb"])
        #expect(set.tokens.map(\.name) == ["ci", "ops", "env1", "env2"])
        #expect(set.verify("0123456789abcdef0123")?.scope == .write)
        #expect(set.verify("fedcba9876543210fedc")?.name == "ops")
        #expect(set.verify("bbbbbbbbbbbbbbbbbbbb")?.name == "env2")
        #expect(set.verify("0123456789abcdef012") == nil)
        var bad = TokenSet()
        #expect(throws: (any Error).self) { try bad.add(lines: "x admin 0123456789abcdef0123", origin: "t") }
        #expect(throws: (any Error).self) { try bad.add(lines: "x read short", origin: "t") }
        #expect(throws: (any Error).self) { try bad.add(lines: "x read 0123456789abcdef0123\nx write 0123456789abcdef0124", origin: "t") }
        do {
            try bad.add(lines: "y admin supersecretvalue1234", origin: "t")
            Issue.record("an unknown scope was accepted")
        } catch {
            #expect(!"\(error)".contains("supersecretvalue1234"))
        }
    }

    @Test func scopes() {
        #expect(Scope.write.allows(.read))
        #expect(Scope.write.allows(.write))
        #expect(Scope.read.allows(.read))
        #expect(!Scope.read.allows(.write))
    }
}
