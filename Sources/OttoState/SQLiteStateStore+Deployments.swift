import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore: DeployLedger {
    static let deploymentSelect = """
        SELECT d.id, d.artifact, a.name, a.version, a.digest, d.environment, d.state, d.created_at, d.started_at, d.finished_at,
               d.created_by, d.reason
        FROM deployments d JOIN artifacts a ON a.id = d.artifact
        """

    public func registerArtifact(name: String, version: String, digest: String, url: String?, by: String) async throws
        -> (artifact: Artifact, created: Bool) {
        let now = Date().timeIntervalSince1970
        return try await write("register artifact \(name) \(version)") { db in
            if let row = try Row.fetchOne(db, sql: "SELECT \(Self.artifactColumns) FROM artifacts WHERE name = ? AND version = ?",
                                          arguments: [name, version]) {
                let existing = Self.decodeArtifact(row)
                guard existing.digest == digest, existing.url == url else {
                    throw OttoError("deploy.conflict", "artifact \(name) \(version) is registered already (id \(existing.id)) with digest "
                                    + "\(existing.digest)\(existing.url.map { " at \($0)" } ?? ""); a version is one build: register "
                                    + "the new build as a new version", causeText: nil)
                }
                return (existing, false)
            }
            try db.execute(sql: "INSERT INTO artifacts (name, version, digest, url, registered_at, registered_by) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, version, digest, url, now, by])
            return (Artifact(id: Int(db.lastInsertedRowID), name: name, version: version, digest: digest, url: url,
                             registeredAt: Date(timeIntervalSince1970: now), registeredBy: by), true)
        }
    }

    public func artifacts(name: String?, version: String?, limit: Int) async throws -> [Artifact] {
        try await read("list artifacts") { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.artifactColumns) FROM artifacts WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR version = ?2)
                ORDER BY id DESC LIMIT ?3
                """, arguments: [name, version, limit]).map(Self.decodeArtifact)
        }
    }

    public func artifact(_ id: Int) async throws -> Artifact? {
        try await read("read artifact \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.artifactColumns) FROM artifacts WHERE id = ?", arguments: [id]).map(Self.decodeArtifact)
        }
    }

    public func createDeployment(artifact: Int, environment: String, by: String, reason: String) async throws -> Deployment {
        let now = Date().timeIntervalSince1970
        return try await write("create a deployment of artifact \(artifact) to \(environment)") { db in
            guard try Int.fetchOne(db, sql: "SELECT id FROM artifacts WHERE id = ?", arguments: [artifact]) != nil else {
                throw OttoError("deploy.not_found", "there is no artifact \(artifact); register it first (POST /v1/artifacts)", causeText: nil)
            }
            try db.execute(sql: """
                INSERT INTO deployments (artifact, environment, state, created_at, created_by, reason) VALUES (?, ?, 'CREATED', ?, ?, ?)
                """, arguments: [artifact, environment, now, by, reason])
            let deployment = try Self.fetchDeployment(db, Int(db.lastInsertedRowID))!
            try Self.recordEvent(db, .deploymentCreated, deployment, at: now)
            return deployment
        }
    }

    public func deployments(_ query: DeploymentQuery) async throws -> [Deployment] {
        try await read("list deployments") { db in
            let rows = try Row.fetchAll(db, sql: """
                \(Self.deploymentSelect)
                WHERE (?1 IS NULL OR a.name = ?1) AND (?2 IS NULL OR d.environment = ?2) AND (?3 IS NULL OR a.version = ?3)
                  AND (?4 IS NULL OR d.state = ?4) AND (?5 IS NULL OR d.created_at >= ?5) AND (?6 IS NULL OR d.created_at < ?6)
                ORDER BY d.id DESC LIMIT ?7
                """, arguments: [query.app, query.environment, query.version, query.state?.rawValue,
                                 query.since?.timeIntervalSince1970, query.until?.timeIntervalSince1970, query.limit])
            return try rows.map { try Self.decodeDeployment($0, db) }
        }
    }

    public func deployment(_ id: Int) async throws -> Deployment? {
        try await read("read deployment \(id)") { db in try Self.fetchDeployment(db, id) }
    }

    public func updateDeployment(_ id: Int, state: DeploymentState?, verification: Verification?, at: Date, events: DeploymentEvents) async throws
        -> Deployment {
        try await write("update deployment \(id)") { db in
            guard let current = try Self.fetchDeployment(db, id) else {
                throw OttoError("deploy.not_found", "there is no deployment \(id)", causeText: nil)
            }
            // Checked before anything is written: a refused move records nothing, the verification included.
            if let state, !current.state.next.contains(state) {
                throw DeploymentTransitionError(id: id, from: current.state, to: state)
            }
            if let verification {
                try db.execute(sql: """
                    INSERT INTO verifications (deployment, seq, verified_by, result, note, at)
                    VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM verifications WHERE deployment = ?), ?, ?, ?, ?)
                    """, arguments: [id, id, verification.by, verification.result.rawValue, verification.note,
                                     verification.at.timeIntervalSince1970])
            }
            if let state {
                let column = state == .started ? "started_at" : "finished_at"
                try db.execute(sql: "UPDATE deployments SET state = ?, \(column) = ? WHERE id = ?",
                               arguments: [state.rawValue, at.timeIntervalSince1970, id])
            }
            let deployment = try Self.fetchDeployment(db, id)!
            if let state, events != .none {
                try Self.recordEvent(db, .entering(state), deployment, at: at.timeIntervalSince1970)
                if events == .rolledBack { try Self.recordEvent(db, .deploymentRolledBack, deployment, at: at.timeIntervalSince1970) }
            }
            return deployment
        }
    }

    /// Writes the event a change makes, in the change's transaction: `{"event", "at", "deployment"}`.
    /// A promotion adds `"promotion"`.
    static func recordEvent(_ db: Database, _ kind: LedgerEventKind, _ deployment: Deployment, at: Double, promotion: Promotion? = nil) throws {
        let body = try StateRows.eventBody(kind, deployment, at: at, promotion: promotion)
        try db.execute(sql: "INSERT INTO ledger_events (at, kind, environment, deployment, body) VALUES (?, ?, ?, ?, ?)",
                       arguments: [at, kind.rawValue, deployment.environment, deployment.id, body])
    }

    static let artifactColumns = "id, name, version, digest, url, registered_at, registered_by"

    static func decodeArtifact(_ row: Row) -> Artifact {
        Artifact(id: row[0], name: row[1], version: row[2], digest: row[3], url: row[4],
                 registeredAt: Date(timeIntervalSince1970: row[5]), registeredBy: row[6])
    }

    static func fetchDeployment(_ db: Database, _ id: Int) throws -> Deployment? {
        try Row.fetchOne(db, sql: "\(deploymentSelect) WHERE d.id = ?", arguments: [id]).map { try decodeDeployment($0, db) }
    }

    static func decodeDeployment(_ row: Row, _ db: Database) throws -> Deployment {
        let id: Int = row[0]
        let verifications = try Row.fetchAll(db, sql: "SELECT verified_by, result, note, at FROM verifications WHERE deployment = ? ORDER BY seq",
                                             arguments: [id]).map { v in
            Verification(by: v[0], result: Verification.Result(rawValue: v[1]) ?? .failed, note: v[2], at: Date(timeIntervalSince1970: v[3]))
        }
        let stateText: String = row[6]
        return Deployment(id: id, artifact: row[1], app: row[2], version: row[3], digest: row[4], environment: row[5],
                          state: DeploymentState(rawValue: stateText) ?? .failed,
                          createdAt: Date(timeIntervalSince1970: row[7]), startedAt: (row[8] as Double?).map(Date.init(timeIntervalSince1970:)),
                          finishedAt: (row[9] as Double?).map(Date.init(timeIntervalSince1970:)), createdBy: row[10], reason: row[11],
                          verifications: verifications)
    }
}

