import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore {
    /// The schema, one migration per version. Processes that open the same state at once run them one after the
    /// other (under `PATH.locks/open.lock`); the early ones are idempotent (`IF NOT EXISTS`, `OR IGNORE`) as well, from
    /// before that lock.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS meta (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    lineage TEXT NOT NULL,
                    serial INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS resources (
                    address TEXT PRIMARY KEY NOT NULL,
                    kind TEXT NOT NULL,
                    provider TEXT NOT NULL,
                    provider_id TEXT NOT NULL,
                    attributes TEXT NOT NULL,
                    dependencies TEXT NOT NULL,
                    updated_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS lock (
                    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                    id TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    host TEXT NOT NULL,
                    user TEXT NOT NULL,
                    command TEXT NOT NULL,
                    since REAL NOT NULL
                );
                CREATE TABLE IF NOT EXISTS runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    command TEXT NOT NULL,
                    user TEXT NOT NULL,
                    host TEXT NOT NULL,
                    started REAL NOT NULL,
                    finished REAL,
                    outcome TEXT,
                    summary TEXT
                );
                """)
            try db.execute(sql: "INSERT OR IGNORE INTO meta (singleton, lineage, serial) VALUES (1, ?, 0)",
                           arguments: [UUID().uuidString.lowercased()])
        }
        migrator.registerMigration("v2-handlers") { db in
            // Handlers (reloads) a change triggered that have not run yet: kept until they succeed.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS handlers (
                    id TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    name TEXT NOT NULL,
                    attributes TEXT NOT NULL,
                    since REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-pending-creates") { db in
            // Creates started but not yet recorded, with the idempotency key the provider attached to them.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS pending_creates (
                    address TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    key TEXT NOT NULL,
                    attributes TEXT NOT NULL,
                    dependencies TEXT NOT NULL,
                    since REAL NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v4-walks") { db in
            // Site walks (`otto walk`, the walk scheduler): one row per walk with its broken links, one per URL requested.
            // Deleting a walk deletes its pages (foreign keys are on in every GRDB connection).
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS walks (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    site TEXT NOT NULL,
                    start_url TEXT NOT NULL,
                    started REAL NOT NULL,
                    finished REAL NOT NULL,
                    depth INTEGER NOT NULL,
                    max_pages INTEGER NOT NULL,
                    page_count INTEGER NOT NULL,
                    broken_count INTEGER NOT NULL,
                    truncated INTEGER NOT NULL,
                    interrupted INTEGER NOT NULL,
                    requests INTEGER NOT NULL,
                    connections INTEGER NOT NULL,
                    resolve TEXT NOT NULL,
                    broken TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS walks_by_site ON walks (site, id);
                CREATE TABLE IF NOT EXISTS walk_pages (
                    walk_id INTEGER NOT NULL REFERENCES walks (id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    depth INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    method TEXT NOT NULL,
                    status INTEGER,
                    time_ms REAL NOT NULL,
                    size INTEGER NOT NULL,
                    content_type TEXT,
                    redirects TEXT,
                    links TEXT,
                    error_code TEXT,
                    error_message TEXT,
                    PRIMARY KEY (walk_id, seq)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5-api-items") { db in
            // Desired state written over the HTTP API (source=api): inventory hosts, zone nameservers and zone records,
            // one row per item, its JSON document read by the same configuration reader as YAML.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS api_items (
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    provider TEXT,
                    document TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (kind, name)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v6-scopes") { db in
            // Per-scope locks and serials: each resource and pending create remembers its site (NULL: account-wide),
            // `serials` counts the writes of each scope, `locks` says who holds the flock of each scope. The single-row
            // `lock` table of earlier versions goes (its holder's lock is not honoured by this otto: it had no flock).
            for table in ["resources", "pending_creates"] where !(try db.columns(in: table).contains { $0.name == "site" }) {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN site TEXT")
            }
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS serials (
                    scope TEXT PRIMARY KEY NOT NULL,
                    serial INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS locks (
                    scope TEXT PRIMARY KEY NOT NULL,
                    id TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    host TEXT NOT NULL,
                    user TEXT NOT NULL,
                    command TEXT NOT NULL,
                    since REAL NOT NULL
                ) WITHOUT ROWID;
                DROP TABLE IF EXISTS lock;
                """)
            // Rows written before sites were recorded: every address otto made then starts with its site's name
            // (`machine.SITE.web[0]`, `dns_zone.SITE`), except account-wide SSH keys.
            for table in ["resources", "pending_creates"] {
                for address in try String.fetchAll(db, sql: "SELECT address FROM \(table) WHERE site IS NULL") {
                    guard let parsed = ResourceAddress(parsing: address), parsed.kind != "ssh_key" else { continue }
                    let site = parsed.name.prefix { $0 != "." && $0 != "[" }
                    try db.execute(sql: "UPDATE \(table) SET site = ? WHERE address = ?", arguments: [String(site), address])
                }
            }
        }
        migrator.registerMigration("v7-releases") { db in
            // The release ledger: one row per release of an app of a site, numbered from 1 per (site, app). Rows are
            // append-only: the triggers refuse deleting a row, changing what it says about its start, and changing a
            // finished row (a finish sets `finished`, `result` and `reason` once).
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS releases (
                    site TEXT NOT NULL,
                    app TEXT NOT NULL,
                    number INTEGER NOT NULL CHECK (number >= 1),
                    version TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    started REAL NOT NULL,
                    finished REAL,
                    result TEXT NOT NULL CHECK (result IN ('started', 'succeeded', 'failed', 'rolled_back')),
                    hosts TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    rollback_of INTEGER,
                    PRIMARY KEY (site, app, number)
                ) WITHOUT ROWID;
                CREATE TRIGGER IF NOT EXISTS releases_no_delete BEFORE DELETE ON releases
                BEGIN SELECT RAISE(ABORT, 'the release ledger is append-only: releases are never deleted'); END;
                CREATE TRIGGER IF NOT EXISTS releases_finish_once BEFORE UPDATE ON releases
                WHEN OLD.finished IS NOT NULL OR OLD.result IS NOT 'started'
                    OR NEW.site IS NOT OLD.site OR NEW.app IS NOT OLD.app OR NEW.number IS NOT OLD.number
                    OR NEW.version IS NOT OLD.version OR NEW.digest IS NOT OLD.digest OR NEW.actor IS NOT OLD.actor
                    OR NEW.started IS NOT OLD.started OR NEW.hosts IS NOT OLD.hosts OR NEW.rollback_of IS NOT OLD.rollback_of
                BEGIN SELECT RAISE(ABORT, 'the release ledger is append-only: a release is finished once'); END;
                """)
        }
        migrator.registerMigration("v8-environment") { db in
            // The environment the state belongs to (NULL: not bound yet; '' a project without environments).
            if !(try db.columns(in: "meta").contains { $0.name == "environment" }) {
                try db.execute(sql: "ALTER TABLE meta ADD COLUMN environment TEXT")
            }
        }
        migrator.registerMigration("v9-deployments") { db in
            // The deployment ledger (DeployDB): artifacts CI registered, deployments of them to environments with their
            // state machine (CREATED → STARTED → COMPLETED | FAILED), and outside verifications. Kept in the project's
            // ledger database (`.otto/deploydb.db`), shared by its environments; the tables exist in every state.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS artifacts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    version TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    url TEXT,
                    registered_at REAL NOT NULL,
                    registered_by TEXT NOT NULL,
                    UNIQUE (name, version)
                );
                CREATE TABLE IF NOT EXISTS deployments (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    artifact INTEGER NOT NULL REFERENCES artifacts (id),
                    environment TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('CREATED', 'STARTED', 'COMPLETED', 'FAILED')),
                    created_at REAL NOT NULL,
                    started_at REAL,
                    finished_at REAL,
                    created_by TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS deployments_by_environment ON deployments (environment, id);
                CREATE TABLE IF NOT EXISTS verifications (
                    deployment INTEGER NOT NULL REFERENCES deployments (id),
                    seq INTEGER NOT NULL,
                    verified_by TEXT NOT NULL,
                    result TEXT NOT NULL CHECK (result IN ('passed', 'failed')),
                    note TEXT NOT NULL,
                    at REAL NOT NULL,
                    PRIMARY KEY (deployment, seq)
                ) WITHOUT ROWID;
                CREATE TRIGGER IF NOT EXISTS deployments_move_once BEFORE UPDATE OF state ON deployments
                WHEN NOT ((OLD.state = 'CREATED' AND NEW.state = 'STARTED')
                          OR (OLD.state = 'STARTED' AND NEW.state IN ('COMPLETED', 'FAILED')))
                BEGIN SELECT RAISE(ABORT, 'deployments move CREATED -> STARTED -> COMPLETED | FAILED only'); END;
                """)
        }
        migrator.registerMigration("v10-webhooks") { db in
            // The ledger's events (written in the transaction of the change that makes them) and the webhook outbox: a
            // cursor per webhook over the events, and one row per (webhook, event) until a 2xx answer.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS ledger_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at REAL NOT NULL,
                    kind TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    deployment INTEGER,
                    body TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS webhook_cursors (
                    webhook TEXT PRIMARY KEY NOT NULL,
                    last_event INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS webhook_deliveries (
                    webhook TEXT NOT NULL,
                    event INTEGER NOT NULL REFERENCES ledger_events (id),
                    attempts INTEGER NOT NULL,
                    next_at REAL,
                    delivered_at REAL,
                    last_status INTEGER,
                    last_error TEXT,
                    PRIMARY KEY (webhook, event)
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_at) WHERE delivered_at IS NULL;
                """)
        }
        migrator.registerMigration("v11-promotions") { db in
            // Pipelines: the error budget's baseline per deployment, approvals, and promotions (the audit of who sent
            // which build where, and which gates it passed).
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS traffic_samples (
                    deployment INTEGER PRIMARY KEY NOT NULL REFERENCES deployments (id),
                    at REAL NOT NULL,
                    responses INTEGER NOT NULL,
                    errors_5xx INTEGER NOT NULL
                );
                CREATE TABLE IF NOT EXISTS approvals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    app TEXT NOT NULL,
                    environment TEXT NOT NULL,
                    version TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    approved_by TEXT NOT NULL,
                    at REAL NOT NULL,
                    note TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS approvals_by_app ON approvals (app, environment);
                CREATE TABLE IF NOT EXISTS promotions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source_deployment INTEGER NOT NULL REFERENCES deployments (id),
                    deployment INTEGER NOT NULL REFERENCES deployments (id),
                    from_environment TEXT NOT NULL,
                    to_environment TEXT NOT NULL,
                    promoted_by TEXT NOT NULL,
                    at REAL NOT NULL,
                    gates TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v12-walkers") { db in
            // Walkers scheduled over HTTP, kept so that they survive a restart of `otto serve`.
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS walkers (
                    site TEXT PRIMARY KEY NOT NULL,
                    every_ms INTEGER NOT NULL,
                    depth INTEGER NOT NULL,
                    max_pages INTEGER NOT NULL,
                    allow TEXT NOT NULL,
                    start_url TEXT NOT NULL,
                    updated_at REAL NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }()

    /// Brings the schema up to date. Refuses an SQLite file that holds other tables but no otto state,
    /// and a state written by a newer otto.
    static func migrate(_ queue: DatabaseQueue, path: String) throws {
        let (foreign, superseded) = try queue.read { db -> (Bool, Bool) in
            let tables = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                """)
            // `grdb_migrations` alone is a state another process is creating right now (the migrator makes that
            // table before the migration's transaction), not a foreign database.
            let foreign = !tables.allSatisfy { $0 == "grdb_migrations" } && !tables.contains("meta")
            let superseded = tables.contains("grdb_migrations") ? try migrator.hasBeenSuperseded(db) : false
            return (foreign, superseded)
        }
        if foreign {
            throw OttoError("state.open", "\(path) is an SQLite database but not an otto state (it has no `meta` "
                            + "table); point --state at another file", causeText: nil)
        }
        if superseded {
            throw OttoError("state.open", "\(path) was written by a newer otto (its schema has migrations this "
                            + "otto does not know); upgrade otto", causeText: nil)
        }
        // The caller holds the open lock: no other otto migrates this file at the same time.
        try migrator.migrate(queue)
    }
}
