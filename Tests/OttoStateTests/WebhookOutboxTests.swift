import Foundation
import OttoCore
@testable import OttoState
import OttoTestSupport
import Testing

/// The webhook outbox of the deployment ledger (SQLite's migration v10-webhooks, PostgreSQL's v3-ledgers), on both
/// backends: a webhook seen for the first time starts at the newest event, each one is sent the events it wants once, and
/// a delivery is kept, with its attempts, until it is delivered.
@Suite struct WebhookOutboxTests {
    @Test(arguments: StoreBackend.allCases)
    func deliveriesAreQueuedOncePerWebhookAndKeptUntilDelivered(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any DeployLedger
        let all = WebhookSubscription(name: "all", events: [], environments: [])
        let started = WebhookSubscription(name: "started", events: [.deploymentStarted], environments: [])
        let prod = WebhookSubscription(name: "prod", events: [], environments: ["prod"])
        let artifact = try await store.registerArtifact(name: "hello", version: "1.0.0", digest: String(repeating: "ab", count: 32),
                                                        url: nil, by: "ci").artifact
        let d = try await store.createDeployment(artifact: artifact.id, environment: "staging", by: "ci", reason: "")
        // Seen for the first time: no past events.
        try await store.enqueueWebhookEvents([all, started])
        let later = Date().addingTimeInterval(3600)
        #expect(try await store.dueWebhookDeliveries(now: later, limit: 10).isEmpty)
        let moved = try await store.updateDeployment(d.id, state: .started, verification: nil, at: Date())
        try await store.enqueueWebhookEvents([all, started, prod])
        _ = try await store.createDeployment(artifact: artifact.id, environment: "prod", by: "ci", reason: "")
        try await store.enqueueWebhookEvents([all, started, prod])
        try await store.enqueueWebhookEvents([all, started, prod])  // nothing new: nothing queued twice
        let due = try await store.dueWebhookDeliveries(now: later, limit: 10)
        #expect(due.map { "\($0.webhook)#\($0.event)" } == ["all#2", "started#2", "all#3", "prod#3"])
        #expect(due.map(\.kind) == [.deploymentStarted, .deploymentStarted, .deploymentCreated, .deploymentCreated])
        #expect(due.allSatisfy { $0.attempts == 0 && $0.deliveredAt == nil && $0.lastStatus == nil })
        #expect(try await store.dueWebhookDeliveries(now: later, limit: 1).count == 1)
        let body = try #require(due.first?.body)
        #expect(body == (try StateRows.eventBody(.deploymentStarted, moved, at: moved.startedAt!.timeIntervalSince1970, promotion: nil)))
        #expect(body.hasPrefix(#"{"at":""#) && body.contains(#""event":"deployment.started""#))

        try await store.recordWebhookAttempt(webhook: "all", event: 2, status: 500, error: "HTTP 500", delivered: false,
                                             nextAttemptAt: Date(timeIntervalSince1970: 4_000_000_000))
        try await store.recordWebhookAttempt(webhook: "started", event: 2, status: 204, error: nil, delivered: true, nextAttemptAt: nil)
        #expect(try await store.dueWebhookDeliveries(now: later, limit: 10).map { "\($0.webhook)#\($0.event)" } == ["all#3", "prod#3"])
        let retry = try #require(try await store.dueWebhookDeliveries(now: Date(timeIntervalSince1970: 4_000_000_000), limit: 10).first)
        #expect(retry.webhook == "all" && retry.event == 2 && retry.attempts == 1 && retry.lastStatus == 500 && retry.lastError == "HTTP 500")
        #expect(retry.nextAttemptAt == Date(timeIntervalSince1970: 4_000_000_000))
        let log = try await store.webhookDeliveries(limit: 10)
        #expect(log.map { "\($0.webhook)#\($0.event)" } == ["all#3", "prod#3", "all#2", "started#2"])
        let sent = try #require(log.last)
        #expect(sent.attempts == 1 && sent.deliveredAt != nil && sent.nextAttemptAt == nil && sent.lastStatus == 204 && sent.lastError == nil)
        #expect(try await store.webhookDeliveries(limit: 2).count == 2)
    }
}
