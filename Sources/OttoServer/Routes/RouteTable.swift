import HTTPTypes

/// One route of the API: method, path (OpenAPI template syntax, `{name}` for a parameter, trailing slash as the seed
/// had it) and the scope it needs (nil: open to everyone).
public struct RouteSpec: Sendable, Hashable, CustomStringConvertible {
    /// HTTP method.
    public var method: HTTPRequest.Method
    /// Path template, e.g. `/inv/{item}`.
    public var path: String
    /// Scope a token needs; nil for open routes.
    public var scope: Scope?

    /// `GET /inv/{item}`
    public var description: String { "\(method.rawValue) \(path)" }

    /// True when `requestPath` fits the template (segments compared one by one; `{x}` matches any non-empty segment;
    /// a trailing slash is ignored, as the router ignores it).
    func matches(_ requestPath: String) -> Bool {
        let want = path.split(separator: "/"), have = requestPath.split(separator: "/")
        guard want.count == have.count else { return false }
        return zip(want, have).allSatisfy { w, h in w.hasPrefix("{") || w == h }
    }
}

/// Every route the server answers, with its scope: the single list the router, the auth check, the 405 answers and
/// the OpenAPI test are built from.
public enum RouteTable {
    /// The routes, in the order of the OpenAPI document.
    public static let all: [RouteSpec] = [
        RouteSpec(method: .get, path: "/inv", scope: .read),
        RouteSpec(method: .get, path: "/inv/{item}", scope: .read),
        RouteSpec(method: .post, path: "/inv/{item}", scope: .write),
        RouteSpec(method: .delete, path: "/inv/{item}", scope: .write),
        RouteSpec(method: .get, path: "/dom/ns/{domain}", scope: .read),
        RouteSpec(method: .post, path: "/dom/ns/{domain}", scope: .write),
        RouteSpec(method: .delete, path: "/dom/ns/{domain}", scope: .write),
        RouteSpec(method: .get, path: "/dom/dns/{domain}", scope: .read),
        RouteSpec(method: .put, path: "/dom/dns/{domain}", scope: .write),
        RouteSpec(method: .delete, path: "/dom/dns/{domain}", scope: .write),
        RouteSpec(method: .get, path: "/site/walk/", scope: .read),
        RouteSpec(method: .get, path: "/site/walk/{site}/", scope: .read),
        RouteSpec(method: .get, path: "/site/walk/{site}/{walkid}", scope: .read),
        RouteSpec(method: .put, path: "/site/walk/{site}", scope: .write),
        RouteSpec(method: .delete, path: "/site/walk/{site}", scope: .write),
        RouteSpec(method: .post, path: "/v1/plan", scope: .write),
        RouteSpec(method: .post, path: "/v1/apply", scope: .write),
        RouteSpec(method: .get, path: "/v1/runs/{id}", scope: .read),
        RouteSpec(method: .get, path: "/v1/status", scope: .read),
        RouteSpec(method: .get, path: "/healthz", scope: nil),
        RouteSpec(method: .get, path: "/metrics", scope: .read),
        RouteSpec(method: .get, path: "/", scope: .read),
        RouteSpec(method: .get, path: "/openapi.json", scope: nil),
    ]

    /// The methods some route allows at `path` (for 405 answers), sorted.
    static func methods(at path: String) -> [String] {
        Array(Set(all.filter { $0.matches(path) }.map(\.method.rawValue))).sorted()
    }
}
