import Foundation
import HTTPTypes
import OttoCore
import OttoState
import OttoTestSupport
import Testing

/// The deployment ledger over HTTP (DeployDB): artifacts as CI registers them, deployments and their state machine
/// route by route (any move but CREATED → STARTED → COMPLETED | FAILED answers 406), verifications, queries, and a write
/// token for every write.
@Suite struct DeploymentRouteTests {
    static let digest = String(repeating: "ab", count: 32)

    static func artifact(_ version: String = "1.0.0", digest: String = digest, extra: String = "") -> String {
        #"{"name": "hello", "version": "\#(version)", "digest": "\#(digest)", "url": "https://ci.example.net/hello-\#(version).tgz"\#(extra)}"#
    }

    @Test(arguments: StoreBackend.allCases)
    func registerIsIdempotentAndAVersionIsOneBuild(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            var r = try await c.post("/v1/artifacts", Self.artifact())
            #expect(r.status == .created)
            #expect(r.headers[.location] == "/v1/artifacts/1")
            let artifact = r.object["artifact"] as? [String: Any] ?? [:]
            #expect(artifact["id"] as? Int == 1 && artifact["registered_by"] as? String == "writer" && artifact["digest"] as? String == Self.digest)
            #expect(r.object["deployment"] is NSNull)
            r = try await c.post("/v1/artifacts", Self.artifact())
            #expect(r.status == .ok)
            #expect((r.object["artifact"] as? [String: Any])?["id"] as? Int == 1)
            r = try await c.post("/v1/artifacts", Self.artifact(digest: String(repeating: "cd", count: 32)))
            #expect(r.status == .conflict && r.errorCode == "deploy.conflict")
            #expect(r.errorMessage?.contains("registered already (id 1)") == true)
            r = try await c.get("/v1/artifacts/1")
            #expect(r.status == .ok && r.object["version"] as? String == "1.0.0")
            r = try await c.get("/v1/artifacts?name=hello")
            #expect((r.object["items"] as? [Any])?.count == 1)
            r = try await c.get("/v1/artifacts/9")
            #expect(r.status == .notFound)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func badArtifactsAreRefusedWithTheirPlace(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            let r = try await c.post("/v1/artifacts", #"{"name": "Hello", "version": "", "digest": "abc", "url": "http://x", "deploy_to": "prod", "x": 1}"#)
            #expect(r.status == .unprocessableContent)
            let details = r.object["error"].flatMap { ($0 as? [String: Any])?["details"] as? [String] } ?? []
            #expect(details == [
                "api:/v1/artifacts:1:91: error: unknown key \"x\"; allowed: name, version, digest, url, deploy_to",
                "api:/v1/artifacts:1:10: error: invalid app name \"Hello\": use lowercase letters, digits and `-`",
                "api:/v1/artifacts:1:30: error: `version` is empty",
                "api:/v1/artifacts:1:44: error: `digest` must be the bundle's sha256: 64 hex digits, got \"abc\"",
                "api:/v1/artifacts:1:58: error: `url` must be an https URL, got \"http://x\"",
                "api:/v1/artifacts:1:83: error: no environment \"prod\"; this project has: default",
            ])
            #expect(try await c.get("/v1/artifacts").object["items"] as? [Any] != nil)
            #expect((try await c.get("/v1/artifacts").object["items"] as? [Any])?.isEmpty == true)  // nothing was written
        }
    }

    /// Every (from, to) pair: allowed moves answer 200 and move; every other one answers 406 and changes nothing.
    @Test(arguments: StoreBackend.allCases)
    func transitionTableRouteByRoute(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            _ = try await c.post("/v1/artifacts", Self.artifact())
            let path: [DeploymentState: [DeploymentState]] = [.created: [], .started: [.started], .completed: [.started, .completed],
                                                               .failed: [.started, .failed]]
            for from in DeploymentState.allCases {
                for to in DeploymentState.allCases {
                    let made = try await c.post("/v1/deployments", #"{"artifact": 1, "environment": "default", "reason": "table"}"#)
                    #expect(made.status == .created)
                    let id = try #require(made.object["id"] as? Int)
                    #expect(made.headers[.location] == "/v1/deployments/\(id)")
                    #expect(made.object["state"] as? String == "CREATED")
                    for step in path[from]! {
                        #expect(try await c.call(.patch, "/v1/deployments/\(id)", body: #"{"state": "\#(step.rawValue)"}"#).status == .ok)
                    }
                    let r = try await c.call(.patch, "/v1/deployments/\(id)", body: #"{"state": "\#(to.rawValue)"}"#)
                    let after = try await c.get("/v1/deployments/\(id)").object["state"] as? String
                    if from.next.contains(to) {
                        #expect(r.status == .ok, "\(from) → \(to)")
                        #expect(after == to.rawValue)
                        #expect(r.object[to == .started ? "started_at" : "finished_at"] is String)
                    } else {
                        #expect(r.status == .notAcceptable, "\(from) → \(to)")
                        #expect(r.errorCode == "deploy.transition")
                        #expect(after == from.rawValue, "a refused move changes nothing")
                    }
                }
            }
        }
    }

    /// Approvals over the API (as `otto approve`): by version, the digest taken from the version's artifact (or given, and
    /// then checked against it); promotions listed as the ledger recorded them.
    @Test(arguments: StoreBackend.allCases)
    func approvalsAndPromotions(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            var r = try await c.post("/v1/approvals", #"{"app": "hello", "environment": "default", "version": "1.0.0"}"#)
            #expect(r.status == .unprocessableContent && r.errorCode == "deploy.not_found", "\(r.text)")
            #expect(r.errorMessage?.contains("not a registered artifact") == true)
            #expect(try await c.post("/v1/artifacts", Self.artifact()).status == .created)
            r = try await c.post("/v1/approvals", #"{"app": "hello", "environment": "default", "version": "1.0.0", "note": "CAB-7"}"#)
            #expect(r.status == .created, "\(r.text)")
            #expect(r.object["digest"] as? String == Self.digest && r.object["by"] as? String == "writer" && r.object["note"] as? String == "CAB-7")
            r = try await c.post("/v1/approvals", #"{"app": "hello", "environment": "default", "version": "1.0.0", "digest": "\#(String(repeating: "cd", count: 32))"}"#)
            #expect(r.status == .conflict && r.errorCode == "deploy.conflict")
            r = try await c.post("/v1/approvals", #"{"app": "hello", "environment": "prod", "version": "1.0.0"}"#)
            #expect(r.status == .unprocessableContent && r.errorCode == "config.invalid")
            r = try await c.post("/v1/approvals", #"{"app": "hello", "environment": "default", "version": "1.0.0"}"#, as: .reader)
            #expect(r.status == .forbidden)
            r = try await c.get("/v1/approvals?app=hello&environment=default")
            #expect((r.object["items"] as? [[String: Any]])?.map { $0["note"] as? String } == ["CAB-7"])
            #expect(try await c.get("/v1/approvals?app=hello").status == .badRequest)

            // a promotion the ledger recorded (as `otto promote` records it) is listed with its gates
            let created = try await f.store.createDeployment(artifact: 1, environment: "default", by: "t", reason: "")
            _ = try await f.store.updateDeployment(created.id, state: .started, verification: nil, at: Date())
            let source = try await f.store.updateDeployment(created.id, state: .completed, verification: nil, at: Date())
            _ = try await f.store.recordPromotion(source: source, to: "default", by: "ops", gates: [.success, .approval], at: Date())
            r = try await c.get("/v1/promotions?app=hello")
            let items = r.object["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1 && items.first?["gates"] as? [String] == ["success", "approval"] && items.first?["source_deployment"] as? Int == source.id)
            #expect((try await c.get("/v1/promotions?app=other").object["items"] as? [Any])?.isEmpty == true)
            #expect((try await c.get("/v1/promotions?deployment=\(source.id)").object["items"] as? [Any])?.count == 1)
            #expect((try await c.get("/v1/promotions?deployment=999").object["items"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func verificationsQueriesAndDeployTo(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            var r = try await c.post("/v1/artifacts", Self.artifact(extra: #", "deploy_to": "default""#))
            #expect(r.status == .created)
            let deployment = r.object["deployment"] as? [String: Any] ?? [:]
            #expect(deployment["state"] as? String == "CREATED" && deployment["reason"] as? String == "registered with deploy_to")
            #expect(deployment["environment"] as? String == "default" && deployment["version"] as? String == "1.0.0")
            let id = try #require(deployment["id"] as? Int)
            r = try await c.call(.patch, "/v1/deployments/\(id)",
                                 body: #"{"state": "STARTED", "verification": {"by": "ci/smoke#5", "result": "passed", "note": "verified by job X build 5"}}"#)
            #expect(r.status == .ok && r.object["state"] as? String == "STARTED")
            let checks = r.object["verifications"] as? [[String: Any]] ?? []
            #expect(checks.count == 1 && checks.first?["by"] as? String == "ci/smoke#5" && checks.first?["result"] as? String == "passed")
            // A refused move records nothing, not even the verification sent with it.
            r = try await c.call(.patch, "/v1/deployments/\(id)", body: #"{"state": "CREATED", "verification": {"by": "late", "result": "failed"}}"#)
            #expect(r.status == .notAcceptable && r.errorCode == "deploy.transition")
            #expect((try await c.get("/v1/deployments/\(id)").object["verifications"] as? [Any])?.count == 1)
            r = try await c.call(.patch, "/v1/deployments/\(id)", body: #"{"verification": {"by": "x", "result": "maybe"}}"#)
            #expect(r.status == .unprocessableContent)
            r = try await c.call(.patch, "/v1/deployments/\(id)", body: "{}")
            #expect(r.status == .unprocessableContent)
            _ = try await c.post("/v1/artifacts", Self.artifact("1.1.0", digest: String(repeating: "ef", count: 32)))
            _ = try await c.post("/v1/deployments", #"{"artifact": 2, "environment": "default"}"#)
            #expect((try await c.get("/v1/deployments").object["items"] as? [[String: Any]])?.map { $0["id"] as? Int } == [2, 1])
            #expect((try await c.get("/v1/deployments?version=1.1.0").object["items"] as? [Any])?.count == 1)
            #expect((try await c.get("/v1/deployments?state=STARTED").object["items"] as? [[String: Any]])?.first?["id"] as? Int == id)
            #expect((try await c.get("/v1/deployments?app=other").object["items"] as? [Any])?.isEmpty == true)
            #expect((try await c.get("/v1/deployments?environment=default&since=2000-01-01T00:00:00Z").object["items"] as? [Any])?.count == 2)
            #expect((try await c.get("/v1/deployments?until=2000-01-01T00:00:00Z").object["items"] as? [Any])?.isEmpty == true)
            #expect(try await c.get("/v1/deployments?state=DONE").status == .badRequest)
            #expect(try await c.get("/v1/deployments?since=yesterday").errorCode == "query.since")
            #expect(try await c.post("/v1/deployments", #"{"artifact": 7, "environment": "default"}"#).status == .notFound)
            #expect(try await c.call(.patch, "/v1/deployments/99", body: #"{"state": "STARTED"}"#).status == .notFound)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func everyWriteNeedsAWriteToken(_ backend: StoreBackend) async throws {
        let f = try await ServerFixture.make(backend)
        try await f.withClient { c in
            for caller in [Caller.anonymous, .badToken, .reader] {
                let writes = [
                    try await c.call(.post, "/v1/artifacts", as: caller, body: Self.artifact()),
                    try await c.call(.post, "/v1/deployments", as: caller, body: #"{"artifact": 1, "environment": "default"}"#),
                    try await c.call(.patch, "/v1/deployments/1", as: caller, body: #"{"state": "STARTED"}"#),
                ]
                #expect(writes.allSatisfy { $0.status == (caller == .reader ? .forbidden : .unauthorized) }, "\(caller)")
            }
            #expect(try await c.get("/v1/artifacts", as: .reader).status == .ok)
            #expect(try await c.get("/v1/deployments", as: .anonymous).status == .unauthorized)
        }
        #expect(try await (f.store as any DeployLedger).artifacts(name: nil, version: nil, limit: 10).isEmpty)
    }
}
