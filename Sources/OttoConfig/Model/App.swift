import OttoCore

/// One `apps:` entry: an application version delivered onto a machine group behind the site's haproxy
/// (docs/config.md, "Apps").
public struct AppSpec: Sendable, Hashable {
    /// `name:`, `[a-z0-9-]+`, unique in the site.
    public var name: String
    /// The machine group that runs it (`on:`).
    public var on: Located<String>
    /// `version:`: what should run (letters, digits, `.`, `_`, `+`, `-`; at most 128 characters).
    public var version: String
    /// `bundle:`: what is unpacked for a release.
    public var bundle: AppBundle
    /// `run:`: how a release runs.
    public var run: AppRunSpec
    /// `port:`: a release listens on `port` or `port + 1` (two slots per machine).
    public var port: Int
    /// `health:`: the HTTP check a release must pass before it gets traffic.
    public var health: AppHealthSpec
    /// `hooks:`: scripts shipped in the bundle.
    public var hooks: AppHooks
    /// `strategy:` (default blue-green).
    public var strategy: AppStrategy
    /// `keep:`: releases kept on disk for an instant rollback (default 3, at least 1).
    public var keep: Int
    /// `drain_timeout:`: how long connections drain before the old release stops (default 30s).
    public var drainTimeout: ConfigDuration
    /// `watch:`: what triggers an automatic rollback after the switch.
    public var watch: AppWatchSpec
    /// `lb:`: a frontend and backend for the app on the site's haproxy machines, when given.
    public var lb: AppLoadBalancerSpec?
    /// Where the entry is declared.
    public var location: SourceLocation
    /// Where `name:` is written.
    public var nameLocation: SourceLocation
    /// Where `port:` is written (where it is declared when it is not).
    public var portLocation: SourceLocation

    /// The two ports a release of the app may listen on: slot `a` (`port`) and slot `b` (`port + 1`); a new release
    /// takes the slot the serving one does not use.
    public var ports: ClosedRange<Int> { port...(port + 1) }
}

/// `bundle:`: a directory or a gzipped tarball in the project, or an https URL with its sha256.
public enum AppBundle: Sendable, Hashable {
    /// A directory, as written (relative to the project root unless absolute).
    case directory(String)
    /// A `.tar.gz` / `.tgz` file, as written (relative to the project root unless absolute).
    case archive(String)
    /// `{url: https://…, sha256: …}`: downloaded, and refused unless its sha256 is this (64 lowercase hex digits).
    case url(String, sha256: String)
}

/// `run:`: a systemd unit per release.
public struct AppRunSpec: Sendable, Hashable {
    /// `exec:`: the command line, a mustache template (`{{release_dir}}`, `{{port}}`, `{{version}}`, ...).
    public var exec: String
    /// `user:` (default root).
    public var user: String
    /// `environment:`: variables of the process; sensitive (never printed).
    public var environment: [String: String]
}

/// `health:`: an HTTP GET on each new release before it gets traffic.
public struct AppHealthSpec: Sendable, Hashable {
    /// `path:` (default `/`), starting with `/`.
    public var path: String
    /// `status:`: the expected HTTP status (default 200).
    public var status: Int
    /// `body:`: text the answer must contain, when given.
    public var body: String?
    /// `interval:` between checks (default 1s).
    public var interval: ConfigDuration
    /// `timeout:` of one check (default 2s).
    public var timeout: ConfigDuration
    /// `min_healthy_time:`: how long checks must keep passing before the release gets traffic (default 3s).
    public var minHealthyTime: ConfigDuration
    /// `healthy_deadline:`: a release not healthy by then fails (default 60s).
    public var healthyDeadline: ConfigDuration

    /// The defaults of a site that writes no `health:`.
    public static let defaults = AppHealthSpec(path: "/", status: 200, body: nil, interval: ConfigDuration(parsing: "1s")!,
                                               timeout: ConfigDuration(parsing: "2s")!, minHealthyTime: ConfigDuration(parsing: "3s")!,
                                               healthyDeadline: ConfigDuration(parsing: "60s")!)
}

/// `hooks:`: executables in the bundle, as paths relative to its root (never `..`, never absolute).
public struct AppHooks: Sendable, Hashable {
    /// `before_start:`: runs before a release's unit starts.
    public var beforeStart: String?
    /// `after_start:`: runs once the release is healthy, before it gets traffic.
    public var afterStart: String?
    /// `before_stop:`: runs before an old release's unit stops.
    public var beforeStop: String?

    /// No hooks.
    public static let none = AppHooks(beforeStart: nil, afterStart: nil, beforeStop: nil)
}

/// `strategy:`: how a release replaces the previous one.
public enum AppStrategy: Sendable, Hashable {
    /// `blue-green`: start the whole new set, check it, switch all traffic at once.
    case blueGreen
    /// `{rolling: {max_parallel: N | "P%"}}`: a batch of machines at a time.
    case rolling(maxParallel: AppMaxParallel)
}

/// `max_parallel:` of a rolling deploy: a number of machines, or a percentage of the group.
public enum AppMaxParallel: Sendable, Hashable {
    /// At most this many machines at once (at least 1).
    case count(Int)
    /// At most this percentage (1 to 100) of the group's machines at once, rounded up.
    case percent(Int)

    /// The batch size for a group of `machines` machines: at least 1, at most `machines`.
    public func batchSize(machines: Int) -> Int {
        let n: Int
        switch self {
        case .count(let c): n = c
        case .percent(let p): n = (machines * p + 99) / 100
        }
        return max(1, min(n, max(machines, 1)))
    }
}

/// `watch:`: after the switch, for `for`, haproxy's stats are read; crossing a threshold rolls back.
public struct AppWatchSpec: Sendable, Hashable {
    /// `for:` (default 60s).
    public var duration: ConfigDuration
    /// `max_5xx_rate:`: the highest share of 5xx answers tolerated, 0 to 1 (default 0.01).
    public var max5xxRate: Double
    /// `max_connection_errors:`: the most connection errors tolerated (default 10).
    public var maxConnectionErrors: Int

    /// The defaults of a site that writes no `watch:`.
    public static let defaults = AppWatchSpec(duration: ConfigDuration(parsing: "60s")!, max5xxRate: 0.01, maxConnectionErrors: 10)
}

/// `lb:`: the app's frontend on the site's haproxy machines.
public struct AppLoadBalancerSpec: Sendable, Hashable {
    /// `bind:`: `[ADDRESS]:PORT` the frontend listens on, e.g. `:8080`.
    public var bind: String
    /// The port of `bind`.
    public var port: Int
    /// Where `lb:` is written.
    public var location: SourceLocation
}
