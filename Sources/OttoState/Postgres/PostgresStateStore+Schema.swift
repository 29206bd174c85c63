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
                last_run double precision
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
    ]

    /// Creates the shared `otto` schema and this project's, registers the project and runs the missing migrations, all in
    /// one transaction under the migration lock; returns the project's number. Refuses a schema with migrations this otto
    /// does not know (written by a newer otto).
    static func migrate(_ s: PostgresSession, location: PostgresLocation) throws -> Int32 {
        do {
            return try s.transaction {
                try s.query("SELECT pg_advisory_xact_lock(\(migrationLockKey), 0)")
                try s.executeScript("""
                    CREATE SCHEMA IF NOT EXISTS otto;
                    CREATE TABLE IF NOT EXISTS otto.projects (
                        id serial PRIMARY KEY,
                        name text UNIQUE NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT now()
                    )
                    """)
                try s.query("INSERT INTO otto.projects (name) VALUES (\(location.project)) ON CONFLICT (name) DO NOTHING")
                let key = try s.query("SELECT id FROM otto.projects WHERE name = \(location.project)").first!.decode(Int32.self)
                try s.executeScript("""
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
                    try s.executeScript(migration.sql)
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
