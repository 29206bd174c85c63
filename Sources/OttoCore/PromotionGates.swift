import Foundation

/// A gate of a pipeline stage.
public enum PromotionGate: String, Sendable, Hashable, Codable, CaseIterable {
    /// The build's deployment in the previous environment completed (and no outside check failed it).
    case success
    /// It has run there for the stage's `soak:`.
    case soak
    /// Its 5xx rate there since it completed is within `error_budget:`.
    case errorBudget = "error_budget"
    /// Someone approved it for this environment.
    case approval
    /// Now is inside one of the stage's `windows:`.
    case window
    /// Now is inside none of the stage's `freezes:`.
    case freeze
}

/// A gate that refused a promotion, with what it saw.
public enum GateRefusal: Sendable, Hashable, CustomStringConvertible {
    /// The app was never deployed to the previous environment (of the version asked for).
    case noDeployment(environment: String, version: String?)
    /// Its newest deployment there did not complete (FAILED, or still CREATED or STARTED).
    case notSucceeded(environment: String, deployment: Int, version: String, state: DeploymentState)
    /// An outside check of that deployment failed (`PATCH /v1/deployments/{id}`).
    case verificationFailed(environment: String, deployment: Int, by: String, note: String)
    /// It has not run there for the soak yet.
    case soakNotOver(environment: String, soak: ConfigDuration, remaining: TimeInterval)
    /// Too many 5xx answers there since it completed.
    case errorBudgetExceeded(environment: String, errors: Int, requests: Int, maxPerMille: Int)
    /// The 5xx rate could not be measured (no load balancer, counters reset, no sample, haproxy not reachable).
    case errorBudgetUnmeasured(environment: String, reason: String)
    /// Nobody approved this build for the target environment.
    case notApproved(environment: String, app: String, version: String, digest: String)
    /// Now is outside every window of the target environment.
    case outsideWindow(environment: String, windows: [TimeWindow])
    /// A freeze of the target environment is on.
    case frozen(environment: String, reason: String, until: Date)

    /// The gate that refused.
    public var gate: PromotionGate {
        switch self {
        case .noDeployment, .notSucceeded, .verificationFailed: return .success
        case .soakNotOver: return .soak
        case .errorBudgetExceeded, .errorBudgetUnmeasured: return .errorBudget
        case .notApproved: return .approval
        case .outsideWindow: return .window
        case .frozen: return .freeze
        }
    }

    public var description: String {
        switch self {
        case .noDeployment(let env, let version):
            return "never deployed to \(env)\(version.map { " as version \($0)" } ?? ""): a build enters the pipeline there first"
        case .notSucceeded(let env, let id, let version, let state):
            let what = state == .failed ? "failed in \(env)" : "has not finished in \(env) (\(state.rawValue))"
            return "\(version) \(what): deployment \(id) is \(state.rawValue)"
        case .verificationFailed(let env, let id, let by, let note):
            return "the check \(by) failed deployment \(id) in \(env)\(note.isEmpty ? "" : ": \(note)")"
        case .soakNotOver(let env, let soak, let remaining):
            return "soak not over: \(Self.words(remaining)) more of the \(soak) soak in \(env)"
        case .errorBudgetExceeded(let env, let errors, let requests, let max):
            let rate = requests == 0 ? 0 : Double(errors) * 1000 / Double(requests)
            return "error budget exceeded in \(env): \(errors) 5xx of \(requests) responses since the deployment completed "
                + "(\(String(format: "%.1f", rate))‰, at most \(max)‰)"
        case .errorBudgetUnmeasured(let env, let reason):
            return "error budget not measurable in \(env): \(reason)"
        case .notApproved(let env, let app, let version, let digest):
            return "no approval: nobody approved \(version) (sha256 \(digest.prefix(12))) for \(env); `otto approve \(app) --to \(env)`"
        case .outsideWindow(let env, let windows):
            return "outside the promotion windows of \(env) (\(windows.map(\.text).joined(separator: "; ")))"
        case .frozen(let env, let reason, let until):
            return "\(env) is frozen until \(ISO8601.string(until))\(reason.isEmpty ? "" : ": \(reason)")"
        }
    }

    /// `4m 10s`, `12s`.
    static func words(_ seconds: TimeInterval) -> String {
        let s = max(1, Int(seconds.rounded(.up)))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(s % 60)s" }
        return "\(s / 3600)h \(s % 3600 / 60)m"
    }
}

/// haproxy's counters for an app's backend (summed over its servers and balancers) at one moment.
public struct TrafficSample: Sendable, Hashable, Codable {
    /// When they were read.
    public var at: Date
    /// HTTP responses so far.
    public var responses: Int
    /// 5xx responses so far.
    public var errors5xx: Int

    /// Creates a sample.
    public init(at: Date, responses: Int, errors5xx: Int) {
        self.at = at
        self.responses = responses
        self.errors5xx = errors5xx
    }
}

/// What the error budget gate is given: the sample taken when the deployment completed and one taken now, or why
/// there is none.
public enum TrafficMeasure: Sendable, Hashable {
    case samples(baseline: TrafficSample, now: TrafficSample)
    case unavailable(String)
}

/// An approval of one build (by digest) for one environment.
public struct Approval: Sendable, Hashable, Codable {
    /// Number from 1.
    public var id: Int
    /// The app.
    public var app: String
    /// The environment it may enter.
    public var environment: String
    /// The build approved.
    public var version: String
    /// Its sha256.
    public var digest: String
    /// Who (`user@host`, `api:<token>`).
    public var by: String
    /// When.
    public var at: Date
    /// Why, or a link.
    public var note: String

    /// Creates an approval.
    public init(id: Int, app: String, environment: String, version: String, digest: String, by: String, at: Date, note: String) {
        self.id = id
        self.app = app
        self.environment = environment
        self.version = version
        self.digest = digest
        self.by = by
        self.at = at
        self.note = note
    }

    enum CodingKeys: String, CodingKey { case id, app, environment, version, digest, by, at, note }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(app, forKey: .app)
        try c.encode(environment, forKey: .environment)
        try c.encode(version, forKey: .version)
        try c.encode(digest, forKey: .digest)
        try c.encode(by, forKey: .by)
        try c.encode(ISO8601.string(at), forKey: .at)
        try c.encode(note, forKey: .note)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        app = try c.decode(String.self, forKey: .app)
        environment = try c.decode(String.self, forKey: .environment)
        version = try c.decode(String.self, forKey: .version)
        digest = try c.decode(String.self, forKey: .digest)
        by = try c.decode(String.self, forKey: .by)
        at = try ISO8601.decode(c, .at)
        note = try c.decode(String.self, forKey: .note)
    }
}

/// A promotion: the build of a deployment that completed in one environment, sent on to the next.
public struct Promotion: Sendable, Hashable, Codable {
    /// Number from 1.
    public var id: Int
    /// The app, version and digest promoted.
    public var app: String, version: String, digest: String
    /// From and to.
    public var from: String, to: String
    /// The deployment in `from` whose build it is, and the deployment it created in `to`.
    public var sourceDeployment: Int, deployment: Int
    /// Who and when.
    public var by: String
    public var at: Date
    /// The gates checked (all passed).
    public var gates: [PromotionGate]

    enum CodingKeys: String, CodingKey {
        case id, app, version, digest, from, to, by, at, gates
        case sourceDeployment = "source_deployment", deployment
    }

    /// Creates a promotion.
    public init(id: Int, app: String, version: String, digest: String, from: String, to: String, sourceDeployment: Int,
                deployment: Int, by: String, at: Date, gates: [PromotionGate]) {
        self.id = id
        self.app = app
        self.version = version
        self.digest = digest
        self.from = from
        self.to = to
        self.sourceDeployment = sourceDeployment
        self.deployment = deployment
        self.by = by
        self.at = at
        self.gates = gates
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(app, forKey: .app)
        try c.encode(version, forKey: .version)
        try c.encode(digest, forKey: .digest)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(sourceDeployment, forKey: .sourceDeployment)
        try c.encode(deployment, forKey: .deployment)
        try c.encode(by, forKey: .by)
        try c.encode(ISO8601.string(at), forKey: .at)
        try c.encode(gates, forKey: .gates)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        app = try c.decode(String.self, forKey: .app)
        version = try c.decode(String.self, forKey: .version)
        digest = try c.decode(String.self, forKey: .digest)
        from = try c.decode(String.self, forKey: .from)
        to = try c.decode(String.self, forKey: .to)
        sourceDeployment = try c.decode(Int.self, forKey: .sourceDeployment)
        deployment = try c.decode(Int.self, forKey: .deployment)
        by = try c.decode(String.self, forKey: .by)
        at = try ISO8601.decode(c, .at)
        gates = try c.decode([PromotionGate].self, forKey: .gates)
    }
}

/// `{"items": [Approval, ...]}`, newest first (`GET /v1/approvals`).
public struct ApprovalList: Sendable, Hashable, Codable {
    /// The approvals.
    public var items: [Approval]
    /// Creates a list.
    public init(items: [Approval]) { self.items = items }
}

/// `{"items": [Promotion, ...]}`, newest first (`GET /v1/promotions`).
public struct PromotionList: Sendable, Hashable, Codable {
    /// The promotions.
    public var items: [Promotion]
    /// Creates a list.
    public init(items: [Promotion]) { self.items = items }
}

/// The gates of a promotion, checked without side effects: everything they look at is given.
public enum PromotionGates {
    /// What the gates look at.
    public struct Input: Sendable {
        /// The stage the build would enter.
        public var stage: PipelineStage
        /// The environment it comes from (the stage before).
        public var from: String
        /// The newest deployment of the app in `from` (of the version asked for, when one was).
        public var candidate: Deployment?
        /// The version asked for, if any.
        public var version: String?
        /// Approvals recorded for the app and `stage.environment`.
        public var approvals: [Approval]
        /// The error budget's measure (only read when the stage has one).
        public var traffic: TrafficMeasure
        /// Now.
        public var now: Date

        /// Creates the input.
        public init(stage: PipelineStage, from: String, candidate: Deployment?, version: String?, approvals: [Approval],
                    traffic: TrafficMeasure, now: Date) {
            self.stage = stage
            self.from = from
            self.candidate = candidate
            self.version = version
            self.approvals = approvals
            self.traffic = traffic
            self.now = now
        }
    }

    /// The gates the stage sets, in the order they are checked.
    public static func gates(of stage: PipelineStage) -> [PromotionGate] {
        var out: [PromotionGate] = [.success]
        if stage.soak != nil { out.append(.soak) }
        if stage.max5xxPerMille != nil { out.append(.errorBudget) }
        if stage.approval { out.append(.approval) }
        if !stage.windows.isEmpty { out.append(.window) }
        if !stage.freezes.isEmpty { out.append(.freeze) }
        return out
    }

    /// Every gate that refuses, in the order of ``gates(of:)``; empty when the promotion may go.
    public static func evaluate(_ input: Input) -> [GateRefusal] {
        let stage = input.stage, env = stage.environment
        var out: [GateRefusal] = []
        guard let d = input.candidate else {
            out.append(.noDeployment(environment: input.from, version: input.version))
            return out + calendar(input)
        }
        if d.state != .completed {
            out.append(.notSucceeded(environment: input.from, deployment: d.id, version: d.version, state: d.state))
        } else if let failed = d.verifications.last(where: { $0.result == .failed }) {
            out.append(.verificationFailed(environment: input.from, deployment: d.id, by: failed.by, note: failed.note))
        }
        if let soak = stage.soak {
            let ran = d.state == .completed ? d.finishedAt.map { input.now.timeIntervalSince($0) } ?? 0 : 0
            let remaining = Double(soak.milliseconds) / 1000 - ran
            if remaining > 0 { out.append(.soakNotOver(environment: input.from, soak: soak, remaining: remaining)) }
        }
        if let max = stage.max5xxPerMille, d.state == .completed {
            switch input.traffic {
            case .unavailable(let why):
                out.append(.errorBudgetUnmeasured(environment: input.from, reason: why))
            case .samples(let base, let now):
                let requests = now.responses - base.responses, errors = now.errors5xx - base.errors5xx
                if requests < 0 || errors < 0 {
                    out.append(.errorBudgetUnmeasured(environment: input.from,
                                                      reason: "haproxy's counters went back since the deployment completed (a restart): nothing to compare"))
                } else if errors * 1000 > max * Swift.max(requests, 1) {
                    out.append(.errorBudgetExceeded(environment: input.from, errors: errors, requests: requests, maxPerMille: max))
                }
            }
        }
        if stage.approval, !input.approvals.contains(where: { $0.environment == env && $0.digest == d.digest && $0.version == d.version }) {
            out.append(.notApproved(environment: env, app: d.app, version: d.version, digest: d.digest))
        }
        return out + calendar(input)
    }

    /// The window and freeze gates (they do not depend on the build).
    private static func calendar(_ input: Input) -> [GateRefusal] {
        let stage = input.stage
        var out: [GateRefusal] = []
        if !stage.windows.isEmpty, !stage.windows.contains(where: { $0.contains(input.now) }) {
            out.append(.outsideWindow(environment: stage.environment, windows: stage.windows))
        }
        if let freeze = stage.freezes.first(where: { $0.from <= input.now && input.now < $0.to }) {
            out.append(.frozen(environment: stage.environment, reason: freeze.reason, until: freeze.to))
        }
        return out
    }
}
