import Foundation
import GRDB
import OttoCore

/// Pipelines in the deployment ledger: error budget baselines, approvals and promotions.
extension SQLiteStateStore {
    public func recordTrafficSample(deployment: Int, _ sample: TrafficSample) async throws {
        try await write("keep the traffic sample of deployment \(deployment)") { db in
            try db.execute(sql: "INSERT OR REPLACE INTO traffic_samples (deployment, at, responses, errors_5xx) VALUES (?, ?, ?, ?)",
                           arguments: [deployment, sample.at.timeIntervalSince1970, sample.responses, sample.errors5xx])
        }
    }

    public func trafficSample(deployment: Int) async throws -> TrafficSample? {
        try await read("read the traffic sample of deployment \(deployment)") { db in
            try Row.fetchOne(db, sql: "SELECT at, responses, errors_5xx FROM traffic_samples WHERE deployment = ?", arguments: [deployment])
                .map { TrafficSample(at: Date(timeIntervalSince1970: $0[0]), responses: $0[1], errors5xx: $0[2]) }
        }
    }

    public func recordApproval(app: String, environment: String, version: String, digest: String, by: String, note: String, at: Date) async throws
        -> Approval {
        try await write("approve \(app) \(version) for \(environment)") { db in
            try db.execute(sql: """
                INSERT INTO approvals (app, environment, version, digest, approved_by, at, note) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [app, environment, version, digest, by, at.timeIntervalSince1970, note])
            return Approval(id: Int(db.lastInsertedRowID), app: app, environment: environment, version: version, digest: digest, by: by,
                            at: at, note: note)
        }
    }

    public func approvals(app: String?, environment: String?, limit: Int) async throws -> [Approval] {
        try await read("list approvals") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, app, environment, version, digest, approved_by, at, note FROM approvals
                WHERE (?1 IS NULL OR app = ?1) AND (?2 IS NULL OR environment = ?2) ORDER BY id DESC LIMIT ?3
                """, arguments: [app, environment, limit]).map {
                Approval(id: $0[0], app: $0[1], environment: $0[2], version: $0[3], digest: $0[4], by: $0[5],
                         at: Date(timeIntervalSince1970: $0[6]), note: $0[7])
            }
        }
    }

    public func recordPromotion(source: Deployment, to: String, by: String, gates: [PromotionGate], at: Date) async throws
        -> (promotion: Promotion, deployment: Deployment) {
        let gateText = gates.map(\.rawValue).joined(separator: ",")
        return try await write("promote deployment \(source.id) to \(to)") { db in
            let now = at.timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO deployments (artifact, environment, state, created_at, created_by, reason) VALUES (?, ?, 'CREATED', ?, ?, ?)
                """, arguments: [source.artifact, to, now, by, "promoted from \(source.environment) (deployment \(source.id))"])
            let deployment = try Self.fetchDeployment(db, Int(db.lastInsertedRowID))!
            try db.execute(sql: """
                INSERT INTO promotions (source_deployment, deployment, from_environment, to_environment, promoted_by, at, gates)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [source.id, deployment.id, source.environment, to, by, now, gateText])
            let promotion = Promotion(id: Int(db.lastInsertedRowID), app: source.app, version: source.version, digest: source.digest,
                                      from: source.environment, to: to, sourceDeployment: source.id, deployment: deployment.id, by: by,
                                      at: at, gates: gates)
            try Self.recordEvent(db, .deploymentCreated, deployment, at: now)
            try Self.recordEvent(db, .deploymentPromoted, deployment, at: now, promotion: promotion)
            return (promotion, deployment)
        }
    }

    public func promotions(app: String?, to: String?, deployment: Int?, limit: Int) async throws -> [Promotion] {
        try await read("list promotions") { db in
            try Row.fetchAll(db, sql: """
                SELECT p.id, a.name, a.version, a.digest, p.from_environment, p.to_environment, p.source_deployment, p.deployment,
                       p.promoted_by, p.at, p.gates
                FROM promotions p JOIN deployments d ON d.id = p.deployment JOIN artifacts a ON a.id = d.artifact
                WHERE (?1 IS NULL OR a.name = ?1) AND (?2 IS NULL OR p.to_environment = ?2)
                  AND (?3 IS NULL OR p.deployment = ?3 OR p.source_deployment = ?3)
                ORDER BY p.id DESC LIMIT ?4
                """, arguments: [app, to, deployment, limit]).map { row in
                let gates: String = row[10]
                return Promotion(id: row[0], app: row[1], version: row[2], digest: row[3], from: row[4], to: row[5], sourceDeployment: row[6],
                                 deployment: row[7], by: row[8], at: Date(timeIntervalSince1970: row[9]),
                                 gates: gates.split(separator: ",").compactMap { PromotionGate(rawValue: String($0)) })
            }
        }
    }
}
