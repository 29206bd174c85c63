import Foundation
import HTTPTypes
import Testing

/// Malformed JSON, unknown fields, wrong types, oversized bodies, invalid names and unknown query parameters: always a
/// 4xx JSON error with the reason, never a 5xx, never a partial write.
@Suite struct BadInputTests {
    @Test func malformedJSON() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            for body in ["{", "{\"address\": }", "{\"a\": 1,}", "[1 2]", "{\"a\": \"\u{01}\"}", "{'a': 1}", "{\"a\": 1} x",
                         "{\"a\": \"\\x\"}", "{\"a\": 01}", "{\"a\": 1, \"a\": 2}", "{\"a\": \"\\ud800\"}",
                         String(repeating: "[", count: 200) + String(repeating: "]", count: 200)] {
                let r = try await c.post("/inv/web1", body)
                #expect(r.status == .badRequest, "\(body): \(r.text)")
                #expect(r.errorCode == "body.malformed")
                #expect(r.errorMessage?.hasPrefix("api:/inv/web1:") == true, "\(r.text)")
            }
            let r = try await c.post("/v1/plan", "{nope")
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "body.malformed")
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func missingBodyWrongTypeAndMediaType() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/inv/web1")
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "body.missing")
            r = try await c.call(.post, "/inv/web1", body: "address=x", contentType: "application/x-www-form-urlencoded")
            #expect(r.status == .unsupportedMediaType)
            r = try await c.put("/dom/dns/example.com")
            #expect(r.errorCode == "body.missing")
            r = try await c.put("/dom/dns/example.com?rec=www+A+192.0.2.1", #"{"records": []}"#)
            #expect(r.errorCode == "request.ambiguous")
            r = try await c.post("/inv/web1", #"{"groups": {"a": 1}, "vars": [1]}"#)
            #expect(r.status == .unprocessableContent)
            #expect(r.text.contains("expected vars (a mapping), got a list"))
            r = try await c.post("/inv/web1", #"{"port": 22.5}"#)
            #expect(r.status == .unprocessableContent)
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func oversizedBody() async throws {
        let f = try ServerFixture()
        try await f.withClient(maxBody: 1024) { c in
            let big = #"{"vars": {"x": ""# + String(repeating: "a", count: 4096) + #""}}"#
            let r = try await c.post("/inv/web1", big)
            #expect(r.status == .contentTooLarge)
            #expect(r.errorCode == "body.too_large")
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func queryParameters() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.get("/inv?x=1")
            #expect(r.status == .badRequest)
            #expect(r.errorCode == "query.unknown")
            r = try await c.post("/dom/ns/example.com?ns=a.example.net.&bogus=1")
            #expect(r.errorCode == "query.unknown")
            r = try await c.post("/dom/ns/example.com")
            #expect(r.errorCode == "query.missing")
            r = try await c.post("/dom/ns/example.com?ns=,")
            #expect(r.errorCode == "query.ns")
            r = try await c.post("/dom/ns/example.com?ns=a.example.net.&ns=b.example.net.")
            #expect(r.errorCode == "query.repeated")
            r = try await c.put("/dom/dns/example.com?rec=www")
            #expect(r.errorCode == "query.rec")
            r = try await c.put("/dom/dns/example.com?rec=www+A")
            #expect(r.errorCode == "query.rec")
            r = try await c.delete("/dom/dns/example.com?rec=www+A+192.0.2.1")
            #expect(r.errorCode == "query.rec")
            r = try await c.get("/inv?%zz=1")
            #expect(r.errorCode == "query.malformed")
            r = try await c.get("/inv/%ff")
            #expect(r.status.code >= 400 && r.status.code < 500)
        }
        #expect(try f.storedItems().isEmpty)
    }

    @Test func secretsNeverInAnswers() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            let r = try await c.post("/inv/web1", #"{"address": "x", "password": "hunter2hunter2"}"#)
            #expect(r.status == .unprocessableContent)
            #expect(!r.text.contains(TestTokens.write))
        }
    }
}
