import Foundation
import HTTPTypes
import OttoCore

/// `/v1/artifacts` and `/v1/deployments`: the deployment ledger (DeployDB) of the project, shared by its environments.
/// Bodies are read with their `api:PATH:LINE:COL` for every problem (422 `config.invalid`); a move the state machine
/// refuses is 406 `deploy.transition`.
extension APIHandlers {
    /// The environment a project without environments deploys to.
    static let defaultEnvironment = "default"

    var ledger: any DeployLedger { environment.deployments }

    /// Who is calling, for the ledger: the token's name.
    func actor() throws(APIError) -> String { try APIRequestContext.get().tokenName ?? "anonymous" }

    func listArtifacts(_ input: Operations.listArtifacts.Input) async throws -> Operations.listArtifacts.Output {
        let limit = try Self.limit(input.query.limit)
        let ledger = ledger
        let items = try await Self.call { try await ledger.artifacts(name: input.query.name, version: input.query.version, limit: limit) }
        return .ok(.init(body: .json(ArtifactList(items: items))))
    }

    func registerArtifact(_ input: Operations.registerArtifact.Input) async throws -> Operations.registerArtifact.Output {
        let body = try LedgerBody(try body(), path: "/v1/artifacts",
                                  allowed: ["name", "version", "digest", "url", "deploy_to"], required: ["name", "version", "digest"])
        let name = body.name("name", "app name"), version = body.text("version")
        let digest = body.digest("digest"), url = body.url("url")
        let target = body.environment("deploy_to", known: desired.snapshot.view.environmentNames)
        try body.check()
        let actor = try actor(), ledger = ledger
        let (artifact, created) = try await Self.call {
            try await ledger.registerArtifact(name: name!, version: version!, digest: digest!, url: url, by: actor)
        }
        var deployment: Deployment?
        if let target {
            deployment = try await Self.call {
                try await ledger.createDeployment(artifact: artifact.id, environment: target, by: actor, reason: "registered with deploy_to")
            }
        }
        let answer = ArtifactRegistered(artifact: artifact, deployment: deployment)
        guard created else { return .ok(.init(body: .json(answer))) }
        return .created(.init(headers: .init(Location: "/v1/artifacts/\(artifact.id)"), body: .json(answer)))
    }

    func getArtifact(_ input: Operations.getArtifact.Input) async throws -> Operations.getArtifact.Output {
        let id = input.path.id, ledger = ledger
        guard let artifact = try await Self.call({ try await ledger.artifact(id) }) else { throw APIError.notFound("no artifact \(id)") }
        return .ok(.init(body: .json(artifact)))
    }

    func listDeployments(_ input: Operations.listDeployments.Input) async throws -> Operations.listDeployments.Output {
        let q = input.query
        let query = DeploymentQuery(app: q.app, environment: q.environment, version: q.version,
                                    state: q.state.flatMap { DeploymentState(rawValue: $0.rawValue) },
                                    since: try Self.date(q.since, "since"), until: try Self.date(q.until, "until"),
                                    limit: try Self.limit(q.limit))
        let ledger = ledger
        let items = try await Self.call { try await ledger.deployments(query) }
        return .ok(.init(body: .json(DeploymentList(items: items))))
    }

    func createDeployment(_ input: Operations.createDeployment.Input) async throws -> Operations.createDeployment.Output {
        let body = try LedgerBody(try body(), path: "/v1/deployments", allowed: ["artifact", "environment", "reason"],
                                  required: ["artifact", "environment"])
        let artifact = body.int("artifact")
        let target = body.environment("environment", known: desired.snapshot.view.environmentNames)
        let reason = body.text("reason", allowEmpty: true) ?? ""
        try body.check()
        let actor = try actor(), ledger = ledger
        let deployment = try await Self.call {
            try await ledger.createDeployment(artifact: artifact!, environment: target!, by: actor, reason: reason)
        }
        return .created(.init(headers: .init(Location: "/v1/deployments/\(deployment.id)"), body: .json(deployment)))
    }

    func getDeployment(_ input: Operations.getDeployment.Input) async throws -> Operations.getDeployment.Output {
        let id = input.path.id, ledger = ledger
        guard let deployment = try await Self.call({ try await ledger.deployment(id) }) else {
            throw APIError.notFound("no deployment \(id)")
        }
        return .ok(.init(body: .json(deployment)))
    }

    func updateDeployment(_ input: Operations.updateDeployment.Input) async throws -> Operations.updateDeployment.Output {
        let id = input.path.id
        let body = try LedgerBody(try body(), path: "/v1/deployments/\(id)", allowed: ["state", "verification"], required: [])
        let state = body.state("state")
        let verification = body.verification("verification")
        if state == nil && verification == nil && body.problems.isEmpty {
            body.problem(body.node.location, "give `state` (the next state), `verification` ({\"by\", \"result\", \"note\"}) or both")
        }
        try body.check()
        let ledger = ledger
        let deployment = try await Self.call { try await ledger.updateDeployment(id, state: state, verification: verification, at: Date()) }
        return .ok(.init(body: .json(deployment)))
    }

    func listApprovals(_ input: Operations.listApprovals.Input) async throws -> Operations.listApprovals.Output {
        let ledger = ledger
        let items = try await Self.call { try await ledger.approvals(app: input.query.app, environment: input.query.environment, limit: 1000) }
        return .ok(.init(body: .json(ApprovalList(items: items))))
    }

    /// An approval names the build by version; its digest comes from the version's artifact when not given, and must
    /// agree with it when both are known.
    func approveBuild(_ input: Operations.approveBuild.Input) async throws -> Operations.approveBuild.Output {
        let body = try LedgerBody(try body(), path: "/v1/approvals", allowed: ["app", "environment", "version", "digest", "note"],
                                  required: ["app", "environment", "version"])
        let app = body.name("app", "app name"), version = body.text("version"), given = body.digest("digest")
        let target = body.environment("environment", known: desired.snapshot.view.environmentNames)
        let note = body.text("note", allowEmpty: true) ?? ""
        try body.check()
        let actor = try actor(), ledger = ledger
        let artifact = try await Self.call { try await ledger.artifacts(name: app!, version: version!, limit: 1).first }
        if let artifact, let given, artifact.digest != given {
            throw APIError(.conflict, "deploy.conflict", "\(app!) \(version!) is artifact \(artifact.id) with digest \(artifact.digest), not \(given)")
        }
        guard let digest = given ?? artifact?.digest else {
            throw APIError(.unprocessableContent, "deploy.not_found",
                           "\(app!) \(version!) is not a registered artifact: register it (POST /v1/artifacts) or give its `digest`")
        }
        let approval = try await Self.call {
            try await ledger.recordApproval(app: app!, environment: target!, version: version!, digest: digest, by: actor, note: note, at: Date())
        }
        return .created(.init(body: .json(approval)))
    }

    func listPromotions(_ input: Operations.listPromotions.Input) async throws -> Operations.listPromotions.Output {
        let limit = try Self.limit(input.query.limit), ledger = ledger
        let items = try await Self.call {
            try await ledger.promotions(app: input.query.app, to: nil, deployment: input.query.deployment, limit: limit)
        }
        return .ok(.init(body: .json(PromotionList(items: items))))
    }

    func webhookDeliveries(_ input: Operations.webhookDeliveries.Input) async throws -> Operations.webhookDeliveries.Output {
        let limit = try Self.limit(input.query.limit), ledger = ledger
        let items = try await Self.call { try await ledger.webhookDeliveries(limit: limit) }
        return .ok(.init(body: .json(WebhookDeliveryList(items: items))))
    }

    /// An ISO 8601 time from the query (fractional seconds optional); 400 `query.NAME` when it is not one.
    static func date(_ text: String?, _ name: String) throws(APIError) -> Date? {
        guard let text else { return nil }
        guard let date = ISO8601.date(text) else {
            throw APIError.badRequest("query.\(name)", "\(name) must be an ISO 8601 time such as 2026-12-03T22:00:00Z, got \(JSONQuoted(text))")
        }
        return date
    }

    /// `limit` checked against 1...1000 (default 100).
    static func limit(_ given: Int?) throws(APIError) -> Int {
        let limit = given ?? 100
        guard (1...1000).contains(limit) else { throw APIError.badRequest("query.limit", "limit must be from 1 to 1000, got \(limit)") }
        return limit
    }
}

/// A JSON object body of the ledger's routes, read field by field; every problem is kept with its location and
/// `check()` answers them all at once (422 `config.invalid`).
final class LedgerBody {
    let node: JSONNode
    private(set) var problems: [Diagnostic] = []
    private var fields: [String: JSONNode] = [:]

    convenience init(_ bytes: [UInt8], path: String, allowed: [String], required: [String]) throws(APIError) {
        let node: JSONNode
        do {
            node = try JSONNode.parse(bytes.isEmpty ? Array("{}".utf8) : bytes, file: SourceLocation.apiPrefix + path)
        } catch {
            let lines = error.diagnostics.map(\.description)
            throw APIError(.badRequest, "body.malformed", lines.joined(separator: "; "), details: lines)
        }
        self.init(node: node, allowed: allowed, required: required)
    }

    func problem(_ at: SourceLocation, _ message: String) { problems.append(Diagnostic(at: at, message)) }

    /// Throws every problem found.
    func check() throws(APIError) {
        if !problems.isEmpty { throw APIError.invalid(problems) }
    }

    func text(_ key: String, allowEmpty: Bool = false) -> String? {
        guard let n = fields[key] else { return nil }
        guard case .string(let s)? = n.scalar else { problem(n.location, "expected a string, got \(n.kindDescription)"); return nil }
        if !allowEmpty && s.trimmingCharacters(in: .whitespaces).isEmpty { problem(n.location, "`\(key)` is empty"); return nil }
        return s
    }

    func int(_ key: String) -> Int? {
        guard let n = fields[key] else { return nil }
        guard case .int(let i)? = n.scalar, i >= 1 else { problem(n.location, "expected a number from 1, got \(n.kindDescription)"); return nil }
        return i
    }

    /// A `[a-z0-9-]+` name.
    func name(_ key: String, _ what: String) -> String? {
        guard let s = text(key) else { return nil }
        guard s.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }) else {
            problem(fields[key]!.location, "invalid \(what) \(JSONQuoted(s)): use lowercase letters, digits and `-`")
            return nil
        }
        return s
    }

    /// 64 hex digits (lowercased).
    func digest(_ key: String) -> String? {
        guard let s = text(key) else { return nil }
        let hex = s.hasPrefix("sha256:") ? String(s.dropFirst(7)) : s
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            problem(fields[key]!.location, "`\(key)` must be the bundle's sha256: 64 hex digits, got \(JSONQuoted(s))")
            return nil
        }
        return hex.lowercased()
    }

    /// An https URL.
    func url(_ key: String) -> String? {
        guard let s = text(key) else { return nil }
        guard let url = URL(string: s), url.scheme == "https", url.host?.isEmpty == false else {
            problem(fields[key]!.location, "`\(key)` must be an https URL, got \(JSONQuoted(s))")
            return nil
        }
        return s
    }

    /// One of the project's environments (`default` when it has none).
    func environment(_ key: String, known: [String]) -> String? {
        guard let s = text(key) else { return nil }
        let names = known.isEmpty ? [APIHandlers.defaultEnvironment] : known
        guard names.contains(s) else {
            problem(fields[key]!.location, "no environment \(JSONQuoted(s)); this project has: \(names.joined(separator: ", "))")
            return nil
        }
        return s
    }

    func state(_ key: String) -> DeploymentState? {
        guard let s = text(key) else { return nil }
        guard let state = DeploymentState(rawValue: s) else {
            problem(fields[key]!.location, "unknown state \(JSONQuoted(s)); states: CREATED, STARTED, COMPLETED, FAILED")
            return nil
        }
        return state
    }

    func verification(_ key: String) -> Verification? {
        guard let n = fields[key] else { return nil }
        let inner = LedgerBody(node: n, allowed: ["by", "result", "note"], required: ["by", "result"])
        let by = inner.text("by"), note = inner.text("note", allowEmpty: true) ?? ""
        var result: Verification.Result?
        if let r = inner.text("result") {
            result = Verification.Result(rawValue: r)
            if result == nil { inner.problem(inner.fields["result"]!.location, "`result` is passed or failed, got \(JSONQuoted(r))") }
        }
        problems += inner.problems
        guard let by, let result else { return nil }
        return Verification(by: by, result: result, note: note, at: Date())
    }

    /// The fields of the object `node` (a body, or an object inside one): unknown keys and missing required ones are problems.
    private init(node: JSONNode, allowed: [String], required: [String]) {
        self.node = node
        guard let members = node.entries else {
            problem(node.location, "expected a JSON object, got \(node.kindDescription)")
            return
        }
        for member in members {
            let key = member.key.text ?? ""
            if allowed.contains(key) { fields[key] = member.value } else {
                problem(member.key.location, "unknown key \(JSONQuoted(key)); allowed: \(allowed.joined(separator: ", "))")
            }
        }
        for key in required where fields[key] == nil { problem(node.location, "`\(key)` is required") }
    }
}
