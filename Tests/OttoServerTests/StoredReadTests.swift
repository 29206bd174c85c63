import Foundation
import HTTPTypes
@testable import OttoServer
import Testing

/// The hot reads answered from stored bytes (`StoredReadMiddleware`) answer exactly as the generated routes do, for
/// every caller, hit and miss; and the routes it answers are the document's.
@Suite struct StoredReadTests {
    static let paths = [
        "/inv", "/inv/", "/inv/yamlhost", "/inv/apihost", "/inv/apihost/", "/inv/nohost", "/inv/api%68ost", "/inv?x=1",
        "/inv/apihost?pretty=1", "/dom/ns/shop.test", "/dom/ns/Example.COM.", "/dom/ns/example.com", "/dom/ns/none.test", "/dom/ns/bad..name",
        "/dom/dns/shop.test", "/dom/dns/Shop.Test", "/dom/dns/blog.test", "/dom/dns/-bad-",
    ]

    /// Every answer of `paths`, for every caller, with stored reads on or off.
    static func answers(_ f: ServerFixture, storedReads: Bool) async throws -> [String] {
        try await f.withClient(storedReads: storedReads) { c in
            var lines: [String] = []
            for path in paths {
                for caller in Caller.allCases {
                    let r = try await c.get(path, as: caller)
                    let headers = r.headers.filter { $0.name != .date }.map { "\($0.name)=\($0.value)" }.sorted()
                    lines.append("\(caller) GET \(path) → \(r.status.code) \(headers) \(r.text)")
                }
            }
            return lines
        }
    }

    @Test func answersAsTheGeneratedRoutesDo() async throws {
        let f = try ServerFixture()
        let written = try await f.withClient { c in
            [try await c.post("/inv/apihost", #"{"address": "192.0.2.21", "groups": ["web"]}"#).status,
             try await c.post("/dom/ns/example.com?ns=ns1.example.net,ns2.example.net").status]
        }
        #expect(written == [.created, .created])
        let fast = try await Self.answers(f, storedReads: true)
        let generated = try await Self.answers(f, storedReads: false)
        #expect(fast.count == Self.paths.count * Caller.allCases.count)
        for (a, b) in zip(fast, generated) { #expect(a == b) }
        // The hits were hits: a stored body for each kind of route.
        #expect(fast.contains { $0.hasPrefix("reader GET /inv/apihost → 200") && $0.contains("192.0.2.21") })
        #expect(fast.contains { $0.hasPrefix("reader GET /dom/ns/Example.COM. → 200") && $0.contains("ns2.example.net") })
        #expect(fast.contains { $0.hasPrefix("reader GET /dom/dns/shop.test → 200") && $0.contains("192.0.2.10") })
        #expect(fast.contains { $0.hasPrefix("anonymous GET /inv → 401") })
    }

    /// The routes answered from stored bytes are operations of the document, by their router endpoint paths: renaming an
    /// operation cannot silently turn the fast path off.
    @Test func routesAreTheDocumentsOperations() throws {
        let f = try ServerFixture()
        let middleware = StoredReadMiddleware(desired: DesiredStateAPI(store: f.desired), configuration: f.configuration())
        #expect(middleware.operationIDs == ["listInventory", "getHost", "getNameservers", "getRecords"])
        for (endpoint, route) in middleware.routes {
            #expect(route.operation.method == .get)
            #expect(StoredReadMiddleware.endpoint(route.operation.path) == endpoint)
        }
    }
}
