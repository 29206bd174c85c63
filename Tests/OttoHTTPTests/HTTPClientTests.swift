import Foundation
import Testing
@testable import OttoHTTP

@Suite struct HTTPClientTests {
    /// A fast policy so retries do not slow the suite.
    static let fastRetry = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50))

    func withServer(_ body: (TestHTTPServer, HTTPClient) async throws -> Void) async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: Self.fastRetry))
        try await body(server, client)
    }

    func count(_ path: String, _ server: TestHTTPServer, _ client: HTTPClient) async throws -> Int {
        let response = try await client.send(HTTPRequest(url: server.baseURL + "/hits" + path))
        return try #require(Int(response.text))
    }

    @Test func echoesMethodHeadersAndBody() async throws {
        try await withServer { server, client in
            let request = try HTTPRequest.json(.patch, url: server.baseURL + "/echo?x=1", body: ["name": "demo.test."],
                                               headers: ["X-Custom": "yes"])
            #expect(request.idempotent == false)
            let response = try await client.send(request)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.headers["content-type"] == "application/json")
            struct Echo: Decodable { var method: String; var path: String; var query: String; var headers: [String: String]; var body: String }
            let echo = try response.decode(Echo.self)
            #expect(echo.method == "PATCH")
            #expect(echo.path == "/echo")
            #expect(echo.query == "x=1")
            #expect(echo.headers["x-custom"] == "yes")
            #expect(echo.headers["expect"] == nil)
            #expect(echo.body == #"{"name":"demo.test."}"#)

            let get = try await client.send(HTTPRequest(url: server.baseURL + "/echo"))
            #expect(try get.decode(Echo.self).method == "GET")
            let delete = try await client.send(HTTPRequest(method: .delete, url: server.baseURL + "/echo"))
            #expect(try delete.decode(Echo.self).method == "DELETE")
            let head = try await client.send(HTTPRequest(method: .head, url: server.baseURL + "/echo"))
            #expect(head.status == 200 && head.body.isEmpty)
        }
    }

    @Test func idempotencyDefaultsFromMethod() {
        for method: HTTPMethod in [.get, .head, .put, .delete, .options] { #expect(HTTPRequest(method: method, url: "http://x/").idempotent) }
        for method: HTTPMethod in [.post, .patch] { #expect(!HTTPRequest(method: method, url: "http://x/").idempotent) }
        #expect(HTTPRequest(method: .post, url: "http://x/", idempotent: true).idempotent)
    }

    @Test func reusesOneConnectionForSequentialRequests() async throws {
        try await withServer { server, client in
            for index in 0..<20 {
                let response = try await client.send(HTTPRequest(url: server.baseURL + "/echo?i=\(index)"))
                #expect(response.status == 200)
            }
            let connections = try await client.send(HTTPRequest(url: server.baseURL + "/connections"))
            #expect(connections.text == "1")
        }
    }

    @Test func retriesServerErrorsForIdempotentRequests() async throws {
        try await withServer { server, client in
            let response = try await client.send(HTTPRequest(method: .get, url: server.baseURL + "/fail/get/3/500"))
            #expect(response.text == "ok")
            let hits = try await count("/fail/get/3/500", server, client)
            #expect(hits == 4)
        }
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        try await withServer { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(method: .put, url: server.baseURL + "/fail/put/10/502"))
            }
            #expect(error?.code == "http.status")
            #expect(error?.status == 502)
            #expect(error?.attempts == 4)
            #expect(error?.message == "failure 4")
            let hits = try await count("/fail/put/10/502", server, client)
            #expect(hits == 4)
        }
    }

    @Test func doesNotRetryPostOnServerError() async throws {
        try await withServer { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/fail/post/1/500", body: Array("x".utf8)))
            }
            #expect(error?.status == 500)
            #expect(error?.message == "failure 1")
            let hits = try await count("/fail/post/1/500", server, client)
            #expect(hits == 1)
        }
    }

    @Test func aPostIsNeverSentTwiceWhenItsConnectionDiesUnanswered() async throws {
        try await withServer { server, client in
            // A kept-alive connection first, so libcurl would reuse it for the POST.
            _ = try await client.send(HTTPRequest(url: server.baseURL + "/echo"))
            await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/close-once/post", body: Array("x".utf8)))
            }
            #expect(try await count("/close-once/post", server, client) == 1)
            // An idempotent request may be sent again (by libcurl or by the retry policy) and gets its answer.
            let put = try await client.send(HTTPRequest(method: .put, url: server.baseURL + "/close-once/put", body: Array("x".utf8)))
            #expect(put.text == "second")
        }
    }

    @Test func retriesPostOn503() async throws {
        try await withServer { server, client in
            let response = try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/fail/post503/2/503"))
            #expect(response.status == 200)
            let hits = try await count("/fail/post503/2/503", server, client)
            #expect(hits == 3)
        }
    }

    @Test func neverRetriesOther4xx() async throws {
        try await withServer { server, client in
            let error = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(url: server.baseURL + "/fail/get404/5/404"))
            }
            #expect(error?.status == 404)
            let hits = try await count("/fail/get404/5/404", server, client)
            #expect(hits == 1)
        }
    }

    @Test func honoursRetryAfterOn429() async throws {
        try await withServer { server, client in
            let clock = ContinuousClock()
            let start = clock.now
            let response = try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/retry-after/a/1"))
            let elapsed = clock.now - start
            #expect(response.status == 200)
            #expect(elapsed >= .seconds(1))
            let hits = try await count("/retry-after/a/1", server, client)
            #expect(hits == 2)
        }
    }

    @Test func retryAfterParsesSecondsAndDatesAndIsCapped() {
        let policy = RetryPolicy(maxRetryAfter: .seconds(10))
        #expect(policy.retryAfter("3") == .seconds(3))
        #expect(policy.retryAfter("120") == .seconds(10))
        #expect(policy.retryAfter(nil) == nil)
        #expect(policy.retryAfter("soon") == nil)
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(policy.retryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
        #expect(policy.retryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now: now) == .zero)
    }

    @Test func backoffIsBoundedByTheCeiling() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .milliseconds(300))
        for retry in 0..<8 {
            let delay = policy.backoff(retry: retry)
            #expect(delay >= .zero)
            #expect(delay <= .milliseconds(min(300, 100 << retry)))
        }
    }

    @Test func timesOutAndRetriesIdempotentRequests() async throws {
        try await withServer { server, _ in
            let client = HTTPClient(configuration: HTTPClientConfiguration(
                timeout: .milliseconds(400), retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(10))))
            let clock = ContinuousClock()
            let start = clock.now
            let error = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(url: server.baseURL + "/sleep/30"))
            }
            #expect(clock.now - start < .seconds(20))  // two 0.4 s attempts, not the server's 30 s (generous: CI is loaded)
            #expect(error?.code == "http.timeout")
            #expect(error?.attempts == 2)
            #expect(error?.status == nil)

            let postError = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/sleep/2", timeout: .milliseconds(300)))
            }
            #expect(postError?.code == "http.timeout")
            #expect(postError?.attempts == 1)
        }
    }

    @Test func connectionRefusedIsAConnectError() async throws {
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(5))))
        let error = await #expect(throws: HTTPError.self) {
            try await client.send(HTTPRequest(url: "http://127.0.0.1:1/nothing"))
        }
        #expect(error?.code == "http.connect")
        #expect(error?.attempts == 2)
    }

    @Test func errorCarriesServerMessageButNoSecrets() async throws {
        try await withServer { server, client in
            let url = "http://user:hunter2@127.0.0.1:\(server.port)/error-json/422?api_key=topsecret"
            let error = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(method: .get, url: url, headers: ["X-API-Key": "sekrit-key-123"]))
            }
            let text = error.map { String(describing: $0) } ?? ""
            #expect(error?.status == 422)
            #expect(error?.message == "zone name is not canonical")
            #expect(text.contains("zone name is not canonical"))
            #expect(text.contains("/error-json/422"))
            #expect(error?.url == "http://127.0.0.1:\(server.port)/error-json/422")
            for secret in ["sekrit-key-123", "topsecret", "hunter2", "api_key"] { #expect(!text.contains(secret)) }

            let textError = await #expect(throws: HTTPError.self) {
                try await client.send(HTTPRequest(url: server.baseURL + "/error-text/400"))
            }
            #expect(textError?.message == String(repeating: "E", count: 500))
        }
    }

    @Test func serverMessageExtraction() {
        #expect(HTTPError.serverMessage(from: Array(#"{"error": "Duplicate RRset"}"#.utf8)) == "Duplicate RRset")
        #expect(HTTPError.serverMessage(from: Array(#"{"errors": ["a", {"message": "b"}]}"#.utf8)) == "a; b")
        #expect(HTTPError.serverMessage(from: Array("  Unauthorized\n".utf8)) == "Unauthorized")
        #expect(HTTPError.serverMessage(from: []) == "")
    }

    @Test func concurrentRequestsAllComplete() async throws {
        try await withServer { server, client in
            let base = server.baseURL
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask { try await client.send(HTTPRequest(url: base + "/echo?i=\(index)")).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 200 })
            let connections = try #require(Int(try await client.send(HTTPRequest(url: server.baseURL + "/connections")).text))
            #expect(connections <= client.configuration.maxConcurrentTransfers)
        }
    }
}
