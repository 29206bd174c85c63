import OttoCore

/// An `app` resource's attributes, typed: what should run, where, how it is checked and how it is rolled out.
struct AppDefinition: Sendable {
    private typealias A = AttributeName.App

    /// One machine the app runs on, or one haproxy machine that routes to it.
    struct Machine: Sendable, Hashable {
        /// The machine's name (`demo-web-0`), which names its haproxy server slots.
        var name: String
        /// How to reach it.
        var connection: HostConnection
    }

    /// The health check.
    struct Health: Sendable, Hashable {
        var path: String
        var status: Int
        var body: String?
        var intervalMS: Int
        var timeoutMS: Int
        var minHealthyMS: Int
        var deadlineMS: Int
    }

    /// What counts as a failed release during the watch window.
    struct Watch: Sendable, Hashable {
        var durationMS: Int
        var max5xxPerMille: Int
        var maxConnectionErrors: Int
    }

    var name: String
    var site: String
    var version: String
    var digest: String
    var bundlePath: String?
    var bundleURL: String?
    var exec: String
    var user: String?
    var environment: [String: String]
    var port: Int
    var health: Health
    var hooks: [String: String]
    var strategy: RolloutStrategy
    var keep: Int
    var drainTimeoutMS: Int
    var watch: Watch
    /// Sorted by name.
    var machines: [Machine]
    var balancers: [Machine]
    var backend: String

    /// Reads the attributes; throws while anything it needs is still unknown (a machine being created).
    init(_ a: [String: Value], site: String?) throws {
        func string(_ n: String) throws -> String {
            guard let s = a[n]?.stringValue else { throw OttoError("app.attribute", "app attribute `\(n)` is missing or not known yet") }
            return s
        }
        func int(_ n: String, _ d: Int) -> Int { a[n]?.intValue ?? d }
        name = try string(A.name)
        self.site = site ?? ""
        version = try string(A.version)
        digest = try string(A.digest)
        bundlePath = a[A.bundlePath]?.stringValue
        bundleURL = a[A.bundleURL]?.stringValue
        exec = try string(A.exec)
        user = a[A.user]?.stringValue
        environment = (a[A.environment]?.mapValue ?? [:]).compactMapValues(\.stringValue)
        port = try a[A.port]?.intValue ?? { throw OttoError("app.attribute", "app attribute `port` is missing") }()
        health = Health(path: a[A.healthPath]?.stringValue ?? "/", status: int(A.healthStatus, 200), body: a[A.healthBody]?.stringValue,
                        intervalMS: int(A.healthIntervalMS, 1000), timeoutMS: int(A.healthTimeoutMS, 2000),
                        minHealthyMS: int(A.minHealthyMS, 3000), deadlineMS: int(A.healthyDeadlineMS, 60000))
        hooks = (a[A.hooks]?.mapValue ?? [:]).compactMapValues(\.stringValue)
        guard let s = RolloutStrategy(attribute: a[A.strategy]?.stringValue ?? "blue-green") else {
            throw OttoError("app.attribute", "app `\(name)`: unknown strategy `\(a[A.strategy]?.stringValue ?? "")`")
        }
        strategy = s
        keep = max(1, int(A.keep, 3))
        drainTimeoutMS = int(A.drainTimeoutMS, 30000)
        watch = Watch(durationMS: int(A.watchMS, 60000), max5xxPerMille: int(A.watchMax5xxPerMille, 10),
                      maxConnectionErrors: int(A.watchMaxConnectionErrors, 10))
        machines = try Self.machines(a[A.machines], app: name)
        balancers = try Self.machines(a[A.balancers], app: name)
        backend = a[A.backend]?.stringValue ?? "app_\(name)"
    }

    private static func machines(_ v: Value?, app: String) throws -> [Machine] {
        try (v?.listValue ?? []).map { item in
            guard let m = item.mapValue, let name = m[A.machineName]?.stringValue, let c = HostConnection(m) else {
                throw OttoError("app.machine", "app `\(app)`: a machine's address is not known yet")
            }
            return Machine(name: name, connection: c)
        }.sorted { $0.name < $1.name }
    }

    /// Where everything of the app lives on a machine.
    var root: String { "/srv/apps/\(name)" }
    /// The directory release `n` is unpacked into.
    func releaseDir(_ n: Int) -> String { "\(root)/releases/\(n)" }
    /// The systemd unit of release `n`.
    func unitName(_ n: Int) -> String { "otto-app-\(name)-\(n).service" }
}
