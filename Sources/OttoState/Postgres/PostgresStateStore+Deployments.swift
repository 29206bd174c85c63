import Foundation
import OttoCore
import PostgresNIO

/// The deployment ledger (DeployDB) in `artifacts`, `deployments` and `verifications` (migration `v3-ledgers`), with the
/// state-machine trigger, as `SQLiteStateStore`'s. SQLite serializes every write transaction; here each write locks what
/// it reads before it decides (a table lock for a new artifact, the deployment's row for a move), to the same effect.
extension PostgresStateStore: DeployLedger {
    static let deploymentSelect = """
        SELECT d.id, d.artifact, a.name, a.version, a.digest, d.environment, d.state, d.created_at, d.started_at, d.finished_at,
               d.created_by, d.reason
        FROM deployments d JOIN artifacts a ON a.id = d.artifact
        """
    static let artifactColumns = "id, name, version, digest, url, registered_at, registered_by"

    public func registerArtifact(name: String, version: String, digest: String, url: String?, by: String) async throws
        -> (artifact: Artifact, created: Bool) {
        let now = Date().timeIntervalSince1970
        return try await write("register artifact \(name) \(version)") { s in
            // Registrations one at a time (readers do not wait): the check below and the insert see the same table, and a
            // registration of an existing version uses no id (as in SQLite, ids follow the registrations with no gaps).
            try s.execute("LOCK TABLE artifacts IN SHARE ROW EXCLUSIVE MODE")
            if let row = try s.query("""
                SELECT \(unescaped: Self.artifactColumns) FROM artifacts WHERE name = \(name) AND version = \(version)
                """).first {
                let existing = try Self.decodeArtifact(row)
                guard existing.digest == digest, existing.url == url else {
                    throw OttoError("deploy.conflict", "artifact \(name) \(version) is registered already (id \(existing.id)) with digest "
                                    + "\(existing.digest)\(existing.url.map { " at \($0)" } ?? ""); a version is one build: register "
                                    + "the new build as a new version", causeText: nil)
                }
                return (existing, false)
            }
            let id = try s.query("""
                INSERT INTO artifacts (name, version, digest, url, registered_at, registered_by)
                VALUES (\(name), \(version), \(digest), \(url), \(now), \(by)) RETURNING id
                """).first!.decode(Int.self)
            return (Artifact(id: id, name: name, version: version, digest: digest, url: url,
                             registeredAt: Date(timeIntervalSince1970: now), registeredBy: by), true)
        }
    }

    public func artifacts(name: String?, version: String?, limit: Int) async throws -> [Artifact] {
        try await read("list artifacts") { s in
            try s.query("""
                SELECT \(unescaped: Self.artifactColumns) FROM artifacts
                WHERE (\(name)::text IS NULL OR name = \(name)) AND (\(version)::text IS NULL OR version = \(version))
                ORDER BY id DESC LIMIT \(Self.sqlLimit(limit))
                """).map(Self.decodeArtifact)
        }
    }

    public func artifact(_ id: Int) async throws -> Artifact? {
        try await read("read artifact \(id)") { s in
            try s.query("SELECT \(unescaped: Self.artifactColumns) FROM artifacts WHERE id = \(id)").first.map(Self.decodeArtifact)
        }
    }

    public func createDeployment(artifact: Int, environment: String, by: String, reason: String) async throws -> Deployment {
        let now = Date().timeIntervalSince1970
        return try await write("create a deployment of artifact \(artifact) to \(environment)") { s in
            guard try !s.query("SELECT id FROM artifacts WHERE id = \(artifact)").isEmpty else {
                throw OttoError("deploy.not_found", "there is no artifact \(artifact); register it first (POST /v1/artifacts)", causeText: nil)
            }
            let id = try s.query("""
                INSERT INTO deployments (artifact, environment, state, created_at, created_by, reason)
                VALUES (\(artifact), \(environment), 'CREATED', \(now), \(by), \(reason)) RETURNING id
                """).first!.decode(Int.self)
            let deployment = try Self.fetchDeployment(s, id)!
            try Self.recordEvent(s, .deploymentCreated, deployment, at: now)
            return deployment
        }
    }

    public func deployments(_ query: DeploymentQuery) async throws -> [Deployment] {
        try await read("list deployments") { s in
            let state = query.state?.rawValue
            let since = query.since?.timeIntervalSince1970, until = query.until?.timeIntervalSince1970
            return try s.query("""
                \(unescaped: Self.deploymentSelect)
                WHERE (\(query.app)::text IS NULL OR a.name = \(query.app))
                  AND (\(query.environment)::text IS NULL OR d.environment = \(query.environment))
                  AND (\(query.version)::text IS NULL OR a.version = \(query.version))
                  AND (\(state)::text IS NULL OR d.state = \(state))
                  AND (\(since)::float8 IS NULL OR d.created_at >= \(since))
                  AND (\(until)::float8 IS NULL OR d.created_at < \(until))
                ORDER BY d.id DESC LIMIT \(Self.sqlLimit(query.limit))
                """).map { try Self.decodeDeployment($0, s) }
        }
    }

    public func deployment(_ id: Int) async throws -> Deployment? {
        try await read("read deployment \(id)") { s in try Self.fetchDeployment(s, id) }
    }

    public func updateDeployment(_ id: Int, state: DeploymentState?, verification: Verification?, at: Date, events: DeploymentEvents) async throws
        -> Deployment {
        /// What the transaction found: the deployment after the change, or the move it refused (thrown after the
        /// transaction: `write` reports any error that is not an `OttoError` as `state.write`).
        enum Outcome: Sendable { case done(Deployment), refused(DeploymentState) }
        let outcome = try await write("update deployment \(id)") { s -> Outcome in
            // The row is locked first, so concurrent moves of one deployment check the state machine one after the other.
            guard try !s.query("SELECT id FROM deployments WHERE id = \(id) FOR NO KEY UPDATE").isEmpty,
                  let current = try Self.fetchDeployment(s, id) else {
                throw OttoError("deploy.not_found", "there is no deployment \(id)", causeText: nil)
            }
            // Checked before anything is written: a refused move records nothing, the verification included.
            if let state, !current.state.next.contains(state) { return .refused(current.state) }
            if let verification {
                try s.query("""
                    INSERT INTO verifications (deployment, seq, verified_by, result, note, at)
                    VALUES (\(id), (SELECT COALESCE(MAX(seq), 0) + 1 FROM verifications WHERE deployment = \(id)), \(verification.by),
                            \(verification.result.rawValue), \(verification.note), \(verification.at.timeIntervalSince1970))
                    """)
            }
            if let state {
                let column = state == .started ? "started_at" : "finished_at"
                try s.query("""
                    UPDATE deployments SET state = \(state.rawValue), \(unescaped: column) = \(at.timeIntervalSince1970) WHERE id = \(id)
                    """)
            }
            let deployment = try Self.fetchDeployment(s, id)!
            if let state, events != .none {
                try Self.recordEvent(s, .entering(state), deployment, at: at.timeIntervalSince1970)
                if events == .rolledBack { try Self.recordEvent(s, .deploymentRolledBack, deployment, at: at.timeIntervalSince1970) }
            }
            return .done(deployment)
        }
        switch outcome {
        case .done(let deployment): return deployment
        case .refused(let from): throw DeploymentTransitionError(id: id, from: from, to: state!)
        }
    }

    /// Writes the event a change makes, in the change's transaction (the body: `StateRows.eventBody`). The table is
    /// locked first, to the commit: events are numbered and committed one writer after the other, so a webhook cursor
    /// that has seen event N has seen every event before it (a `bigserial` alone may commit N+1 before N).
    static func recordEvent(_ s: PostgresSession, _ kind: LedgerEventKind, _ deployment: Deployment, at: Double,
                            promotion: Promotion? = nil) throws {
        let body = try StateRows.eventBody(kind, deployment, at: at, promotion: promotion)
        try s.execute("LOCK TABLE ledger_events IN SHARE ROW EXCLUSIVE MODE")
        try s.query("""
            INSERT INTO ledger_events (at, kind, environment, deployment, body)
            VALUES (\(at), \(kind.rawValue), \(deployment.environment), \(deployment.id), \(body))
            """)
    }

    /// `LIMIT`'s argument for `limit` as SQLite reads it: a negative limit is none (PostgreSQL refuses one; NULL is none).
    static func sqlLimit(_ limit: Int) -> Int? { limit < 0 ? nil : limit }

    static func decodeArtifact(_ row: PostgresRow) throws -> Artifact {
        let (id, name, version, digest, url, registeredAt, registeredBy) = try row.decode((Int, String, String, String, String?, Double, String).self)
        return Artifact(id: id, name: name, version: version, digest: digest, url: url,
                        registeredAt: Date(timeIntervalSince1970: registeredAt), registeredBy: registeredBy)
    }

    static func fetchDeployment(_ s: PostgresSession, _ id: Int) throws -> Deployment? {
        try s.query("\(unescaped: deploymentSelect) WHERE d.id = \(id)").first.map { try decodeDeployment($0, s) }
    }

    static func decodeDeployment(_ row: PostgresRow, _ s: PostgresSession) throws -> Deployment {
        let (id, artifact, app, version, digest, environment, stateText, createdAt, startedAt, finishedAt, createdBy, reason) =
            try row.decode((Int, Int, String, String, String, String, String, Double, Double?, Double?, String, String).self)
        let verifications = try s.query("""
            SELECT verified_by, result, note, at FROM verifications WHERE deployment = \(id) ORDER BY seq
            """).map { v in
            let (by, result, note, at) = try v.decode((String, String, String, Double).self)
            return Verification(by: by, result: Verification.Result(rawValue: result) ?? .failed, note: note, at: Date(timeIntervalSince1970: at))
        }
        return Deployment(id: id, artifact: artifact, app: app, version: version, digest: digest, environment: environment,
                          state: DeploymentState(rawValue: stateText) ?? .failed, createdAt: Date(timeIntervalSince1970: createdAt),
                          startedAt: startedAt.map(Date.init(timeIntervalSince1970:)), finishedAt: finishedAt.map(Date.init(timeIntervalSince1970:)),
                          createdBy: createdBy, reason: reason, verifications: verifications)
    }
}
