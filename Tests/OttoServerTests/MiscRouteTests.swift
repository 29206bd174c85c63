import Foundation
import HTTPTypes
import Testing

@Suite struct MiscRouteTests {
    @Test func healthMetricsPageAndDocument() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.get("/healthz", as: .anonymous)
            #expect(r.status == .ok)
            #expect(r.object["status"] as? String == "ok")
            r = try await c.get("/metrics")
            #expect(r.status == .ok)
            #expect(r.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(r.text == "otto_up 1\n")
            r = try await c.get("/")
            #expect(r.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(r.text == "<html>status</html>")
            r = try await c.get("/openapi.json", as: .anonymous)
            #expect(r.status == .ok)
            #expect(r.object["openapi"] as? String == "3.0.3")
        }
    }

    @Test func unknownRoutesAndMethods() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.get("/nope")
            #expect(r.status == .notFound)
            #expect(r.errorCode == "not_found")
            r = try await c.call(.patch, "/inv/web1")
            #expect(r.status == .methodNotAllowed)
            #expect(r.headers[.allow] == "DELETE, GET, POST")
            #expect(r.errorCode == "method.not_allowed")
            r = try await c.call(.post, "/healthz")
            #expect(r.status == .methodNotAllowed)
        }
    }
}
