import Foundation

/// Why a request got no HTTP answer.
public enum LoadErrorKind: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable, Comparable {
    /// The connection was refused (nothing listens on the port).
    case refused
    /// The connection was reset by the peer (ECONNRESET, or EPIPE while writing the request).
    case reset
    /// The server closed the connection before the answer was complete (end of file).
    case closed
    /// No complete answer within the request timeout (connecting included).
    case timeout
    /// The answer was not valid HTTP/1.1.
    case `protocol`
    /// Any other socket error (unreachable address, no route, ...).
    case other

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Latency percentiles in milliseconds, measured from the moment a request was due (open loop: time spent waiting for
/// a free connection counts) to the end of its answer. Only requests that got an answer (any status) count.
public struct LoadLatency: Sendable, Codable, Equatable {
    /// How many answers the figures are made of.
    public var count: Int
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 99th percentile.
    public var p99: Double
    /// The slowest answer.
    public var max: Double

    /// The percentiles (nearest rank) of latencies in nanoseconds; all zero when there are none.
    init(nanoseconds: [Int64]) {
        let sorted = nanoseconds.sorted()
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Swift.max(0, Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1))
            return milliseconds(sorted[index])
        }
        count = sorted.count
        p50 = rank(0.50)
        p90 = rank(0.90)
        p99 = rank(0.99)
        max = sorted.last.map(milliseconds) ?? 0
    }
}

/// Nanoseconds as milliseconds rounded to the microsecond.
private func milliseconds(_ nanoseconds: Int64) -> Double { (Double(nanoseconds) / 1_000).rounded() / 1_000 }

/// The answers one version gave.
public struct LoadVersionSeen: Sendable, Codable, Equatable {
    /// How many answers carried this `X-App-Version`.
    public var count: Int
    /// Seconds from the start of the run to the first such answer.
    public var firstSeconds: Double
    /// Seconds from the start of the run to the last such answer.
    public var lastSeconds: Double

    enum CodingKeys: String, CodingKey {
        case count
        case firstSeconds = "first_s"
        case lastSeconds = "last_s"
    }
}

/// One answer: when it ended, how long it took (in milliseconds) and which version gave it (kept when
/// `LoadOptions.keepAnswers`; in JSON a triple `[end_ms, latency_ms, version]`).
public struct LoadAnswer: Sendable, Codable, Equatable {
    /// Milliseconds from the start of the run to the end of the answer.
    public var endMs: Double
    /// Milliseconds from the moment the request was due to the end of its answer.
    public var latencyMs: Double
    /// Its `X-App-Version` (`-` when missing).
    public var version: String

    init(endNanoseconds: Int64, latencyNanoseconds: Int64, version: String) {
        endMs = milliseconds(endNanoseconds)
        latencyMs = milliseconds(latencyNanoseconds)
        self.version = version
    }

    public init(from decoder: any Decoder) throws {
        var triple = try decoder.unkeyedContainer()
        endMs = try triple.decode(Double.self)
        latencyMs = try triple.decode(Double.self)
        version = try triple.decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var triple = encoder.unkeyedContainer()
        try triple.encode(endMs)
        try triple.encode(latencyMs)
        try triple.encode(version)
    }
}

/// What happened in one second of the run (requests are placed by the moment their outcome was known).
public struct LoadWindow: Sendable, Codable, Equatable {
    /// The window's start, in whole seconds from the start of the run.
    public var second: Int
    /// Answers with a 2xx status.
    public var ok: Int
    /// Answers with any other status.
    public var non2xx: Int
    /// Requests without an answer (connection errors and timeouts).
    public var errors: Int
    /// Requests that were due but found no free connection within the timeout, or were still waiting at the end.
    public var unsent: Int
    /// Answers by status (2xx included).
    public var statuses: [Int: Int]
    /// Errors by kind.
    public var errorKinds: [LoadErrorKind: Int]
    /// Answers by `X-App-Version` (`-` when the header was missing).
    public var versions: [String: Int]
    /// Latency of this window's answers.
    public var latencyMs: LoadLatency

    enum CodingKeys: String, CodingKey {
        case second, ok, errors, unsent, statuses, versions
        case non2xx = "non_2xx"
        case errorKinds = "error_kinds"
        case latencyMs = "latency_ms"
    }
}

/// The result of a load run: counts, latencies and which version answered when. `LoadReport.json` is what
/// `otto-loadgen` prints on stdout (documented in Tests/LoadGenerator/main.swift).
///
/// Every request that was due is counted exactly once: `scheduled = ok + non2xx + errors + unsent`.
public struct LoadReport: Sendable, Codable, Equatable {
    /// The URL requested.
    public var url: String
    /// The rate asked for (requests per second).
    public var rate: Double
    /// The number of keep-alive connections.
    public var connections: Int
    /// The per-request timeout in seconds.
    public var timeoutSeconds: Double
    /// Wall-clock time of the start (seconds since 1970), to place the run's relative times.
    public var startedUnix: Double
    /// Seconds from the start to the end of the run (the last answer, error or timeout included).
    public var elapsedSeconds: Double
    /// Requests that came due (the rate times the time requests were issued).
    public var scheduled: Int
    /// Requests written to (or being connected for) a connection.
    public var sent: Int
    /// Answers with a 2xx status.
    public var ok: Int
    /// Answers with any other status.
    public var non2xx: Int
    /// Requests without an answer.
    public var errors: Int
    /// Requests never sent (see `LoadWindow.unsent`).
    public var unsent: Int
    /// The most requests ever waiting for a free connection at once (above 0: the connections were all busy).
    public var maxQueued: Int
    /// Answers and errors per second over the time requests were issued.
    public var achievedRate: Double
    /// Answers by status (2xx included).
    public var statuses: [Int: Int]
    /// Errors by kind.
    public var errorKinds: [LoadErrorKind: Int]
    /// Latency of all answers.
    public var latencyMs: LoadLatency
    /// Which versions answered, how often, first and last.
    public var versions: [String: LoadVersionSeen]
    /// One entry per second of the run, from 0, empty seconds included.
    public var timeline: [LoadWindow]
    /// Every answer in the order they ended, when asked for (`LoadOptions.keepAnswers`, `otto-loadgen --answers`).
    public var answers: [LoadAnswer]?

    enum CodingKeys: String, CodingKey {
        case url, rate, connections, scheduled, sent, ok, errors, unsent, statuses, versions, timeline, answers
        case timeoutSeconds = "timeout_s"
        case startedUnix = "started_unix"
        case elapsedSeconds = "elapsed_s"
        case non2xx = "non_2xx"
        case maxQueued = "max_queued"
        case achievedRate = "achieved_rate"
        case errorKinds = "error_kinds"
        case latencyMs = "latency_ms"
    }

    /// Errors of one kind.
    public func errors(_ kind: LoadErrorKind) -> Int { errorKinds[kind] ?? 0 }

    /// The report as JSON (keys sorted, pretty-printed when asked).
    public func json(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        // Encoding plain numbers, strings and dictionaries cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a report printed by `json()` (`otto-loadgen`'s stdout).
    public static func decode(_ json: String) throws -> LoadReport {
        try JSONDecoder().decode(LoadReport.self, from: Data(json.utf8))
    }

    /// One line for people: `N requests in Ts (R/s): ok 2xx, n non-2xx, e errors (kinds), u unsent; latency; versions`.
    public var summary: String {
        func format(_ value: Double) -> String { String(format: "%.1f", value) }
        let kinds = errorKinds.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        let statusText = statuses.filter { !(200..<300).contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let versionText = versions.sorted { $0.value.firstSeconds < $1.value.firstSeconds }
            .map { "\($0.key)=\($0.value.count)" }.joined(separator: " ")
        return "\(scheduled) requests in \(format(elapsedSeconds))s (\(format(achievedRate))/s): \(ok) 2xx, \(non2xx) non-2xx"
            + (statusText.isEmpty ? "" : " (\(statusText))")
            + ", \(errors) errors" + (kinds.isEmpty ? "" : " (\(kinds))")
            + ", \(unsent) unsent; latency ms p50 \(latencyMs.p50) p90 \(latencyMs.p90) p99 \(latencyMs.p99) max \(latencyMs.max)"
            + "; versions " + (versionText.isEmpty ? "none" : versionText)
    }
}
