import Foundation
import OttoCore
import OttoPlan

/// One event of an apply as people's tools read it: a line of `otto apply --json`, and an item of a run's `events` in
/// the API (`GET /v1/runs/{id}`), one shape for both (described as `RunEvent` in the API's openapi.yaml):
///
/// `{"seq", "at", "type", "address", "action", "message", "seconds"}`; every key is always there, null when it does
/// not apply. `type` is `started`, `finished`, `failed`, `skipped`, `interrupted`, `handler_started`,
/// `handler_finished` or `handler_failed` for executor events, and `planned` or `message` for what a run adds.
/// `message` holds a failure's message, a skip's cause, a handler's name, or a finished action's time in words;
/// `seconds` the time a finished action took.
public struct ApplyEventDocument: Codable, Sendable, Hashable {
    /// 1, 2, 3, ... within the run.
    public var seq: Int
    /// When it happened.
    public var at: Date
    /// What happened (see above).
    public var type: String
    /// The resource it is about.
    public var address: String?
    /// The action (`create`, `update`, `replace`, `delete`).
    public var action: String?
    /// Details in words.
    public var message: String?
    /// How long a finished action took.
    public var seconds: Double?

    /// Creates an event.
    public init(seq: Int, at: Date, type: String, address: String? = nil, action: String? = nil, message: String? = nil,
                seconds: Double? = nil) {
        self.seq = seq
        self.at = at
        self.type = type
        self.address = address
        self.action = action
        self.message = message
        self.seconds = seconds
    }

    /// The document of an executor event.
    public init(_ event: ApplyEvent, seq: Int, at: Date = Date()) {
        switch event {
        case .started(let a, let action):
            self.init(seq: seq, at: at, type: "started", address: a.description, action: action.rawValue)
        case .finished(let a, let action, let seconds):
            self.init(seq: seq, at: at, type: "finished", address: a.description, action: action.rawValue,
                      message: String(format: "%.3f s", seconds), seconds: seconds)
        case .failed(let a, let action, let message):
            self.init(seq: seq, at: at, type: "failed", address: a.description, action: action.rawValue, message: message)
        case .skipped(let a, let action, let because):
            self.init(seq: seq, at: at, type: "skipped", address: a.description, action: action.rawValue,
                      message: "because \(because) did not succeed")
        case .interrupted(let a, let action):
            self.init(seq: seq, at: at, type: "interrupted", address: a.description, action: action.rawValue)
        case .handlerStarted(let h):
            self.init(seq: seq, at: at, type: "handler_started", message: h.id)
        case .handlerFinished(let h, let failure):
            if let failure {
                self.init(seq: seq, at: at, type: "handler_failed", message: "\(h.id): \(failure)")
            } else {
                self.init(seq: seq, at: at, type: "handler_finished", message: h.id)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, type, address, action, message, seconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seq = try c.decode(Int.self, forKey: .seq)
        at = try JSONDate.decode(c, .at)
        type = try c.decode(String.self, forKey: .type)
        address = try c.decodeIfPresent(String.self, forKey: .address)
        action = try c.decodeIfPresent(String.self, forKey: .action)
        message = try c.decodeIfPresent(String.self, forKey: .message)
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds)
    }

    /// Writes every key (null when absent) and the time as ISO 8601 text.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(JSONDate.string(at), forKey: .at)
        try c.encode(type, forKey: .type)
        try c.encode(address, forKey: .address)
        try c.encode(action, forKey: .action)
        try c.encode(message, forKey: .message)
        try c.encode(seconds, forKey: .seconds)
    }
}

/// How an apply ended, as people's tools read it: the last line of `otto apply --json` (with `"type": "summary"`),
/// and a run's `outcome` in the API (described as `RunOutcome` in openapi.yaml):
///
/// `{"ok", "summary", "created", "updated", "replaced", "deleted", "failed", "skipped", "interrupted", "seconds",
///   "state_write_seconds", "state_write_cpu_seconds", "state_transactions"}`.
public struct ApplySummaryDocument: Codable, Sendable, Hashable {
    /// True when everything succeeded.
    public var ok: Bool
    /// `3 created, 1 updated, ...`
    public var summary: String
    /// Succeeded creates, updates, replaces, deletes.
    public var created = 0, updated = 0, replaced = 0, deleted = 0
    /// Failed and skipped actions.
    public var failed = 0, skipped = 0
    /// True when an interrupt stopped it.
    public var interrupted = false
    /// Wall time in seconds.
    public var seconds: Double = 0
    /// Time spent writing state (wall and CPU), in seconds.
    public var stateWriteSeconds: Double = 0, stateWriteCPUSeconds: Double = 0
    /// State transactions committed.
    public var stateTransactions = 0

    enum CodingKeys: String, CodingKey {
        case ok, summary, created, updated, replaced, deleted, failed, skipped, interrupted, seconds
        case stateWriteSeconds = "state_write_seconds"
        case stateWriteCPUSeconds = "state_write_cpu_seconds"
        case stateTransactions = "state_transactions"
    }

    /// Creates an outcome with no counts.
    public init(ok: Bool, summary: String) {
        self.ok = ok
        self.summary = summary
    }

    /// The document of an executor run.
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
        stateWriteSeconds = s.stateWriteSeconds
        stateWriteCPUSeconds = s.stateWriteCPUSeconds
        stateTransactions = s.stateTransactions
    }
}

/// Dates in the JSON documents: ISO 8601 with milliseconds, UTC (`2025-01-31T12:00:00.000Z`), written as text so that
/// the encoder's date strategy does not matter.
enum JSONDate {
    static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func string(_ date: Date) -> String { date.formatted(style) }

    static func decode<K: CodingKey>(_ c: KeyedDecodingContainer<K>, _ key: K) throws -> Date {
        let text = try c.decode(String.self, forKey: key)
        guard let date = try? Date(text, strategy: style) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected an ISO 8601 date, got \(text)")
        }
        return date
    }
}
