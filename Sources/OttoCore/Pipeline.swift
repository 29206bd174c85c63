import Foundation

/// One `pipelines/APP.yml`: the environments one app's builds move through, in order, with the gates each
/// environment sets before a build may enter it and what happens when a deploy there fails.
public struct PipelineSpec: Sendable, Hashable {
    /// The app (`pipeline:`, the file's name).
    public var app: String
    /// The site declaring the app (`site:`), nil when only one does.
    public var site: String?
    /// The stages, first to last (the first is deployed from the site's own build; each later one only by promotion).
    public var stages: [PipelineStage]
    /// Where the file's mapping starts.
    public var location: SourceLocation

    /// Creates a pipeline.
    public init(app: String, site: String?, stages: [PipelineStage], location: SourceLocation) {
        self.app = app
        self.site = site
        self.stages = stages
        self.location = location
    }

    /// The stage of `environment`, nil when the pipeline does not go there.
    public func stage(_ environment: String) -> PipelineStage? { stages.first { $0.environment == environment } }

    /// The stage before `environment`'s (where a promotion to it comes from), nil for the first or an unknown one.
    public func previous(_ environment: String) -> PipelineStage? {
        guard let i = stages.firstIndex(where: { $0.environment == environment }), i > 0 else { return nil }
        return stages[i - 1]
    }
}

/// One environment of a pipeline and the gates a build must pass, in the environment before it, to enter this one.
public struct PipelineStage: Sendable, Hashable {
    /// The environment (`environments/NAME.yml`).
    public var environment: String
    /// `soak:`: how long the build must have run in the previous environment since its deployment completed.
    public var soak: ConfigDuration?
    /// `error_budget: { max_5xx_per_mille: N }`: the most 5xx responses per 1000 that the previous environment's
    /// haproxy may have answered for the app since the deployment completed.
    public var max5xxPerMille: Int?
    /// `approval: true`: someone must approve the build for this environment (`otto approve`, `POST /v1/approvals`).
    public var approval: Bool
    /// `windows:`: promotions into this environment only inside one of these (none: any time).
    public var windows: [TimeWindow]
    /// `freezes:`: no promotion into this environment inside any of these.
    public var freezes: [Freeze]
    /// `on_failure:`: what a failed deploy in this environment leads to.
    public var onFailure: FailurePolicy
    /// Where the stage is written.
    public var location: SourceLocation

    /// Creates a stage.
    public init(environment: String, soak: ConfigDuration? = nil, max5xxPerMille: Int? = nil, approval: Bool = false,
                windows: [TimeWindow] = [], freezes: [Freeze] = [], onFailure: FailurePolicy = .webhooks,
                location: SourceLocation = SourceLocation(file: "", line: 0, column: 0)) {
        self.environment = environment
        self.soak = soak
        self.max5xxPerMille = max5xxPerMille
        self.approval = approval
        self.windows = windows
        self.freezes = freezes
        self.onFailure = onFailure
        self.location = location
    }
}

/// What a failed deploy of an app in an environment leads to (DeployDB's three choices).
public enum FailurePolicy: String, Sendable, Hashable, CaseIterable {
    /// The last release that succeeded there is deployed again at once, and the app is held on it (as `otto rollback`
    /// does) until the site's version changes or a promotion moves it: nobody has to act.
    case redeployLastGood = "redeploy_last_good"
    /// The failure is recorded and the webhooks are called (`deployment.failed`); the next apply tries the build again.
    case webhooks
    /// The failure is recorded in the ledger only: no webhook is called.
    case ignore
}

/// A weekly time window such as `Mon-Fri 09:00-17:00` (UTC) or `Sat 10:00-12:00 Europe/Berlin`.
public struct TimeWindow: Sendable, Hashable, CustomStringConvertible {
    /// The weekdays it is open, 1 = Monday … 7 = Sunday.
    public var days: Set<Int>
    /// Opening and closing minute of the day (closing after opening; `00:00-24:00` is the whole day).
    public var from: Int, to: Int
    /// The time zone its times are in.
    public var timeZone: TimeZone
    /// The text as written.
    public var text: String

    private static let dayNames = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    /// Parses `[DAYS ]HH:MM-HH:MM[ ZONE]`: DAYS a day (`Mon`), a range (`Mon-Fri`) or a comma list of either; without
    /// DAYS every day; ZONE an IANA name, UTC by default. Throws the reason it is not one.
    public init(parsing text: String) throws(TimeWindowError) {
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard !words.isEmpty, words.count <= 3 else { throw TimeWindowError("expected `[DAYS ]HH:MM-HH:MM[ ZONE]`, e.g. `Mon-Fri 09:00-17:00 UTC`") }
        var zone = TimeZone(identifier: "UTC")!
        if words.count > 1, !words[words.count - 1].contains(":") {
            guard let z = TimeZone(identifier: words[words.count - 1]) else {
                throw TimeWindowError("unknown time zone `\(words[words.count - 1])` (an IANA name such as UTC or Europe/Berlin)")
            }
            zone = z
            words.removeLast()
        }
        var days = Set(1...7)
        if words.count == 2 {
            days = []
            for part in words[0].lowercased().split(separator: ",") {
                let ends = part.split(separator: "-").map { Self.dayNames[String($0.prefix(3))] }
                guard (1...2).contains(ends.count), ends.allSatisfy({ $0 != nil }) else {
                    throw TimeWindowError("`\(words[0])` is not a day or a range of days (Mon, Mon-Fri, Sat,Sun)")
                }
                let a = ends[0]!, b = ends.last!!
                if a <= b { days.formUnion(a...b) } else { days.formUnion(a...7); days.formUnion(1...b) }
            }
            words.removeFirst()
        }
        guard words.count == 1 else { throw TimeWindowError("expected `[DAYS ]HH:MM-HH:MM[ ZONE]`, e.g. `Mon-Fri 09:00-17:00 UTC`") }
        let times = words[0].split(separator: "-").map { t -> Int? in
            let hm = t.split(separator: ":")
            guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }
        guard times.count == 2, let from = times[0], let to = times[1], from < to else {
            throw TimeWindowError("`\(words[0])` is not HH:MM-HH:MM with the first before the second (use two windows across midnight)")
        }
        self.days = days
        self.from = from
        self.to = to
        self.timeZone = zone
        self.text = text
    }

    /// True when `date` is inside the window.
    public func contains(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.weekday, .hour, .minute], from: date)
        let day = ((c.weekday ?? 1) + 5) % 7 + 1  // Calendar: 1 = Sunday
        let minute = (c.hour ?? 0) * 60 + (c.minute ?? 0)
        return days.contains(day) && minute >= from && minute < to
    }

    public var description: String { text }
}

/// Why a time window's text is not one.
public struct TimeWindowError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ text: String) { description = text }
}

/// A period in which no build may enter an environment.
public struct Freeze: Sendable, Hashable {
    /// Its start (inclusive) and end (exclusive).
    public var from: Date, to: Date
    /// Why (shown in the refusal).
    public var reason: String

    /// Creates a freeze.
    public init(from: Date, to: Date, reason: String) {
        self.from = from
        self.to = to
        self.reason = reason
    }
}
