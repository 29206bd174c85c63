import Foundation
import OttoCore
import OttoEngine
import OttoPlan

/// One run (an apply started over the API, or a drift-correction run) as `GET /v1/runs/{id}` shows it.
public struct RunInfo: Sendable {
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

    /// `{"id", "kind", "state", "started_at", "finished_at", "events", "outcome", "error"}`.
    public var json: JSON {
        .object([
            ("id", .string(id)), ("kind", .string(kind)), ("state", .string(state.rawValue)),
            ("started_at", .date(startedAt)), ("finished_at", .date(finishedAt)),
            ("events", .array(events.map(\.json))),
            ("outcome", outcome?.json ?? .null),
            ("error", error.map { .object([("code", .string($0.code)), ("message", .string($0.message))]) } ?? .null),
        ])
    }
}

/// One event of a run: `{"seq", "at", "type", "address", "action", "message"}` (the last three may be null).
public struct RunEvent: Sendable {
    /// 1, 2, 3, ... within the run.
    public var seq: Int
    /// When it happened.
    public var at: Date
    /// `planned`, `started`, `finished`, `failed`, `skipped`, `interrupted`, `handler_started`, `handler_finished`,
    /// `handler_failed`, or `message`.
    public var type: String
    /// The resource it is about.
    public var address: String?
    /// The action (`create`, `update`, `replace`, `delete`).
    public var action: String?
    /// Details: a failure's message, a skip's cause, a handler's name, seconds taken.
    public var message: String?

    /// Creates an event.
    public init(seq: Int, at: Date, type: String, address: String? = nil, action: String? = nil, message: String? = nil) {
        self.seq = seq
        self.at = at
        self.type = type
        self.address = address
        self.action = action
        self.message = message
    }

    /// The event's JSON.
    public var json: JSON {
        .object([("seq", .int(seq)), ("at", .date(at)), ("type", .string(type)), ("address", .string(address)),
                 ("action", .string(action)), ("message", .string(message))])
    }

    /// The fields of an executor event (seq and time are set by the run book).
    static func fields(_ event: ApplyEvent) -> (type: String, address: String?, action: String?, message: String?) {
        switch event {
        case .started(let a, let action): return ("started", a.description, action.rawValue, nil)
        case .finished(let a, let action, let seconds): return ("finished", a.description, action.rawValue, String(format: "%.3f s", seconds))
        case .failed(let a, let action, let message): return ("failed", a.description, action.rawValue, message)
        case .skipped(let a, let action, let because): return ("skipped", a.description, action.rawValue, "because \(because) did not succeed")
        case .interrupted(let a, let action): return ("interrupted", a.description, action.rawValue, nil)
        case .handlerStarted(let h): return ("handler_started", nil, nil, h.id)
        case .handlerFinished(let h, let failure):
            return failure.map { ("handler_failed", nil, nil, "\(h.id): \($0)") } ?? ("handler_finished", nil, nil, h.id)
        }
    }
}

/// How a run ended: counts by action and the one-line summary.
public struct RunOutcome: Sendable {
    /// True when everything succeeded.
    public var ok: Bool
    /// `3 created, 1 updated, ...`
    public var summary: String
    /// Succeeded creates, updates, replaces, deletes.
    public var created = 0, updated = 0, replaced = 0, deleted = 0
    /// Failed and skipped actions.
    public var failed = 0, skipped = 0
    /// True when a shutdown stopped it.
    public var interrupted = false
    /// Wall time in seconds.
    public var seconds: Double = 0

    /// Creates an outcome.
    public init(ok: Bool, summary: String) {
        self.ok = ok
        self.summary = summary
    }

    /// The outcome of an executor run.
    public init(_ s: ApplySummary) {
        self.init(ok: s.ok, summary: s.line)
        created = s.count(.create)
        updated = s.count(.update)
        replaced = s.count(.replace)
        deleted = s.count(.delete)
        failed = s.failed
        skipped = s.skipped
        interrupted = s.interrupted
        seconds = s.seconds
    }

    /// The outcome's JSON.
    public var json: JSON {
        .object([("ok", .bool(ok)), ("summary", .string(summary)), ("created", .int(created)), ("updated", .int(updated)),
                 ("replaced", .int(replaced)), ("deleted", .int(deleted)), ("failed", .int(failed)), ("skipped", .int(skipped)),
                 ("interrupted", .bool(interrupted)), ("seconds", .double(seconds))])
    }
}
