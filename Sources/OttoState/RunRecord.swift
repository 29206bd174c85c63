import Foundation

/// One recorded run of a command that changes things (apply, destroy, refresh, drift correction).
public struct RunRecord: Sendable, Codable, Hashable {
    /// Run id, increasing.
    public var id: Int64
    /// The command, e.g. `otto apply`.
    public var command: String
    /// Who ran it.
    public var user: String
    /// Where it ran.
    public var host: String
    /// When it started.
    public var started: Date
    /// When it finished; nil while running (or when the process died).
    public var finished: Date?
    /// How it ended, e.g. `ok` or `failed`; nil while running.
    public var outcome: String?
    /// A one-line summary, e.g. `3 created, 1 deleted`.
    public var summary: String?

    /// Creates a run record.
    public init(id: Int64, command: String, user: String, host: String, started: Date,
                finished: Date? = nil, outcome: String? = nil, summary: String? = nil) {
        self.id = id
        self.command = command
        self.user = user
        self.host = host
        self.started = started
        self.finished = finished
        self.outcome = outcome
        self.summary = summary
    }
}
