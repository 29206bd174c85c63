import Foundation
import OttoCore
import PostgresNIO

/// Pipelines in the deployment ledger (`DeployLedger`): error budget baselines, approvals and promotions, in the tables
/// of migration `v3-ledgers`.
extension PostgresStateStore {
    public func recordTrafficSample(deployment: Int, _ sample: TrafficSample) async throws {
        try await write("keep the traffic sample of deployment \(deployment)") { s in
            _ = try s.query("""
                INSERT INTO traffic_samples (deployment, at, responses, errors_5xx)
                VALUES (\(deployment), \(sample.at.timeIntervalSince1970), \(sample.responses), \(sample.errors5xx))
                ON CONFLICT (deployment) DO UPDATE SET at = excluded.at, responses = excluded.responses, errors_5xx = excluded.errors_5xx
                """)
        }
    }

    public func trafficSample(deployment: Int) async throws -> TrafficSample? {
        try await read("read the traffic sample of deployment \(deployment)") { s in
            try s.query("SELECT at, responses, errors_5xx FROM traffic_samples WHERE deployment = \(deployment)").first.map { row in
                let (at, responses, errors) = try row.decode((Double, Int, Int).self)
                return TrafficSample(at: Date(timeIntervalSince1970: at), responses: responses, errors5xx: errors)
            }
        }
    }

    public func recordApproval(app: String, environment: String, version: String, digest: String, by: String, note: String, at: Date) async throws
        -> Approval {
        try await write("approve \(app) \(version) for \(environment)") { s in
            let id = try s.query("""
                INSERT INTO approvals (app, environment, version, digest, approved_by, at, note)
                VALUES (\(app), \(environment), \(version), \(digest), \(by), \(at.timeIntervalSince1970), \(note)) RETURNING id
                """).first!.decode(Int.self)
            return Approval(id: id, app: app, environment: environment, version: version, digest: digest, by: by, at: at, note: note)
        }
    }

    public func approvals(app: String?, environment: String?, limit: Int) async throws -> [Approval] {
        try await read("list approvals") { s in
            try s.query("""
                SELECT id, app, environment, version, digest, approved_by, at, note FROM approvals
                WHERE (\(app)::text IS NULL OR app = \(app)) AND (\(environment)::text IS NULL OR environment = \(environment))
                ORDER BY id DESC LIMIT \(Self.sqlLimit(limit))
                """).map { row in
                let (id, app, environment, version, digest, by, at, note) =
                    try row.decode((Int, String, String, String, String, String, Double, String).self)
                return Approval(id: id, app: app, environment: environment, version: version, digest: digest, by: by,
                                at: Date(timeIntervalSince1970: at), note: note)
            }
        }
    }

    public func recordPromotion(source: Deployment, to: String, by: String, gates: [PromotionGate], at: Date) async throws
        -> (promotion: Promotion, deployment: Deployment) {
        let gateText = gates.map(\.rawValue).joined(separator: ",")
        return try await write("promote deployment \(source.id) to \(to)") { s in
            let now = at.timeIntervalSince1970
            let id = try s.query("""
                INSERT INTO deployments (artifact, environment, state, created_at, created_by, reason)
                VALUES (\(source.artifact), \(to), 'CREATED', \(now), \(by), \("promoted from \(source.environment) (deployment \(source.id))"))
                RETURNING id
                """).first!.decode(Int.self)
            let deployment = try Self.fetchDeployment(s, id)!
            let promotionID = try s.query("""
                INSERT INTO promotions (source_deployment, deployment, from_environment, to_environment, promoted_by, at, gates)
                VALUES (\(source.id), \(deployment.id), \(source.environment), \(to), \(by), \(now), \(gateText)) RETURNING id
                """).first!.decode(Int.self)
            let promotion = Promotion(id: promotionID, app: source.app, version: source.version, digest: source.digest,
                                      from: source.environment, to: to, sourceDeployment: source.id, deployment: deployment.id, by: by,
                                      at: at, gates: gates)
            try Self.recordEvent(s, .deploymentCreated, deployment, at: now)
            try Self.recordEvent(s, .deploymentPromoted, deployment, at: now, promotion: promotion)
            return (promotion, deployment)
        }
    }

    public func promotions(app: String?, to: String?, deployment: Int?, limit: Int) async throws -> [Promotion] {
        try await read("list promotions") { s in
            try s.query("""
                SELECT p.id, a.name, a.version, a.digest, p.from_environment, p.to_environment, p.source_deployment, p.deployment,
                       p.promoted_by, p.at, p.gates
                FROM promotions p JOIN deployments d ON d.id = p.deployment JOIN artifacts a ON a.id = d.artifact
                WHERE (\(app)::text IS NULL OR a.name = \(app)) AND (\(to)::text IS NULL OR p.to_environment = \(to))
                  AND (\(deployment)::int8 IS NULL OR p.deployment = \(deployment) OR p.source_deployment = \(deployment))
                ORDER BY p.id DESC LIMIT \(Self.sqlLimit(limit))
                """).map { row in
                let (id, app, version, digest, from, to, source, deployment, by, at, gates) =
                    try row.decode((Int, String, String, String, String, String, Int, Int, String, Double, String).self)
                return Promotion(id: id, app: app, version: version, digest: digest, from: from, to: to, sourceDeployment: source,
                                 deployment: deployment, by: by, at: Date(timeIntervalSince1970: at),
                                 gates: gates.split(separator: ",").compactMap { PromotionGate(rawValue: String($0)) })
            }
        }
    }
}
