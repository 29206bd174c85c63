import Foundation
import OttoCore
import PostgresNIO

extension PostgresStateStore {
    /// The first key of the transaction-level advisory lock every migration runs under (`otto` in ASCII), with 0 as the
    /// second: replicas starting at once on an empty database make the schema once, one after the other.
    static let migrationLockKey: Int32 = 0x6f74_746f

    /// This project's schema, one migration per version, in order. Each runs once, in the transaction that records it in
    /// `schema_migrations`. The SQL runs with `search_path` set to the project's schema.
    static let migrations: [(version: String, sql: String)] = [
        ("v1-core", """
            CREATE TABLE meta (
                singleton integer PRIMARY KEY CHECK (singleton = 1),
                lineage text NOT NULL,
                serial bigint NOT NULL,
                environment text
            );
            INSERT INTO meta (singleton, lineage, serial) VALUES (1, lower(gen_random_uuid()::text), 0);
            -- One row per scope (`site:NAME`, `account`): its number for the advisory lock, its serial, the fencing epoch
            -- every taker bumps, who holds its lock (for display; the advisory lock itself says whether it is held), and
            -- when its drift correction is due next and who ran it last.
            CREATE TABLE scopes (
                scope text PRIMARY KEY,
                id serial UNIQUE,
                serial bigint NOT NULL DEFAULT 0,
                epoch bigint NOT NULL DEFAULT 0,
                lock_id text UNIQUE,
                lock_pid integer,
                lock_host text,
                lock_user text,
                lock_command text,
                lock_since double precision,
                lock_backend integer,
                lock_replica text,
                next_due double precision,
                last_replica text,
                last_run double precision,
                last_outcome text,
                failures integer NOT NULL DEFAULT 0
            );
            CREATE TABLE resources (
                address text PRIMARY KEY,
                kind text NOT NULL,
                provider text NOT NULL,
                provider_id text NOT NULL,
                attributes text NOT NULL,
                dependencies text NOT NULL,
                updated_at double precision NOT NULL,
                site text
            );
            CREATE INDEX resources_by_site ON resources (site);
            CREATE TABLE pending_creates (
                address text PRIMARY KEY,
                provider text NOT NULL,
                key text NOT NULL,
                attributes text NOT NULL,
                dependencies text NOT NULL,
                since double precision NOT NULL,
                site text
            );
            CREATE TABLE handlers (
                id text PRIMARY KEY,
                provider text NOT NULL,
                name text NOT NULL,
                attributes text NOT NULL,
                since double precision NOT NULL
            );
            CREATE TABLE runs (
                id bigserial PRIMARY KEY,
                command text NOT NULL,
                user_name text NOT NULL,
                host text NOT NULL,
                started double precision NOT NULL,
                finished double precision,
                outcome text,
                summary text,
                scopes text NOT NULL DEFAULT '',
                replica text
            );
            """),
        // Site walks (`otto walk`, the walk scheduler): one row per walk with its broken links, one per URL requested;
        // deleting a walk deletes its pages. Desired state written over the HTTP API (source=api), one row per item.
        ("v2-walks-and-api-items", """
            CREATE TABLE walks (
                id bigserial PRIMARY KEY,
                site text NOT NULL,
                start_url text NOT NULL,
                started double precision NOT NULL,
                finished double precision NOT NULL,
                depth bigint NOT NULL,
                max_pages bigint NOT NULL,
                page_count bigint NOT NULL,
                broken_count bigint NOT NULL,
                truncated boolean NOT NULL,
                interrupted boolean NOT NULL,
                requests bigint NOT NULL,
                connections bigint NOT NULL,
                resolve text NOT NULL,
                broken text NOT NULL
            );
            CREATE INDEX walks_by_site ON walks (site, id);
            CREATE TABLE walk_pages (
                walk_id bigint NOT NULL REFERENCES walks (id) ON DELETE CASCADE,
                seq bigint NOT NULL,
                url text NOT NULL,
                depth bigint NOT NULL,
                kind text NOT NULL,
                method text NOT NULL,
                status bigint,
                time_ms double precision NOT NULL,
                size bigint NOT NULL,
                content_type text,
                redirects text,
                links text,
                error_code text,
                error_message text,
                PRIMARY KEY (walk_id, seq)
            );
            CREATE TABLE api_items (
                kind text NOT NULL,
                name text NOT NULL,
                provider text,
                document text NOT NULL,
                updated_at double precision NOT NULL,
                PRIMARY KEY (kind, name)
            );
            """),
        // The ledgers, as SQLite's v7 (releases), v9 (deployments), v10 (webhooks) and v11 (promotions) make them. The
        // release ledger is append-only and deployments move CREATED → STARTED → COMPLETED | FAILED only: trigger
        // functions refuse anything else with SQLite's messages (SQLSTATE 23000, as SQLite's RAISE(ABORT) is a
        // constraint error). The ledger's events are written under `LOCK TABLE ledger_events` (see
        // `PostgresStateStore.recordEvent`), so their ids commit in order and a webhook's cursor never skips one.
        ("v3-ledgers", """
            CREATE TABLE releases (
                site text NOT NULL,
                app text NOT NULL,
                number bigint NOT NULL CHECK (number >= 1),
                version text NOT NULL,
                digest text NOT NULL,
                actor text NOT NULL,
                started double precision NOT NULL,
                finished double precision,
                result text NOT NULL CHECK (result IN ('started', 'succeeded', 'failed', 'rolled_back')),
                hosts text NOT NULL,
                reason text NOT NULL,
                rollback_of bigint,
                PRIMARY KEY (site, app, number)
            );
            CREATE FUNCTION releases_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the release ledger is append-only: releases are never deleted'
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            CREATE TRIGGER releases_no_delete BEFORE DELETE ON releases FOR EACH ROW EXECUTE FUNCTION releases_no_delete();
            CREATE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases FOR EACH STATEMENT EXECUTE FUNCTION releases_no_delete();
            CREATE FUNCTION releases_finish_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.finished IS NOT NULL OR OLD.result IS DISTINCT FROM 'started'
                    OR NEW.site IS DISTINCT FROM OLD.site OR NEW.app IS DISTINCT FROM OLD.app OR NEW.number IS DISTINCT FROM OLD.number
                    OR NEW.version IS DISTINCT FROM OLD.version OR NEW.digest IS DISTINCT FROM OLD.digest
                    OR NEW.actor IS DISTINCT FROM OLD.actor OR NEW.started IS DISTINCT FROM OLD.started
                    OR NEW.hosts IS DISTINCT FROM OLD.hosts OR NEW.rollback_of IS DISTINCT FROM OLD.rollback_of THEN
                    RAISE EXCEPTION 'the release ledger is append-only: a release is finished once'
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER releases_finish_once BEFORE UPDATE ON releases FOR EACH ROW EXECUTE FUNCTION releases_finish_once();

            CREATE TABLE artifacts (
                id bigserial PRIMARY KEY,
                name text NOT NULL,
                version text NOT NULL,
                digest text NOT NULL,
                url text,
                registered_at double precision NOT NULL,
                registered_by text NOT NULL,
                UNIQUE (name, version)
            );
            CREATE TABLE deployments (
                id bigserial PRIMARY KEY,
                artifact bigint NOT NULL REFERENCES artifacts (id),
                environment text NOT NULL,
                state text NOT NULL CHECK (state IN ('CREATED', 'STARTED', 'COMPLETED', 'FAILED')),
                created_at double precision NOT NULL,
                started_at double precision,
                finished_at double precision,
                created_by text NOT NULL,
                reason text NOT NULL
            );
            CREATE INDEX deployments_by_environment ON deployments (environment, id);
            CREATE TABLE verifications (
                deployment bigint NOT NULL REFERENCES deployments (id),
                seq bigint NOT NULL,
                verified_by text NOT NULL,
                result text NOT NULL CHECK (result IN ('passed', 'failed')),
                note text NOT NULL,
                at double precision NOT NULL,
                PRIMARY KEY (deployment, seq)
            );
            CREATE FUNCTION deployments_move_once() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'deployments move CREATED -> STARTED -> COMPLETED | FAILED only'
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            CREATE TRIGGER deployments_move_once BEFORE UPDATE OF state ON deployments FOR EACH ROW
            WHEN (NOT ((OLD.state = 'CREATED' AND NEW.state = 'STARTED')
                       OR (OLD.state = 'STARTED' AND NEW.state IN ('COMPLETED', 'FAILED'))))
            EXECUTE FUNCTION deployments_move_once();

            CREATE TABLE ledger_events (
                id bigserial PRIMARY KEY,
                at double precision NOT NULL,
                kind text NOT NULL,
                environment text NOT NULL,
                deployment bigint,
                body text NOT NULL
            );
            CREATE TABLE webhook_cursors (
                webhook text PRIMARY KEY,
                last_event bigint NOT NULL
            );
            CREATE TABLE webhook_deliveries (
                webhook text NOT NULL,
                event bigint NOT NULL REFERENCES ledger_events (id),
                attempts bigint NOT NULL,
                next_at double precision,
                delivered_at double precision,
                last_status bigint,
                last_error text,
                PRIMARY KEY (webhook, event)
            );
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE delivered_at IS NULL;

            CREATE TABLE traffic_samples (
                deployment bigint PRIMARY KEY REFERENCES deployments (id),
                at double precision NOT NULL,
                responses bigint NOT NULL,
                errors_5xx bigint NOT NULL
            );
            CREATE TABLE approvals (
                id bigserial PRIMARY KEY,
                app text NOT NULL,
                environment text NOT NULL,
                version text NOT NULL,
                digest text NOT NULL,
                approved_by text NOT NULL,
                at double precision NOT NULL,
                note text NOT NULL
            );
            CREATE INDEX approvals_by_app ON approvals (app, environment);
            CREATE TABLE promotions (
                id bigserial PRIMARY KEY,
                source_deployment bigint NOT NULL REFERENCES deployments (id),
                deployment bigint NOT NULL REFERENCES deployments (id),
                from_environment text NOT NULL,
                to_environment text NOT NULL,
                promoted_by text NOT NULL,
                at double precision NOT NULL,
                gates text NOT NULL
            );
            """),
        ("v4-walkers-and-api-version", """
            -- Walkers scheduled over HTTP (they survive a restart of `otto serve`), and a version of the API items that
            -- grows with every write of them, so each replica knows when to read them again.
            CREATE TABLE walkers (
                site text PRIMARY KEY,
                every_ms bigint NOT NULL,
                depth bigint NOT NULL,
                max_pages bigint NOT NULL,
                allow text NOT NULL,
                start_url text NOT NULL,
                updated_at double precision NOT NULL
            );
            ALTER TABLE meta ADD COLUMN api_version bigint NOT NULL DEFAULT 0;
            """),
        ("v5-unfinished-runs", """
            -- Runs with no recorded end, found quickly: whoever takes a scope's lock closes them as `abandoned`.
            CREATE INDEX runs_unfinished ON runs (id) WHERE finished IS NULL;
            """),
    ]

    /// Creates the shared `otto` schema and this project's, registers the project and runs the missing migrations, all in
    /// one transaction under the migration lock; returns the project's number. Refuses a schema with migrations this otto
    /// does not know (written by a newer otto).
    static func migrate(_ s: PostgresSession, location: PostgresLocation) throws -> Int32 {
        do {
            return try s.transaction { s in
                try s.query("SELECT pg_advisory_xact_lock(\(migrationLockKey), 0)")
                try s.execute("""
                    CREATE SCHEMA IF NOT EXISTS otto;
                    CREATE TABLE IF NOT EXISTS otto.projects (
                        id serial PRIMARY KEY,
                        name text UNIQUE NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
                try s.query("INSERT INTO otto.projects (name) VALUES (\(location.project)) ON CONFLICT (name) DO NOTHING")
                let key = try s.query("SELECT id FROM otto.projects WHERE name = \(location.project)").first!.decode(Int32.self)
                try s.execute("""
                    CREATE SCHEMA IF NOT EXISTS "\(location.schema)";
                    CREATE TABLE IF NOT EXISTS "\(location.schema)".schema_migrations (
                        version text PRIMARY KEY,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
                let done = Set(try s.query("SELECT version FROM schema_migrations").map { try $0.decode(String.self) })
                let known = Set(migrations.map(\.version))
                if let newer = done.subtracting(known).sorted().first {
                    throw OttoError("state.open", "the state in \(location) was written by a newer otto (its schema has migration "
                                    + "\(newer), which this otto does not know); upgrade otto", causeText: nil)
                }
                for migration in migrations where !done.contains(migration.version) {
                    try s.execute(migration.sql)
                    try s.query("INSERT INTO schema_migrations (version) VALUES (\(migration.version))")
                }
                return key
            }
        } catch let error as OttoError {
            throw error
        } catch {
            throw OttoError("state.open", "cannot create otto's tables in \(location): \(PostgresLink.reason(error)); the "
                            + "role needs CREATE on the database (or the schemas `otto` and `\(location.schema)` made for it)",
                            causeText: nil)
        }
    }
}
