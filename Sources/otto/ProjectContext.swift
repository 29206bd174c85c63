import Foundation
import OttoConfig
import OttoCore
import OttoEngine
import OttoHTTP
import OttoPlan
import OttoProviders
import OttoSSH
import OttoState
import Synchronization

/// A loaded project: configuration, desired resources and the state store. The only place that turns
/// inventory into concrete provider instances.
struct ProjectContext: Sendable {
    let root: String
    let project: Project
    let resources: [Resource]
    let store: any StateStore
    /// The one HTTP client every provider of this run shares (connection reuse, request counts by provider).
    let http: HTTPClient
    /// The project's deployment ledger (`--ledger`), opened with the state when a site has apps (nil otherwise).
    let deployLedger: (any DeployLedger)?
    /// SSH sessions that outlive this context (`otto serve`: warm between scheduled runs); nil: each host provider keeps
    /// its own for the run.
    var sshSessions: SSHPool?

    /// `load` on a dispatch thread: reading YAML and opening the state never block the cooperative pool.
    static func open(_ g: GlobalOptions, store: (any StateStore)? = nil) async throws -> ProjectContext {
        try await Blocking.run { try load(g, store: store) }
    }

    /// Loads and validates the configuration and opens the state (or uses `store`, already open: `otto serve` keeps one
    /// for its whole life). Blocks on disk: from async code use `open`.
    /// With `api`, those are the items written over HTTP (read already); without, they are read from the state.
    static func load(_ g: GlobalOptions, store existing: (any StateStore)? = nil, api items: [APIItem]? = nil) throws -> ProjectContext {
        let root = (g.dir as NSString).standardizingPath
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw OttoError("config.root", "project directory \(root) does not exist")
        }
        let files = ProjectFiles.read(root: root, environment: g.environment)
        let store = try existing ?? openState(g, root: root, environment: try files.selectedEnvironment())
        // Desired state written over the HTTP API (`otto serve`) is part of the project, planned like YAML.
        let api = try items ?? (store as? any APIItemStore)?.apiItems() ?? []
        let project = try (consume files).load(api: api)  // its YAML is let go before the project is expanded
        ProjectWarnings.show(project.warnings)
        let resources = project.resources
        return ProjectContext(root: root, project: project, resources: resources, store: store, http: HTTPClient(),
                              deployLedger: try openLedger(g, root: root, project: project))
    }

    /// The project's deployment ledger when a site declares apps (their deploys are recorded there). Blocks on disk.
    static func openLedger(_ g: GlobalOptions, root: String, project: Project) throws -> (any DeployLedger)? {
        guard project.sites.contains(where: { !$0.apps.isEmpty }) else { return nil }
        guard let ledger = try StateURL.open(g.ledgerURL, root: root) as? any DeployLedger else {
            throw OttoError("state.ledger", "\(g.ledgerURL) keeps no deployment ledger")
        }
        return ledger
    }

    /// Opens the state of `environment` (see ``GlobalOptions/stateURL(_:)``) and checks it belongs to it: a state bound
    /// to another environment is refused before anything reads it. Blocks on disk.
    static func openState(_ g: GlobalOptions, root: String, environment: EnvironmentSpec?) throws -> any StateStore {
        let store = try StateURL.open(g.stateURL(environment), root: root)
        try (store as? any EnvironmentBoundState)?.bindEnvironment(environment?.name)
        return store
    }

    /// Who runs this otto, as the release ledger records it (`user@host`).
    static let actor: String = {
        let user = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }()

    /// Provider instances for every provider the given resources and state records use.
    func providers(for names: Set<String>) throws -> [String: any Provider] {
        var out: [String: any Provider] = [:]
        var problems: [String] = []
        let client = http
        for name in names.sorted() {
            if name == "host" {
                out[name] = HostProvider(name: name, projectRoot: root, sessions: sshSessions)
                continue
            }
            if name == Project.fleetSchedulerProvider {
                out[name] = FleetSchedulerProvider(name: name)
                continue
            }
            if name == "apps" {
                out[name] = AppProvider(name: name, projectRoot: root, ledger: store as? any ReleaseLedger, deployments: deploymentRecording(),
                                        actor: Self.actor, log: { ProgressLines.send($0) })
                continue
            }
            guard let cfg = project.inventory.providers[name] ?? ProviderConfig.builtIn(name) else {
                problems.append("provider `\(name)` is used but not defined under `providers:` in inventory/")
                continue
            }
            do { out[name] = try makeProvider(cfg, client: client) } catch { problems.append("\(error)") }
        }
        OpenProviders.shared.add(out.values)
        if !problems.isEmpty { throw OttoError("provider.config", problems.joined(separator: "\n")) }
        return out
    }

    /// Where this environment's app deploys are recorded: the project's deployment ledger, the environment's name
    /// (`default` without environments), each app's `on_failure:` here, and how an app is held on its last good release.
    func deploymentRecording() -> AppDeploymentRecording? {
        guard let ledger = deployLedger else { return nil }
        let environment = project.environment?.name ?? "default"
        var onFailure: [String: FailurePolicy] = [:]
        for (app, pipeline) in project.pipelines { if let stage = pipeline.stage(environment) { onFailure[app] = stage.onFailure } }
        let project = self.project, root = self.root, store = self.store
        return AppDeploymentRecording(ledger: ledger, environment: environment, onFailure: onFailure) { site, app, release in
            guard let spec = project.sites.first(where: { $0.name == site })?.app(app), let items = store as? any APIItemStore else {
                throw OttoError("release.pin", "cannot hold app \(app) of site \(site) on release \(release.number): no such app, or a state without pins")
            }
            let pin = AppReleasePin(version: release.version, digest: release.digest, release: release.number, rollback: true,
                                    reason: "on_failure redeploy_last_good: back to release \(release.number)", overVersion: spec.version,
                                    overDigest: try spec.bundle.digest(root: root))
            try await Blocking.run { try items.holdRelease(pin, site: site, app: app) }
        }
    }

    /// Providers needed for the configuration and the current state.
    func providers(state: [ResourceAddress: ResourceRecord], pending: [ResourceAddress: PendingCreate] = [:]) throws -> [String: any Provider] {
        try providers(for: Set(resources.map(\.provider)).union(state.values.map(\.provider)).union(pending.values.map(\.provider)))
    }

    private func makeProvider(_ cfg: ProviderConfig, client: HTTPClient) throws -> any Provider {
        func setting(_ key: String) -> String? { cfg.settings[key]?.stringValue }
        switch cfg.type {
        case "local":
            return LocalMachineProvider(name: cfg.name, settings: try LocalSettings(cfg.settingValues), recipes: project.images, projectRoot: root,
                                        concurrency: cfg.concurrency ?? 8)
        case "static":
            return StaticMachineProvider(name: cfg.name, projectRoot: root, knownHosts: setting("known_hosts"), sessions: sshSessions)
        case "powerdns":
            guard let url = setting("url") else {
                throw OttoError("provider.config", "\(cfg.location): provider `\(cfg.name)` needs `url:` (the PowerDNS API, e.g. http://127.0.0.1:8081)")
            }
            let key = try SecretSource.resolve(env: setting("api_key_env"), file: setting("api_key_file"), root: root)
            return PowerDNSProvider(name: cfg.name, baseURL: url, serverID: setting("server") ?? "localhost", apiKey: key,
                                    concurrency: cfg.concurrency ?? 256, client: client)
        case "digitalocean":
            return DigitalOceanProvider(name: cfg.name, settings: try DigitalOceanSettings(cfg.settingValues, root: root),
                                        concurrency: cfg.concurrency ?? 16, recipes: project.images, projectRoot: root,
                                        progress: { ProgressLines.send($0) }, client: client)
        case "fleet":
            return FleetAPIProvider(name: cfg.name, settings: try FleetAPISettings(cfg.settingValues, root: root),
                                    concurrency: cfg.concurrency ?? 16, client: client)
        case "aws":
            return AWSProvider(name: cfg.name, settings: try AWSSettings(cfg.settingValues, projectRoot: root), concurrency: cfg.concurrency ?? 32,
                               recipes: project.images, projectRoot: root, progress: { ProgressLines.send($0) }, client: client)
        default:
            throw OttoError("provider.unsupported",
                            "\(cfg.location): provider `\(cfg.name)` has type `\(cfg.type)`, which this build of otto cannot drive (supported: powerdns, local, static, digitalocean, aws, fleet)")
        }
    }

    /// `--providers`: the addresses of every resource (in the configuration or the state) whose provider is one of
    /// `names`, host configuration counting as its machine's provider. Used as targets, so resources outside them
    /// are neither touched nor taken for orphans. Nil when there is no filter.
    func providerTargets(_ names: Set<String>?, state: [ResourceAddress: ResourceRecord]) throws -> [String]? {
        guard let names else { return nil }
        let known = Set(project.inventory.providers.keys).union(Inventory.builtInProviders).union(["host", "apps", Project.fleetSchedulerProvider])
        if let unknown = names.subtracting(known).sorted().first {
            throw OttoError("cli.providers", "--providers: no provider named `\(unknown)` (known: \(known.sorted().joined(separator: ", ")))")
        }
        var providerOf: [ResourceAddress: String] = [:]
        for r in resources { providerOf[r.address] = r.provider }
        for (a, rec) in state where providerOf[a] == nil { providerOf[a] = rec.provider }
        func effective(_ a: ResourceAddress, _ attributes: [String: Value]) -> String? {
            guard providerOf[a] == "host", let m = attributes["machine"]?.stringValue, let machine = ResourceAddress(parsing: m) else {
                return providerOf[a]
            }
            return providerOf[machine]
        }
        var out: [String] = []
        for r in resources where effective(r.address, r.attributes).map(names.contains) == true { out.append(r.address.description) }
        for (a, rec) in state where resources.first(where: { $0.address == a }) == nil
            && effective(a, rec.attributes).map(names.contains) == true { out.append(a.description) }
        if out.isEmpty { throw OttoError("cli.providers", "--providers \(names.sorted().joined(separator: ",")): no resource uses these providers") }
        return out
    }

    /// What the apply pipeline works on for this project: its resources, its providers, and `--providers` turned into
    /// targets once the state is read.
    func applyInput(providers filter: Set<String>?) -> ApplyInput {
        let ctx = self
        let http = self.http
        var input = ApplyInput(resources: resources, providers: { try ctx.providers(for: $0) }, options: { options, snap in
            var options = options
            if let targets = try ctx.providerTargets(filter, state: snap.records) {
                options.targets = options.targets.isEmpty ? targets
                    : options.targets.filter { t in targets.contains { ResourceAddress(parsing: $0)?.matches(t) ?? false } }
                if options.targets.isEmpty { throw OttoError("cli.providers", "--target and --providers select nothing together") }
            }
            return options
        }, requestCounts: { http.requestCounts })
        input.environment = project.environment?.name
        return input
    }
}

/// Where providers' progress lines (a deploy's steps) go: standard error for the CLI (`otto: …`); `otto serve` routes
/// them to its logger, so they keep its log format.
enum ProgressLines {
    private static let sink = Mutex<@Sendable (String) -> Void>({ line in
        FileHandle.standardError.write(Data(("otto: " + line + "\n").utf8))
    })

    /// Sends one line.
    static func send(_ line: String) { sink.withLock { $0 }(line) }

    /// Sends every later line to `to` instead.
    static func route(_ to: @escaping @Sendable (String) -> Void) { sink.withLock { $0 = to } }
}

/// The configuration's warnings (an unread inventory file, an app waiting for its promotion, a pin that ended), on
/// stderr as `file:line:col: warning: …`, each once per process: a command that loads the project twice, or
/// `otto serve` reloading it on every run, says each once.
enum ProjectWarnings {
    private static let shown = Mutex<Set<String>>([])

    static func show(_ warnings: [Diagnostic]) {
        let fresh = shown.withLock { seen in
            warnings.map(\.description).filter { seen.insert($0).inserted }
        }
        for line in fresh { Terminal.err(line + "\n") }
    }
}
