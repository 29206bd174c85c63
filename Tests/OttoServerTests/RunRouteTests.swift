import Foundation
import OttoEngine
import OttoPlan
import Testing

@Suite struct RunRouteTests {
    @Test func planTakesOptionsAndHidesSensitiveValues() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            let r = try await c.post("/v1/plan", #"{"sites": ["shop"], "targets": ["dns_record.shop"], "refresh": false}"#)
            #expect(r.status == .ok)
            #expect(r.object["has_changes"] as? Bool == true)
            #expect(r.object["serial"] as? Int == 3)
            #expect((r.object["counts"] as? [String: Int])?["create"] == 1)
            let change = (r.object["changes"] as? [[String: Any]])?.first
            #expect(change?["address"] as? String == "dns_record.shop.www.A")
            #expect(change?["reason"] as? String == "does not exist yet")
            let attrs = change?["attributes"] as? [[String: Any]] ?? []
            #expect(attrs.first { $0["name"] as? String == "content" }?["after"] as? String == "(sensitive)")
            #expect(!r.text.contains("secret text"))
        }
        #expect(f.runs.seen.first?.options.targets == ["dns_record.shop"])
        #expect(f.runs.seen.first?.options.sites == ["shop"])
        #expect(f.runs.seen.first?.options.refresh == false)
    }

    @Test func applyReturnsARunToFollow() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/v1/apply", #"{"parallelism": 4, "destroy": true}"#)
            #expect(r.status == .accepted)
            let id = try #require(r.object["id"] as? String)
            #expect(r.headers[.location] == "/v1/runs/\(id)")
            await f.runs.book.waitForRunning()
            r = try await c.get("/v1/runs/\(id)")
            #expect(r.status == .ok)
            #expect(r.object["state"] as? String == "succeeded")
            #expect((r.object["events"] as? [[String: Any]])?.map { $0["type"] as? String } == ["started", "finished"])
            #expect((r.object["outcome"] as? [String: Any])?["created"] as? Int == 1)
            r = try await c.get("/v1/runs/nope")
            #expect(r.status == .notFound)
        }
        #expect(f.runs.seen.first?.parallelism == 4)
        #expect(f.runs.seen.first?.options.mode == .destroy)
    }

    /// `/v1/plan` answers a `PlanDocument` and a run's events and outcome are `ApplyEventDocument`s and an
    /// `ApplySummaryDocument`: the shapes `otto plan --json` and `otto apply --json` print.
    @Test func plansAndRunsHaveTheCLIShapes() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/v1/plan", #"{"refresh": false}"#)
            let document = try JSONDecoder().decode(PlanDocument.self, from: Data(r.text.utf8))
            let plan = try await f.runs.plan(RunRequest())
            var expected = PlanDocument(plan, sources: ["dns_record.shop.www.A": .yaml])
            #expect(abs(expected.createdAt.timeIntervalSince(document.createdAt)) < 60)
            expected.createdAt = document.createdAt  // the double makes a new plan, with its own time, on each call
            #expect(document == expected)
            #expect(document.changes.first?.attributes.first { $0.name == "content" }?.after == .init(.string("(sensitive)")))
            r = try await c.post("/v1/apply", "{}")
            let id = try #require(r.object["id"] as? String)
            await f.runs.book.waitForRunning()
            r = try await c.get("/v1/runs/\(id)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any])
            let events = try JSONDecoder().decode([ApplyEventDocument].self,
                                                  from: JSONSerialization.data(withJSONObject: object["events"] ?? []))
            #expect(events.map(\.type) == ["started", "finished"])
            #expect(events.map(\.seq) == [1, 2])
            #expect(events.last?.seconds == 0.01)
            #expect((object["events"] as? [[String: Any]])?.first?.keys.sorted()
                    == ["action", "address", "at", "message", "seconds", "seq", "type"])
            let outcome = try JSONDecoder().decode(ApplySummaryDocument.self,
                                                   from: JSONSerialization.data(withJSONObject: object["outcome"] ?? [:]))
            #expect(outcome.created == 1 && outcome.ok)
        }
    }

    @Test func emptyBodyIsDefaults() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            let r = try await c.post("/v1/plan")
            #expect(r.status == .ok)
        }
        #expect(f.runs.seen.first == RunRequestDefaults.value)
    }

    @Test func badRunBodies() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            var r = try await c.post("/v1/plan", #"{"parallelism": 3}"#)
            #expect(r.status == .unprocessableContent)
            #expect(r.errorMessage?.contains("unknown key \"parallelism\"") == true)
            r = try await c.post("/v1/apply", #"{"parallelism": 0}"#)
            #expect(r.status == .unprocessableContent)
            r = try await c.post("/v1/plan", #"{"replace": ["nodot"]}"#)
            #expect(r.errorMessage?.contains("invalid address \"nodot\"") == true)
            r = try await c.post("/v1/plan", #"{"destroy": "yes"}"#)
            #expect(r.errorMessage?.contains("expected true or false") == true)
            r = try await c.post("/v1/plan", #"{"destroy": true, "refresh_only": true}"#)
            #expect(r.status == .unprocessableContent)
            r = try await c.post("/v1/apply", #"{"sites": "shop"}"#)
            #expect(r.status == .unprocessableContent && r.errorMessage?.contains("expected a list of strings") == true)
        }
        #expect(f.runs.seen.isEmpty)
    }

    @Test func status() async throws {
        let f = try ServerFixture()
        try await f.withClient { c in
            let r = try await c.get("/v1/status")
            #expect(r.status == .ok)
            #expect((r.object["summary"] as? [String: Int])?["in_sync"] == 1)
        }
    }
}

import OttoServer
import HTTPTypes
import OttoCore
enum RunRequestDefaults { static let value = RunRequest() }
