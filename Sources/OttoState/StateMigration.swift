import Foundation
import OttoCore

/// One value of a row copied between backends.
enum StateCell: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
}

/// The rows of one table, as the copy moves them.
struct StateTableRows: Sendable {
    var table: String
    var columns: [String]
    var rows: [[StateCell]]
}

/// A store whose tables `StateMigration` can read and fill: both backends, which keep the same tables and columns (the
/// logical names are SQLite's; a backend maps its own differences).
protocol StateTableAccess: Sendable {
    /// The rows of `table` (all of them, by the table's primary key order), the columns as named.
    func copyRows(_ table: String, columns: [String]) async throws -> [[StateCell]]
    /// In one transaction: sets the lineage, serial and environment; sets the per-scope serials; inserts every table's
    /// rows (keeping their ids, and moving id sequences past them).
    func pasteState(lineage: String, serial: Int64, environment: String?, serials: [(String, Int64)],
                    tables: [StateTableRows]) async throws
}

/// `otto state migrate --from URL --to URL`: copies a whole state (resources, pending creates, handlers, per-scope serials,
/// the lineage, runs, API items, walks and the ledgers) from one backend into a new, empty state of another.
public enum StateMigration {
    /// The tables copied, in an order that keeps foreign keys satisfied, with their columns (SQLite's names).
    static let tables: [(String, [String])] = [
        ("resources", ["address", "kind", "provider", "provider_id", "attributes", "dependencies", "updated_at", "site"]),
        ("pending_creates", ["address", "provider", "key", "attributes", "dependencies", "since", "site"]),
        ("handlers", ["id", "provider", "name", "attributes", "since"]),
        ("runs", ["id", "command", "user", "host", "started", "finished", "outcome", "summary"]),
        ("api_items", ["kind", "name", "provider", "document", "updated_at"]),
        ("walks", ["id", "site", "start_url", "started", "finished", "depth", "max_pages", "page_count", "broken_count", "truncated",
                   "interrupted", "requests", "connections", "resolve", "broken"]),
        ("walk_pages", ["walk_id", "seq", "url", "depth", "kind", "method", "status", "time_ms", "size", "content_type", "redirects",
                        "links", "error_code", "error_message"]),
        ("releases", ["site", "app", "number", "version", "digest", "actor", "started", "finished", "result", "hosts", "reason",
                      "rollback_of"]),
        ("artifacts", ["id", "name", "version", "digest", "url", "registered_at", "registered_by"]),
        ("deployments", ["id", "artifact", "environment", "state", "created_at", "started_at", "finished_at", "created_by", "reason"]),
        ("verifications", ["deployment", "seq", "verified_by", "result", "note", "at"]),
        ("ledger_events", ["id", "at", "kind", "environment", "deployment", "body"]),
        ("webhook_cursors", ["webhook", "last_event"]),
        ("webhook_deliveries", ["webhook", "event", "attempts", "next_at", "delivered_at", "last_status", "last_error"]),
        ("traffic_samples", ["deployment", "at", "responses", "errors_5xx"]),
        ("approvals", ["id", "app", "environment", "version", "digest", "approved_by", "at", "note"]),
        ("promotions", ["id", "source_deployment", "deployment", "from_environment", "to_environment", "promoted_by", "at", "gates"]),
        ("walkers", ["site", "every_ms", "depth", "max_pages", "allow", "start_url", "updated_at"]),
    ]

    /// What was copied: rows per table, in copy order.
    public struct Summary: Sendable {
        /// The lineage both states now share.
        public var lineage: String
        /// Rows copied per table (tables with none are left out).
        public var rows: [(table: String, count: Int)]
    }

    /// Copies `source` into `destination`, holding every scope of the source locked meanwhile (so no apply writes it half
    /// way). Refuses a destination that already holds resources, pending creates or runs: migrate into a new state only.
    public static func copy(from source: any StateStore, to destination: any StateStore, command: String = "otto state migrate")
        async throws -> Summary {
        guard let from = source as? any StateTableAccess, let into = destination as? any StateTableAccess else {
            throw OttoError("state.migrate", "these states cannot be copied (only otto's SQLite and PostgreSQL states can)", causeText: nil)
        }
        let existing = try await destination.snapshot()
        let runs = try await destination.runs(limit: 1)
        guard existing.records.isEmpty, existing.pending.isEmpty, runs.isEmpty else {
            throw OttoError("state.migrate", "the destination already holds a state (\(existing.records.count) resources, "
                            + "\(existing.pending.count) pending creates\(runs.isEmpty ? "" : ", runs")); migrate only into a new, "
                            + "empty state; nothing was copied", causeText: nil)
        }
        let scopes = try await source.scopes()
        let lease = try await source.lock(scopes, command: command, timeout: .zero)
        do {
            let snap = try await source.snapshot()
            let meta = try await from.copyRows("meta", columns: ["lineage", "serial", "environment"])
            var environment: String?
            if case .text(let text)? = meta.first?[2] { environment = text }
            var copied: [StateTableRows] = []
            for (table, columns) in tables {
                copied.append(StateTableRows(table: table, columns: columns, rows: try await from.copyRows(table, columns: columns)))
            }
            let serials = snap.serials.map { ($0.key.key, Int64($0.value)) }.sorted { $0.0 < $1.0 }
            try await into.pasteState(lineage: snap.lineage, serial: Int64(snap.serial), environment: environment, serials: serials,
                                      tables: copied)
            await lease.release()
            return Summary(lineage: snap.lineage, rows: copied.filter { !$0.rows.isEmpty }.map { ($0.table, $0.rows.count) })
        } catch {
            await lease.release()
            throw error
        }
    }
}
