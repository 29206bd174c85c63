import Foundation
import Logging
import OttoConfig
import OttoCore
import OttoHTTP
import OttoProviders
import ServiceLifecycle

/// Sends the deployment ledger's events to the project's webhooks (`webhooks/*.yml`), at least once: the events and
/// each webhook's deliveries are rows of the ledger database, so a delivery that failed, or was cut short by a
/// restart, is sent again by the next `otto serve`. Every `tick` it queues new events and sends what is due, one POST
/// per delivery (JSON, `X-Otto-Event`, `X-Otto-Delivery: WEBHOOK-EVENT`, `X-Otto-Signature`); a 2xx answer delivers it,
/// anything else (a status, a timeout, a refused connection) schedules the next attempt after `backoff(attempts)`.
struct WebhookDeliveryService: Service {
    /// A webhook with its secret read.
    struct Target: Sendable {
        let spec: WebhookSpec
        let secret: String
    }

    let outbox: any WebhookOutbox
    let targets: [Target]
    let client: HTTPClient
    let logger: Logger
    var tick: Duration = .milliseconds(250)

    /// The wait before attempt `attempts + 1`: 1 s doubling to at most 30 s.
    static func backoff(_ attempts: Int) -> Duration { .seconds(min(30, 1 << min(attempts, 5))) }

    /// The targets of `project`'s webhooks, their secrets read (a missing secret is an error naming where it was looked for).
    static func targets(_ project: Project) throws -> [Target] {
        try project.webhooks.map { spec in
            Target(spec: spec, secret: try SecretSource.resolve(env: spec.secretEnv, file: spec.secretFile, root: project.root))
        }
    }

    func run() async {
        let byName = Dictionary(targets.map { ($0.spec.name, $0) }, uniquingKeysWith: { a, _ in a })
        // Stops at SIGTERM like the other services: what is not delivered yet stays queued for the next start.
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await outbox.enqueueWebhookEvents(targets.map(\.spec.subscription))
                for delivery in try await outbox.dueWebhookDeliveries(now: Date(), limit: 50) {
                    guard let target = byName[delivery.webhook] else { continue }
                    await send(delivery, to: target)
                }
            } catch {
                logger.error("webhook outbox failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: tick)
        }
    }

    /// One attempt, recorded.
    func send(_ delivery: WebhookDelivery, to target: Target) async {
        let body = Array(delivery.body.utf8)
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPRequest(method: .post, url: target.spec.url, headers: [
            "Content-Type": "application/json", "User-Agent": "otto-webhooks", "X-Otto-Event": delivery.kind.rawValue,
            "X-Otto-Delivery": "\(delivery.webhook)-\(delivery.event)",
            WebhookSignature.header: WebhookSignature.value(secret: target.secret, timestamp: timestamp, body: body),
        ], body: body, timeout: .seconds(10), idempotent: true, label: "webhook")
        request.retry = RetryPolicy.none
        var status: Int?, failure: String?
        do {
            status = try await client.send(request).status
        } catch let error as HTTPError {
            status = error.status
            failure = "\(error)"
        } catch {
            failure = "\(error)"
        }
        let delivered = status.map { (200..<300).contains($0) } ?? false
        let next = delivered ? nil : Date().addingTimeInterval(Double(Self.backoff(delivery.attempts).components.seconds))
        if delivered {
            logger.info("webhook delivered", metadata: ["webhook": "\(delivery.webhook)", "event": "\(delivery.event)",
                                                        "kind": "\(delivery.kind.rawValue)", "attempts": "\(delivery.attempts + 1)"])
        } else {
            logger.warning("webhook not delivered", metadata: ["webhook": "\(delivery.webhook)", "event": "\(delivery.event)",
                                                               "status": "\(status.map(String.init) ?? "none")", "error": "\(failure ?? "")"])
        }
        do {
            try await outbox.recordWebhookAttempt(webhook: delivery.webhook, event: delivery.event, status: status, error: failure,
                                                  delivered: delivered, nextAttemptAt: next)
        } catch {
            logger.error("webhook attempt not recorded", metadata: ["error": "\(error)"])
        }
    }
}
