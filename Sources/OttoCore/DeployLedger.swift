import Foundation

/// Where a deployment is, as DeployDB had it: `CREATED → STARTED → COMPLETED | FAILED`. Every other move is refused
/// (the API answers 406).
public enum DeploymentState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Recorded; nothing has happened yet.
    case created = "CREATED"
    /// The deploy is under way.
    case started = "STARTED"
    /// It ended well (final).
    case completed = "COMPLETED"
    /// It ended badly (final).
    case failed = "FAILED"

    /// The states this one may move to.
    public var next: Set<DeploymentState> {
        switch self {
        case .created: return [.started]
        case .started: return [.completed, .failed]
        case .completed, .failed: return []
        }
    }

    /// True when the deployment is over.
    public var isFinal: Bool { next.isEmpty }
}

/// A deployment move the state machine refuses (the API answers 406, as DeployDB did).
public struct DeploymentTransitionError: Error, CustomStringConvertible, Sendable {
    /// The deployment.
    public let id: Int
    /// Where it is and where it was asked to go.
    public let from: DeploymentState, to: DeploymentState
    /// `deploy.transition`.
    public var code: String { "deploy.transition" }

    /// Creates the error.
    public init(id: Int, from: DeploymentState, to: DeploymentState) {
        self.id = id
        self.from = from
        self.to = to
    }
    public var description: String {
        let allowed = from.next.map(\.rawValue).sorted()
        return "deployment \(id) is \(from.rawValue) and cannot move to \(to.rawValue): "
            + (allowed.isEmpty ? "it is finished" : "from \(from.rawValue) it can only move to \(allowed.joined(separator: " or "))")
    }
}

/// A build a CI job registered: what may be deployed. Identified by its digest (sha256 of the bundle), never rebuilt.
public struct Artifact: Sendable, Hashable, Codable {
    /// Number from 1, in registration order.
    public var id: Int
    /// The app it is a build of (`name` in the API, as a CI job sends it).
    public var name: String
    /// Its version.
    public var version: String
    /// sha256 of the bundle, 64 lowercase hex digits.
    public var digest: String
    /// Where the bundle is (https), or nil for a bundle kept by otto.
    public var url: String?
    /// When it was registered.
    public var registeredAt: Date
    /// Who registered it (the API token's name, or `user@host` for the CLI).
    public var registeredBy: String

    enum CodingKeys: String, CodingKey {
        case id, name, version, digest, url
        case registeredAt = "registered_at"
        case registeredBy = "registered_by"
    }

    /// Creates an artifact.
    public init(id: Int, name: String, version: String, digest: String, url: String?, registeredAt: Date, registeredBy: String) {
        self.id = id
        self.name = name
        self.version = version
        self.digest = digest
        self.url = url
        self.registeredAt = registeredAt
        self.registeredBy = registeredBy
    }

    /// Every key written, `url` as null when there is none.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encode(digest, forKey: .digest)
        try c.encode(url, forKey: .url)
        try c.encode(ISO8601.string(registeredAt), forKey: .registeredAt)
        try c.encode(registeredBy, forKey: .registeredBy)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        version = try c.decode(String.self, forKey: .version)
        digest = try c.decode(String.self, forKey: .digest)
        url = try c.decodeIfPresent(String.self, forKey: .url)
        registeredAt = try ISO8601.decode(c, .registeredAt)
        registeredBy = try c.decode(String.self, forKey: .registeredBy)
    }
}

/// An outside check of a deployment (`PATCH /v1/deployments/{id}`): "verified by job X build 5".
public struct Verification: Sendable, Hashable, Codable {
    /// Who or what verified (`ci/smoke-tests#5`).
    public var by: String
    /// `passed` or `failed`.
    public var result: Result
    /// Free text (a link, a summary).
    public var note: String
    /// When it was recorded.
    public var at: Date

    /// A verification's outcome.
    public enum Result: String, Sendable, Hashable, Codable, CaseIterable { case passed, failed }

    /// Creates a verification.
    public init(by: String, result: Result, note: String, at: Date) {
        self.by = by
        self.result = result
        self.note = note
        self.at = at
    }

    enum CodingKeys: String, CodingKey { case by, result, note, at }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(by, forKey: .by)
        try c.encode(result, forKey: .result)
        try c.encode(note, forKey: .note)
        try c.encode(ISO8601.string(at), forKey: .at)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        by = try c.decode(String.self, forKey: .by)
        result = try c.decode(Result.self, forKey: .result)
        note = try c.decode(String.self, forKey: .note)
        at = try ISO8601.decode(c, .at)
    }
}

/// One deployment of an artifact to an environment: `otto deployments --json`, `GET /v1/deployments/{id}`.
public struct Deployment: Sendable, Hashable, Codable {
    /// Number from 1.
    public var id: Int
    /// The artifact deployed.
    public var artifact: Int
    /// Its app, version and digest (copied: a deployment says what it deployed on its own).
    public var app: String
    /// See `app`.
    public var version: String
    /// See `app`.
    public var digest: String
    /// The environment (`staging`), or `default` for a project without environments.
    public var environment: String
    /// Where it is.
    public var state: DeploymentState
    /// When it was created, started and finished (COMPLETED or FAILED).
    public var createdAt: Date
    /// See `createdAt`.
    public var startedAt: Date?
    /// See `createdAt`.
    public var finishedAt: Date?
    /// Who created it.
    public var createdBy: String
    /// Why (`registered with deploy_to`, `promoted from deployment 3`, a person's words).
    public var reason: String
    /// Outside checks, oldest first.
    public var verifications: [Verification]

    enum CodingKeys: String, CodingKey {
        case id, artifact, app, version, digest, environment, state, reason, verifications
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at", createdBy = "created_by"
    }

    /// Creates a deployment.
    public init(id: Int, artifact: Int, app: String, version: String, digest: String, environment: String, state: DeploymentState,
                createdAt: Date, startedAt: Date?, finishedAt: Date?, createdBy: String, reason: String, verifications: [Verification]) {
        self.id = id
        self.artifact = artifact
        self.app = app
        self.version = version
        self.digest = digest
        self.environment = environment
        self.state = state
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.createdBy = createdBy
        self.reason = reason
        self.verifications = verifications
    }

    /// Every key written, dates as ISO 8601 with milliseconds and null when not reached.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(artifact, forKey: .artifact)
        try c.encode(app, forKey: .app)
        try c.encode(version, forKey: .version)
        try c.encode(digest, forKey: .digest)
        try c.encode(environment, forKey: .environment)
        try c.encode(state, forKey: .state)
        try c.encode(ISO8601.string(createdAt), forKey: .createdAt)
        try c.encode(startedAt.map(ISO8601.string), forKey: .startedAt)
        try c.encode(finishedAt.map(ISO8601.string), forKey: .finishedAt)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(reason, forKey: .reason)
        try c.encode(verifications, forKey: .verifications)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        artifact = try c.decode(Int.self, forKey: .artifact)
        app = try c.decode(String.self, forKey: .app)
        version = try c.decode(String.self, forKey: .version)
        digest = try c.decode(String.self, forKey: .digest)
        environment = try c.decode(String.self, forKey: .environment)
        state = try c.decode(DeploymentState.self, forKey: .state)
        createdAt = try ISO8601.decode(c, .createdAt)
        startedAt = try ISO8601.decodeIfPresent(c, .startedAt)
        finishedAt = try ISO8601.decodeIfPresent(c, .finishedAt)
        createdBy = try c.decode(String.self, forKey: .createdBy)
        reason = try c.decode(String.self, forKey: .reason)
        verifications = try c.decode([Verification].self, forKey: .verifications)
    }
}

/// `{"items": [Artifact, ...]}`, newest first.
public struct ArtifactList: Sendable, Hashable, Codable {
    /// The artifacts.
    public var items: [Artifact]
    /// Creates a list.
    public init(items: [Artifact]) { self.items = items }
}

/// `{"items": [Deployment, ...]}`, newest first.
public struct DeploymentList: Sendable, Hashable, Codable {
    /// The deployments.
    public var items: [Deployment]
    /// Creates a list.
    public init(items: [Deployment]) { self.items = items }
}

/// Which deployments a query wants (every field optional; all given ones must hold).
public struct DeploymentQuery: Sendable, Hashable {
    public var app: String?
    public var environment: String?
    public var version: String?
    public var state: DeploymentState?
    /// Created at or after.
    public var since: Date?
    /// Created before.
    public var until: Date?
    /// At most this many, newest first.
    public var limit: Int

    /// Creates a query.
    public init(app: String? = nil, environment: String? = nil, version: String? = nil, state: DeploymentState? = nil,
                since: Date? = nil, until: Date? = nil, limit: Int = 100) {
        self.app = app
        self.environment = environment
        self.version = version
        self.state = state
        self.since = since
        self.until = until
        self.limit = limit
    }
}

/// The deployment ledger (DeployDB): which artifact is deployed where, and how each deployment went, with the outbox of
/// its webhooks. One per project, shared by its environments. Errors are `OttoError`s: `deploy.not_found`, `deploy.conflict` (a version registered
/// again with another digest or URL), `deploy.transition` (a move the state machine refuses), `state.read`/`state.write`.
public protocol DeployLedger: WebhookOutbox {
    /// Registers an artifact; the same name, version, digest and URL again returns the first one (`created` false).
    func registerArtifact(name: String, version: String, digest: String, url: String?, by: String) async throws
        -> (artifact: Artifact, created: Bool)
    /// Artifacts of `name` (every app when nil) and `version` (every version when nil), newest first.
    func artifacts(name: String?, version: String?, limit: Int) async throws -> [Artifact]
    /// The artifact `id`, or nil.
    func artifact(_ id: Int) async throws -> Artifact?
    /// A new deployment of artifact `artifact` to `environment`, in CREATED.
    func createDeployment(artifact: Int, environment: String, by: String, reason: String) async throws -> Deployment
    /// The deployments the query wants, newest first.
    func deployments(_ query: DeploymentQuery) async throws -> [Deployment]
    /// The deployment `id`, or nil.
    func deployment(_ id: Int) async throws -> Deployment?
    /// In one transaction: adds `verification` (when given) to deployment `id` and moves it to `state` (when given, at
    /// `at`); `deploy.transition`, with nothing written, unless the state machine allows the move.
    func updateDeployment(_ id: Int, state: DeploymentState?, verification: Verification?, at: Date, events: DeploymentEvents) async throws
        -> Deployment
    /// Keeps haproxy's counters for the app taken when deployment `deployment` completed (the error budget's baseline).
    func recordTrafficSample(deployment: Int, _ sample: TrafficSample) async throws
    /// The counters kept for deployment `deployment`, nil when none were.
    func trafficSample(deployment: Int) async throws -> TrafficSample?
    /// Records that `by` approves build `version`/`digest` of `app` for `environment`.
    func recordApproval(app: String, environment: String, version: String, digest: String, by: String, note: String, at: Date) async throws
        -> Approval
    /// The approvals of `app` (every app when nil) for `environment` (every one when nil), newest first, at most `limit`.
    func approvals(app: String?, environment: String?, limit: Int) async throws -> [Approval]
    /// In one transaction: a deployment of `source`'s artifact to `to` (CREATED, `deployment.created`), the promotion
    /// pointing at both, and its `deployment.promoted` event.
    func recordPromotion(source: Deployment, to: String, by: String, gates: [PromotionGate], at: Date) async throws
        -> (promotion: Promotion, deployment: Deployment)
    /// Promotions newest first: of `app`, into environment `to`, of deployment `deployment` (its source or the one it
    /// created); nil matches every one.
    func promotions(app: String?, to: String?, deployment: Int?, limit: Int) async throws -> [Promotion]
}

/// Which events a deployment's move writes.
public enum DeploymentEvents: Sendable, Hashable {
    /// The event of the state entered (`deployment.started`, `.completed`, `.failed`).
    case standard
    /// That event, then `deployment.rolled_back` (a release that took traffic and was moved back).
    case rolledBack
    /// None: the move is recorded in the ledger only (failure policy `ignore`).
    case none
}

extension DeployLedger {
    /// ``updateDeployment(_:state:verification:at:events:)`` with the standard events.
    public func updateDeployment(_ id: Int, state: DeploymentState?, verification: Verification?, at: Date) async throws -> Deployment {
        try await updateDeployment(id, state: state, verification: verification, at: at, events: .standard)
    }

    /// The artifact of `name` with build `digest` (any version), or a new one: `version`, or `VERSION+DIGEST12` when
    /// `version` is registered already with another build (a working tree changed without a version bump).
    public func artifactForBuild(name: String, version: String, digest: String, url: String?, by: String) async throws -> Artifact {
        let known = try await artifacts(name: name, version: nil, limit: 1000)
        if let same = known.first(where: { $0.digest == digest && $0.version == version }) ?? known.first(where: { $0.digest == digest }) {
            return same
        }
        let taken = known.contains { $0.version == version }
        return try await registerArtifact(name: name, version: taken ? "\(version)+\(digest.prefix(12))" : version, digest: digest,
                                          url: url, by: by).artifact
    }
}


/// What `POST /v1/artifacts` answers: the artifact, and the deployment `deploy_to` created (null without it).
public struct ArtifactRegistered: Sendable, Hashable, Codable {
    /// The artifact registered (or found registered already).
    public var artifact: Artifact
    /// The deployment `deploy_to` created.
    public var deployment: Deployment?

    /// Creates an answer.
    public init(artifact: Artifact, deployment: Deployment?) {
        self.artifact = artifact
        self.deployment = deployment
    }

    enum CodingKeys: String, CodingKey { case artifact, deployment }

    /// Both keys always written (`deployment` null without one).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(artifact, forKey: .artifact)
        try c.encode(deployment, forKey: .deployment)
    }
}

/// What the ledger tells webhooks about (`X-Otto-Event`).
public enum LedgerEventKind: String, Sendable, Hashable, Codable, CaseIterable {
    case deploymentCreated = "deployment.created"
    case deploymentStarted = "deployment.started"
    case deploymentCompleted = "deployment.completed"
    case deploymentFailed = "deployment.failed"
    /// A release that took traffic was moved back to the one before (after `deployment.failed`).
    case deploymentRolledBack = "deployment.rolled_back"
    /// A build was promoted: its deployment to the next environment was created (after that `deployment.created`).
    case deploymentPromoted = "deployment.promoted"

    /// The event a deployment entering `state` makes.
    public static func entering(_ state: DeploymentState) -> LedgerEventKind {
        switch state {
        case .created: return .deploymentCreated
        case .started: return .deploymentStarted
        case .completed: return .deploymentCompleted
        case .failed: return .deploymentFailed
        }
    }
}

/// A webhook as the delivery side needs it: its name and which events it wants (the secret stays with the sender).
public struct WebhookSubscription: Sendable, Hashable {
    /// `webhook:` name.
    public var name: String
    /// The events it wants (every kind when empty).
    public var events: Set<LedgerEventKind>
    /// The environments it wants (every one when empty).
    public var environments: Set<String>

    /// Creates a subscription.
    public init(name: String, events: Set<LedgerEventKind>, environments: Set<String>) {
        self.name = name
        self.events = events
        self.environments = environments
    }
}

/// One delivery of one event to one webhook, as the delivery log shows it (`GET /v1/webhooks/deliveries`).
public struct WebhookDelivery: Sendable, Hashable, Codable {
    /// The webhook's name.
    public var webhook: String
    /// The event's number in the ledger (`X-Otto-Delivery` is `WEBHOOK-EVENT`).
    public var event: Int
    /// The event's kind.
    public var kind: LedgerEventKind
    /// Attempts so far.
    public var attempts: Int
    /// When it was delivered (a 2xx answer), nil while it is not.
    public var deliveredAt: Date?
    /// When the next attempt is due (nil once delivered).
    public var nextAttemptAt: Date?
    /// The last answer's status (nil when none came).
    public var lastStatus: Int?
    /// The last failure, in words.
    public var lastError: String?
    /// The JSON body sent (the same bytes every attempt).
    public var body: String

    enum CodingKeys: String, CodingKey {
        case webhook, event, kind, attempts
        case deliveredAt = "delivered_at", nextAttemptAt = "next_attempt_at", lastStatus = "last_status", lastError = "last_error"
    }

    /// Creates a delivery.
    public init(webhook: String, event: Int, kind: LedgerEventKind, attempts: Int, deliveredAt: Date?, nextAttemptAt: Date?,
                lastStatus: Int?, lastError: String?, body: String) {
        self.webhook = webhook
        self.event = event
        self.kind = kind
        self.attempts = attempts
        self.deliveredAt = deliveredAt
        self.nextAttemptAt = nextAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.body = body
    }

    /// Every key written (dates as ISO 8601 or null); the body is not part of the log.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(webhook, forKey: .webhook)
        try c.encode(event, forKey: .event)
        try c.encode(kind, forKey: .kind)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(deliveredAt.map(ISO8601.string), forKey: .deliveredAt)
        try c.encode(nextAttemptAt.map(ISO8601.string), forKey: .nextAttemptAt)
        try c.encode(lastStatus, forKey: .lastStatus)
        try c.encode(lastError, forKey: .lastError)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        webhook = try c.decode(String.self, forKey: .webhook)
        event = try c.decode(Int.self, forKey: .event)
        kind = try c.decode(LedgerEventKind.self, forKey: .kind)
        attempts = try c.decode(Int.self, forKey: .attempts)
        deliveredAt = try ISO8601.decodeIfPresent(c, .deliveredAt)
        nextAttemptAt = try ISO8601.decodeIfPresent(c, .nextAttemptAt)
        lastStatus = try c.decodeIfPresent(Int.self, forKey: .lastStatus)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        body = ""
    }
}

/// `{"items": [WebhookDelivery, ...]}`, newest first.
public struct WebhookDeliveryList: Sendable, Hashable, Codable {
    /// The deliveries.
    public var items: [WebhookDelivery]
    /// Creates a list.
    public init(items: [WebhookDelivery]) { self.items = items }
}

/// The webhook outbox of the deployment ledger: every event is written in the transaction of the change that makes it,
/// and each webhook's deliveries are kept until a 2xx answer, so delivery is at least once, across restarts.
public protocol WebhookOutbox: Sendable {
    /// Queues, for each subscription, the events written since it last looked that it wants (a webhook seen for the
    /// first time starts at the newest event: it is not sent the past).
    func enqueueWebhookEvents(_ subscriptions: [WebhookSubscription]) async throws
    /// Deliveries due by `now` (not delivered, next attempt passed), oldest event first.
    func dueWebhookDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery]
    /// Records an attempt: delivered (status 2xx) or not, with when to try again.
    func recordWebhookAttempt(webhook: String, event: Int, status: Int?, error: String?, delivered: Bool, nextAttemptAt: Date?) async throws
    /// The delivery log, newest first.
    func webhookDeliveries(limit: Int) async throws -> [WebhookDelivery]
}
