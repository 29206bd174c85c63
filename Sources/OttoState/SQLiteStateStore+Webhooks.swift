import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: WebhookOutbox {
    public func enqueueWebhookEvents(_ subscriptions: [WebhookSubscription]) async throws {
        guard !subscriptions.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try await write("queue webhook deliveries") { db in
            let newest = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM ledger_events") ?? 0
            for hook in subscriptions {
                guard let cursor = try Int.fetchOne(db, sql: "SELECT last_event FROM webhook_cursors WHERE webhook = ?", arguments: [hook.name]) else {
                    try db.execute(sql: "INSERT INTO webhook_cursors (webhook, last_event) VALUES (?, ?)", arguments: [hook.name, newest])
                    continue
                }
                guard cursor < newest else { continue }
                let events = try Row.fetchAll(db, sql: "SELECT id, kind, environment FROM ledger_events WHERE id > ? ORDER BY id", arguments: [cursor])
                for event in events {
                    let kind = LedgerEventKind(rawValue: event[1])
                    let environment: String = event[2]
                    guard hook.events.isEmpty || kind.map(hook.events.contains) == true,
                          hook.environments.isEmpty || hook.environments.contains(environment) else { continue }
                    try db.execute(sql: "INSERT OR IGNORE INTO webhook_deliveries (webhook, event, attempts, next_at) VALUES (?, ?, 0, ?)",
                                   arguments: [hook.name, event[0] as Int, now])
                }
                try db.execute(sql: "UPDATE webhook_cursors SET last_event = ? WHERE webhook = ?", arguments: [newest, hook.name])
            }
        }
    }

    public func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await read("read due webhook deliveries") { db in
            try Row.fetchAll(db, sql: """
                \(Self.deliverySelect) WHERE d.delivered_at IS NULL AND d.next_at <= ? ORDER BY d.event, d.webhook LIMIT ?
                """, arguments: [now.timeIntervalSince1970, limit]).map(Self.decodeDelivery)
        }
    }

    public func recordWebhookAttempt(webhook: String, event: Int, status: Int?, error: String?, delivered: Bool,
                                     nextAttemptAt: Date?) async throws {
        let now = Date().timeIntervalSince1970
        try await write("record a webhook attempt") { db in
            try db.execute(sql: """
                UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, delivered_at = ?, next_at = ?
                WHERE webhook = ? AND event = ?
                """, arguments: [status, error, delivered ? now : nil, delivered ? nil : nextAttemptAt?.timeIntervalSince1970,
                                 webhook, event])
        }
    }

    public func webhookDeliveries(limit: Int) async throws -> [WebhookDelivery] {
        try await read("read the webhook delivery log") { db in
            try Row.fetchAll(db, sql: "\(Self.deliverySelect) ORDER BY d.event DESC, d.webhook LIMIT ?", arguments: [limit]).map(Self.decodeDelivery)
        }
    }

    static let deliverySelect = """
        SELECT d.webhook, d.event, e.kind, d.attempts, d.delivered_at, d.next_at, d.last_status, d.last_error, e.body
        FROM webhook_deliveries d JOIN ledger_events e ON e.id = d.event
        """

    static func decodeDelivery(_ row: Row) -> WebhookDelivery {
        WebhookDelivery(webhook: row[0], event: row[1], kind: LedgerEventKind(rawValue: row[2]) ?? .deploymentCreated, attempts: row[3],
                        deliveredAt: (row[4] as Double?).map(Date.init(timeIntervalSince1970:)),
                        nextAttemptAt: (row[5] as Double?).map(Date.init(timeIntervalSince1970:)),
                        lastStatus: row[6], lastError: row[7], body: row[8])
    }
}
