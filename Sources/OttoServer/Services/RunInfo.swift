import Foundation
import OttoCore
import OttoEngine
import OttoPlan

/// One run (an apply started over the API, or a drift-correction run) as `GET /v1/runs/{id}` shows it.
public struct RunInfo: Sendable, Encodable, Hashable {
    /// Where a run is.
    public enum State: String, Sendable {
        /// Still going.
        case running
        /// Finished, everything succeeded.
        case succeeded
        /// Finished with failures (or could not start: see `error`).
        case failed
        /// Stopped by a shutdown before everything ran.
        case interrupted
    }

    /// Run id (unique within the server).
    public var id: String
    /// `apply`, `destroy`, `drift`, ...
    public var kind: String
    /// Where it is.
    public var state: State
    /// When it started.
    public var startedAt: Date
    /// When it ended.
    public var finishedAt: Date?
    /// What happened so far, oldest first.
    public var events: [RunEvent]
    /// How it ended, once it has.
    public var outcome: RunOutcome?
    /// Why it failed without an outcome (could not plan, lock held, ...).
    public var error: OttoError?

    /// Creates a run.
    public init(id: String, kind: String, state: State = .running, startedAt: Date = Date(), finishedAt: Date? = nil,
                events: [RunEvent] = [], outcome: RunOutcome? = nil, error: OttoError? = nil) {
        self.id = id
        self.kind = kind
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.events = events
        self.outcome = outcome
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, state, events, outcome, error
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    enum ErrorKeys: String, CodingKey {
        case code, message
    }

    /// `{"id", "kind", "state", "started_at", "finished_at", "events", "outcome", "error"}` (the `Run` of
    /// openapi.yaml): every key written, null when it does not apply; events and outcome in the shapes
    /// `otto apply --json` prints.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encode(state.rawValue, forKey: .state)
        try c.encode(ISO8601.string(startedAt), forKey: .startedAt)
        try c.encode(finishedAt.map(ISO8601.string), forKey: .finishedAt)
        try c.encode(events, forKey: .events)
        try c.encode(outcome, forKey: .outcome)
        if let error {
            var e = c.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error)
            try e.encode(error.code, forKey: .code)
            try e.encode(error.message, forKey: .message)
        } else {
            try c.encodeNil(forKey: .error)
        }
    }

    public static func == (a: RunInfo, b: RunInfo) -> Bool {
        a.id == b.id && a.kind == b.kind && a.state == b.state && a.startedAt == b.startedAt && a.finishedAt == b.finishedAt
            && a.events == b.events && a.outcome == b.outcome && a.error?.code == b.error?.code
            && a.error?.message == b.error?.message
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(state)
        hasher.combine(events.count)
    }
}

/// One event of a run: the shape `otto apply --json` prints (see ``ApplyEventDocument``).
public typealias RunEvent = ApplyEventDocument

/// How a run ended: the shape of the last line of `otto apply --json` (see ``ApplySummaryDocument``).
public typealias RunOutcome = ApplySummaryDocument


