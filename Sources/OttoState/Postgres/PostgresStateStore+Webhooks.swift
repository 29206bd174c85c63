import Foundation
import OttoCore
import PostgresNIO

/// The webhook outbox over `ledger_events` (migration `v3-ledgers`): a cursor per webhook, a delivery row per (webhook,
/// event) until a 2xx answer, as `SQLiteStateStore`'s.
extension PostgresStateStore: WebhookOutbox {
    public func enqueueWebhookEvents(_ subscriptions: [WebhookSubscription]) async throws {
        guard !subscriptions.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try await write("queue webhook deliveries") { s in
            // Replicas queue one at a time (as SQLite's writes are), so a new webhook's cursor is made once. Events are
            // committed in id order (`recordEvent`), so every event up to `newest` is visible now and none will appear
            // below it later; the ones committed after `newest` was read wait for the next round.
            try s.execute("LOCK TABLE webhook_cursors IN SHARE ROW EXCLUSIVE MODE")
            let newest = try s.query("SELECT COALESCE(MAX(id), 0) FROM ledger_events").first!.decode(Int.self)
            for hook in subscriptions {
                guard let cursor = try s.query("SELECT last_event FROM webhook_cursors WHERE webhook = \(hook.name)").first?
                    .decode(Int.self) else {
                    try s.query("INSERT INTO webhook_cursors (webhook, last_event) VALUES (\(hook.name), \(newest))")
                    continue
                }
                guard cursor < newest else { continue }
                let events = try s.query("""
                    SELECT id, kind, environment FROM ledger_events WHERE id > \(cursor) AND id <= \(newest) ORDER BY id
                    """)
                for event in events {
                    let (id, kindText, environment) = try event.decode((Int, String, String).self)
                    let kind = LedgerEventKind(rawValue: kindText)
                    guard hook.events.isEmpty || kind.map(hook.events.contains) == true,
                          hook.environments.isEmpty || hook.environments.contains(environment) else { continue }
                    try s.query("""
                        INSERT INTO webhook_deliveries (webhook, event, attempts, next_at) VALUES (\(hook.name), \(id), 0, \(now))
                        ON CONFLICT (webhook, event) DO NOTHING
                        """)
                }
                try s.query("UPDATE webhook_cursors SET last_event = \(newest) WHERE webhook = \(hook.name)")
            }
        }
    }

    public func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await read("read due webhook deliveries") { s in
            try s.query("""
                \(unescaped: Self.deliverySelect) WHERE d.delivered_at IS NULL AND d.next_at <= \(now.timeIntervalSince1970)
                ORDER BY d.event, d.webhook COLLATE "C" LIMIT \(Self.sqlLimit(limit))
                """).map(Self.decodeDelivery)
        }
    }

    public func recordWebhookAttempt(webhook: String, event: Int, status: Int?, error: String?, delivered: Bool,
                                     nextAttemptAt: Date?) async throws {
        let now = Date().timeIntervalSince1970
        let deliveredAt: Double? = delivered ? now : nil
        let nextAt: Double? = delivered ? nil : nextAttemptAt?.timeIntervalSince1970
        try await write("record a webhook attempt") { s in
            _ = try s.query("""
                UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = \(status), last_error = \(error),
                    delivered_at = \(deliveredAt), next_at = \(nextAt)
                WHERE webhook = \(webhook) AND event = \(event)
                """)
        }
    }

    public func webhookDeliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read("read the webhook delivery log") { s in
            try s.query("\(unescaped: Self.deliverySelect) ORDER BY d.event DESC, d.webhook COLLATE \"C\" LIMIT \(Self.sqlLimit(limit))")
                .map(Self.decodeDelivery)
        }
    }

    static let deliverySelect = """
        SELECT d.webhook, d.event, e.kind, d.attempts, d.delivered_at, d.next_at, d.last_status, d.last_error, e.body
        FROM webhook_deliveries d JOIN ledger_events e ON e.id = d.event
        """

    static func decodeDelivery(_ row: PostgresRow) throws -> WebhookDelivery {
        let (webhook, event, kind, attempts, deliveredAt, nextAt, status, error, body) =
            try row.decode((String, Int, String, Int, Double?, Double?, Int?, String?, String).self)
        return WebhookDelivery(webhook: webhook, event: event, kind: LedgerEventKind(rawValue: kind) ?? .deploymentCreated, attempts: attempts,
                               deliveredAt: deliveredAt.map(Date.init(timeIntervalSince1970:)),
                               nextAttemptAt: nextAt.map(Date.init(timeIntervalSince1970:)), lastStatus: status, lastError: error, body: body)
    }
}
