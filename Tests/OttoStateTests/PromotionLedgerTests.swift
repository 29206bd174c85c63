import Foundation
import OttoCore
@testable import OttoState
import OttoTestSupport
import Testing

/// Pipelines in the deployment ledger (migration v11-promotions): promotions with their events, approvals, error
/// budget baselines, the events a deploy's end writes under each failure policy, and artifacts of otto's own builds; on
/// both backends.
@Suite struct PromotionLedgerTests {
    static let digest = String(repeating: "ab", count: 32)

    /// The kinds of the events written by `body`, as a new webhook wanting every event sees them (a webhook seen for the
    /// first time starts at the newest event).
    static func events(_ store: any DeployLedger, _ body: () async throws -> Void) async throws -> [LedgerEventKind] {
        let hook = WebhookSubscription(name: "all-\(UUID().uuidString)", events: [], environments: [])
        try await store.enqueueWebhookEvents([hook])
        try await body()
        try await store.enqueueWebhookEvents([hook])
        return try await store.dueWebhookDeliveries(now: Date().addingTimeInterval(3600), limit: 100).filter { $0.webhook == hook.name }
            .sorted { $0.event < $1.event }.map(\.kind)
    }

    static func completedInStaging(_ store: any DeployLedger) async throws -> Deployment {
        let artifact = try await store.registerArtifact(name: "hello", version: "1.4.0", digest: digest, url: nil, by: "ci").artifact
        let d = try await store.createDeployment(artifact: artifact.id, environment: "staging", by: "ci", reason: "")
        _ = try await store.updateDeployment(d.id, state: .started, verification: nil, at: Date())
        return try await store.updateDeployment(d.id, state: .completed, verification: nil, at: Date())
    }

    @Test(arguments: StoreBackend.allCases)
    func aPromotionCreatesTheNextDeploymentWithItsEventsInOneGo(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any DeployLedger
        let staging = try await Self.completedInStaging(store)
        var result: (promotion: Promotion, deployment: Deployment)?
        let kinds = try await Self.events(store) {
            result = try await store.recordPromotion(source: staging, to: "production", by: "ops@laptop", gates: [.success, .soak], at: Date())
        }
        let (promotion, deployment) = try #require(result)
        #expect(kinds == [.deploymentCreated, .deploymentPromoted])
        #expect(deployment.environment == "production" && deployment.state == .created && deployment.artifact == staging.artifact)
        #expect(deployment.digest == Self.digest && deployment.reason == "promoted from staging (deployment \(staging.id))")
        #expect(promotion.from == "staging" && promotion.to == "production" && promotion.sourceDeployment == staging.id
                && promotion.deployment == deployment.id && promotion.gates == [.success, .soak] && promotion.by == "ops@laptop")
        #expect(try await store.promotions(app: "hello", to: nil, deployment: nil, limit: 10).map(\.id) == [promotion.id])
        #expect(try await store.promotions(app: "other", to: nil, deployment: nil, limit: 10).isEmpty)
        #expect(try await store.promotions(app: nil, to: "production", deployment: staging.id, limit: 10).map(\.id) == [promotion.id])
        #expect(try await store.promotions(app: nil, to: nil, deployment: deployment.id, limit: 10).map(\.id) == [promotion.id])
        #expect(try await store.promotions(app: nil, to: "staging", deployment: nil, limit: 10).isEmpty)
        // the promoted event carries the promotion
    }

    @Test(arguments: StoreBackend.allCases)
    func approvalsAndTrafficSamplesAreKeptPerBuildAndDeployment(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any DeployLedger
        let staging = try await Self.completedInStaging(store)
        let a = try await store.recordApproval(app: "hello", environment: "production", version: "1.4.0", digest: Self.digest, by: "ops",
                                               note: "CAB-12", at: Date(timeIntervalSince1970: 1_800_000_000))
        _ = try await store.recordApproval(app: "hello", environment: "qa", version: "1.4.0", digest: Self.digest, by: "ops", note: "", at: Date())
        #expect(try await store.approvals(app: "hello", environment: "production", limit: 10) == [a])
        #expect(try await store.approvals(app: "hello", environment: nil, limit: 10).map(\.environment) == ["qa", "production"])
        #expect(try await store.approvals(app: nil, environment: nil, limit: 1).count == 1)
        #expect(a.note == "CAB-12" && a.at == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await store.trafficSample(deployment: staging.id) == nil)
        let sample = TrafficSample(at: Date(timeIntervalSince1970: 1_800_000_000.5), responses: 1200, errors5xx: 3)
        try await store.recordTrafficSample(deployment: staging.id, sample)
        #expect(try await store.trafficSample(deployment: staging.id) == sample)
    }

    @Test(arguments: StoreBackend.allCases)
    func aDeploysEndWritesTheEventsItsFailurePolicyAsksFor(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any DeployLedger
        let artifact = try await store.registerArtifact(name: "hello", version: "2.0.0", digest: Self.digest, url: nil, by: "ci").artifact
        func failed(_ events: DeploymentEvents) async throws -> [LedgerEventKind] {
            let d = try await store.createDeployment(artifact: artifact.id, environment: "staging", by: "otto", reason: "")
            _ = try await store.updateDeployment(d.id, state: .started, verification: nil, at: Date())
            return try await Self.events(store) {
                let end = try await store.updateDeployment(d.id, state: .failed, verification: nil, at: Date(), events: events)
                #expect(end.state == .failed)
            }
        }
        #expect(try await failed(.standard) == [.deploymentFailed])
        #expect(try await failed(.rolledBack) == [.deploymentFailed, .deploymentRolledBack])
        #expect(try await failed(.none) == [])
    }

    @Test(arguments: StoreBackend.allCases)
    func ottosOwnBuildsFindTheirArtifactOrGetOneThatCannotClash(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any DeployLedger
        let ci = try await store.registerArtifact(name: "hello", version: "1.0.0", digest: Self.digest, url: "https://ci.example.net/h.tgz", by: "ci").artifact
        // the same build, deployed from a working tree (no URL): CI's artifact, not a conflict
        #expect(try await store.artifactForBuild(name: "hello", version: "1.0.0", digest: Self.digest, url: nil, by: "otto") == ci)
        // a changed tree without a version bump: its own artifact, named after its digest
        let other = String(repeating: "cd", count: 32)
        let changed = try await store.artifactForBuild(name: "hello", version: "1.0.0", digest: other, url: nil, by: "otto")
        #expect(changed.version == "1.0.0+cdcdcdcdcdcd" && changed.digest == other && changed.id != ci.id)
        #expect(try await store.artifactForBuild(name: "hello", version: "1.0.0", digest: other, url: nil, by: "otto") == changed)
        let fresh = try await store.artifactForBuild(name: "hello", version: "1.1.0", digest: String(repeating: "ef", count: 32), url: nil, by: "otto")
        #expect(fresh.version == "1.1.0" && fresh.registeredBy == "otto")
    }
}
