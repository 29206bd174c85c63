import ArgumentParser
import Foundation
import Logging
import Metrics
import OttoConfig
import OttoCore
import OttoEngine
import OttoSSH
import OttoServer
import OttoState
import OttoWalker
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `otto serve`: the HTTP API, scheduled drift correction, site walks, metrics and the status page, as one
/// long-running process (swift-service-lifecycle: SIGTERM/SIGINT shut it down gracefully; a scheduled run in flight
/// finishes first).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API and the status page, and correct drift on a schedule.",
        discussion: """
            Tokens: --tokens FILE with lines `NAME SCOPE SECRET` (scope read or write; the file must be mode 0600), and/or \
            OTTO_API_TOKENS with the same lines separated by `;`. API clients send `Authorization: Bearer SECRET`; a \
            browser opening the status page is asked for a user name (any) and a password (a token). Listens on \
            127.0.0.1 by default; a non-loopback address needs --tls-cert and --tls-key, or --insecure-listen.

            Every --drift-interval (with 10% jitter) otto refreshes, plans and applies what each site's `drift:` policy \
            allows (`correct`, the default, or `report`), backing off exponentially while runs fail. Runs are in the \
            state's history, on the status page at / and in /metrics.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("drift-interval"), help: "Time between scheduled runs (e.g. 30s, 5m, 1h), or `off`.")
    var driftInterval: String = "5m"

    @Option(name: .customLong("log-format"), help: "Log lines as `text` or `json` (one object per line, for an ELK stack).")
    var logFormat: String = "text"

    @Option(name: .customLong("log-level"), help: "Least severe level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Address to listen on: HOST:PORT, [IPV6]:PORT or :PORT (port 0 picks a free one).")
    var listen: String = ListenAddress.default.description

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; with --tls-key the API speaks HTTPS only.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .long, help: "File of bearer tokens, one `NAME SCOPE SECRET` per line (scope read or write).")
    var tokens: String?

    @Flag(name: .customLong("insecure-listen"),
          help: "Allow listening on a non-loopback address without TLS (tokens then cross the network in clear text).")
    var insecureListen = false

    @Option(name: .customLong("max-body"), help: "Largest request body accepted, in bytes.")
    var maxBody: Int = 1 << 20

    @Option(name: .customLong("reload-interval"),
            help: "How often the YAML files, and (with a PostgreSQL state) the items and walkers other replicas wrote, are checked for changes (other replicas' writes also arrive at once by NOTIFY).")
    var reloadInterval: String = "2s"

    /// SSH sessions `otto serve` keeps open between runs.
    static let warmSessions = 512

    func run() async throws {
        do {
            let root = (global.dir as NSString).standardizingPath
            guard FileManager.default.fileExists(atPath: root) else {
                throw OttoError("config.root", "project directory \(root) does not exist")
            }
            var configuration = APIServerConfiguration(listen: try ListenAddress(parsing: listen),
                                                       allowPlaintextNonLoopback: insecureListen, maxBodyBytes: maxBody)
            guard let reload = ConfigDuration(parsing: reloadInterval), reload.milliseconds >= 100 else {
                throw OttoError("cli.flags", "--reload-interval must be a duration of at least 100ms (2s, 1m), got \(reloadInterval)")
            }
            configuration.reloadInterval = reload.duration
            switch (tlsCert, tlsKey) {
            case (let cert?, let key?): configuration.tls = (cert, key)
            case (nil, nil): break
            default: throw OttoError("cli.flags", "--tls-cert and --tls-key go together")
            }
            var tokenSet = TokenSet()
            if let tokens { try tokenSet.add(file: tokens) }
            try tokenSet.add(environment: ProcessInfo.processInfo.environment)
            configuration.tokens = tokenSet
            if tokenSet.tokens.isEmpty {
                Terminal.err("otto serve: no API tokens (--tokens FILE or \(TokenSet.environmentVariable)): every route but /healthz and /openapi.json answers 401\n")
            }
            guard let format = LineLogHandler.Format(rawValue: logFormat) else {
                throw OttoError("cli.flags", "--log-format must be text or json, got \(logFormat)")
            }
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw OttoError("cli.flags", "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got \(logLevel)")
            }
            let interval: Duration?
            if driftInterval == "off" { interval = nil } else {
                guard let d = ConfigDuration(parsing: driftInterval), d.milliseconds >= 1000 else {
                    throw OttoError("cli.flags", "--drift-interval must be a duration of at least 1s (30s, 5m, 1h) or `off`, got \(driftInterval)")
                }
                interval = d.duration
            }
            LoggingSystem.bootstrap { label in LineLogHandler(label: label, format: format, level: level) }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

            let environment = try ProjectFiles.environment(global.environment, root: root)
            let store = try ProjectContext.openState(global, root: root, environment: environment)
            guard let items = store as? any APIItemStore else {
                throw OttoError("serve.state", "this state store cannot keep desired state written over the API")
            }
            let desired = try DesiredStateService(root: root, store: APIItemAccess(items), environment: environment?.name)
            let book = RunBook()
            let logger = Logger(label: "otto.serve")
            let progress = Logger(label: "otto.apply")
            ProgressLines.route { progress.info("\($0)") }
            let scheme = configuration.tls == nil ? "http" : "https"
            let history = DriftHistory()
            let board = StatusBoard()
            guard let walkHistory = store as? any WalkHistoryStore else {
                throw OttoError("serve.state", "this state store cannot keep walk history")
            }
            guard let ledger = store as? any ReleaseLedger else {
                throw OttoError("serve.state", "this state store keeps no release ledger")
            }
            // A PostgreSQL state is shared with other replicas: one store for the process's whole life (its lock session),
            // sites run one at a time as they fall due, with no leader.
            let shared = store as? PostgresStateStore
            // Runs use the store opened here, SQLite or PostgreSQL: a pass does not open the database again.
            let startup = try await ProjectContext.open(global, store: store)
            // One SSH session per host, kept open between scheduled runs (at most `Self.warmSessions`, least recently used
            // closed first), closed on shutdown.
            let sshSessions = SSHPool(maxSessions: Self.warmSessions)
            let loader = ServeReconcileLoader(global: global, store: store, sshSessions: sshSessions)
            // Replicas sharing a state keep the same walkers and take turns: one walks each site per interval.
            let turns = (store as? any WalkTurnStore).map {
                SharedWalkTurns(store: $0, replica: PostgresStateStore.replica, logger: Logger(label: "otto.walks"))
            }
            let scheduler = WalkScheduler(history: walkHistory, turns: turns,
                                          walk: WalkSetup.scheduledWalk(project: { await loader.project(or: startup.project) }, store: store))
            let walkSites = try await WalkSetup.scheduleConfiguredSites(startup.project, on: scheduler)
            if !walkSites.isEmpty { logger.info("site walks scheduled", metadata: ["sites": "\(walkSites.joined(separator: ","))"]) }
            let walks = StoreWalkService(store: walkHistory, walkers: store as? any WalkerStore, scheduler: scheduler, global: global)
            let restored = try await walks.restoreStoredWalkers()
            if !restored.isEmpty { logger.info("walkers made over the API restored", metadata: ["sites": "\(restored.joined(separator: ","))"]) }
            let project = URL(fileURLWithPath: root).standardizedFileURL.lastPathComponent + (environment.map { " · \($0.name)" } ?? "")
            let pageInterval = interval ?? .zero
            // The deployment ledger is the project's, shared by its environments: a database of its own.
            guard let deployments = try StateURL.open(global.ledgerURL, root: root) as? any DeployLedger else {
                throw OttoError("serve.state", "this state store keeps no deployment ledger")
            }
            let runService = ServeRunService(global: global, book: book)
            let lockMetrics = LockMetrics()
            let lastFigures = Mutex(PostgresLockCounters())
            let server = try APIServer(
                configuration: configuration, desiredState: desired, runs: runService, walks: walks,
                releases: ledger, deployments: deployments,
                metrics: {
                    if let shared {
                        let figures = shared.lockFigures
                        let previous = lastFigures.withLock { old in defer { old = figures }; return old }
                        lockMetrics.record(held: shared.heldScopes, figures, since: previous)
                    }
                    return registry.emitToString()
                },
                statusPage: {
                    let recent = (try? await walks.recentWalks(limit: 20)) ?? []
                    let current = await loader.project(or: startup.project)
                    let apps = await StatusPageModel.App.all(in: current, ledger: ledger)
                    let pipelines = await StatusPageModel.Pipeline.all(in: current, ledger: deployments)
                    let here = environment?.name ?? "default"
                    let audit = StatusPageModel.Audit(
                        deployments: (try? await deployments.deployments(DeploymentQuery(environment: here, limit: 10))) ?? [],
                        promotions: (try? await deployments.promotions(app: nil, to: here, deployment: nil, limit: 10)) ?? [],
                        approvals: (try? await deployments.approvals(app: nil, environment: here, limit: 10)) ?? [])
                    var model = await board.model(project: project, interval: pageInterval, runs: await history.recent(),
                                                  walks: recent, reports: walks, apps: apps,
                                                  environment: here, pipelines: pipelines, audit: audit)
                    model.sites = (try? await shared?.siteSchedules()) ?? []
                    model.replica = shared == nil ? nil : PostgresStateStore.replica
                    return StatusPage.render(model)
                },
                health: {
                    guard let shared else { return nil }
                    do {
                        _ = try await shared.databaseNow()
                        return DatabaseHealth(reachable: true, replica: PostgresStateStore.replica, sitesHeld: shared.heldScopes)
                    } catch {
                        return DatabaseHealth(reachable: false, replica: PostgresStateStore.replica, sitesHeld: shared.heldScopes,
                                              error: "\(error)")
                    }
                },
                logger: logger,
                onListening: { address in
                    logger.notice("listening on \(scheme)://\(address)")
                    Terminal.out("otto serve: listening on \(scheme)://\(address)\n")
                })
            let hooks = try WebhookDeliveryService.targets(startup.project)
            if !hooks.isEmpty { logger.info("webhooks", metadata: ["webhooks": "\(hooks.map(\.spec.name).joined(separator: ","))"]) }
            var services: [any Service] = [server, WalkSchedulerService(scheduler: scheduler)]
            if let shared {
                services.append(SharedStateService(store: shared, desired: desired, walks: walks, interval: configuration.reloadInterval,
                                                   logger: Logger(label: "otto.replicas")))
            }
            if !hooks.isEmpty {
                services.append(WebhookDeliveryService(outbox: deployments, targets: hooks, client: startup.http,
                                                       logger: Logger(label: "otto.webhooks")))
            }
            if startup.project.sites.contains(where: { !$0.apps.isEmpty }) {
                // deployments asked over the API wait for a lock the drift loop or a client holds, rather than fail
                var patient = global
                patient.lockTimeout = "2m"
                services.append(DeployToService(ledger: deployments, environment: environment?.name ?? "default", global: patient,
                                                runs: ServeRunService(global: patient, book: book), logger: Logger(label: "otto.deployments")))
            }
            if let interval, let shared {
                services.append(SiteDriftService(
                    interval: interval, replica: PostgresStateStore.replica, schedule: shared, history: history, metrics: DriftMetrics(),
                    logger: Logger(label: "otto.drift"), load: { try await loader.input() },
                    onRun: { result in
                        if let project = await loader.latestProject {
                            let changed = await WalkSetup.follow(project, on: scheduler)
                            if !changed.isEmpty { logger.info("site walkers updated", metadata: ["sites": "\(changed.joined(separator: ","))"]) }
                        }
                        let backends = result.plan.map { plan in { await loader.backends(of: plan) } }
                        await board.update(result, backends: await backends?() ?? [])
                    }))
            } else if let interval {
                services.append(DriftService(
                    interval: interval, history: history, metrics: DriftMetrics(), logger: Logger(label: "otto.drift"),
                    load: { try await loader.input() },
                    onRun: { result in
                        // Walkers follow edits of the sites' `walk:` settings.
                        if let project = await loader.latestProject {
                            let changed = await WalkSetup.follow(project, on: scheduler)
                            if !changed.isEmpty { logger.info("site walkers updated", metadata: ["sites": "\(changed.joined(separator: ","))"]) }
                        }
                        let backends = result.plan.map { plan in { await loader.backends(of: plan) } }
                        await board.update(result, backends: await backends?() ?? [])
                    }))
            }
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                          logger: logger))
            try await group.run()
            await book.waitForRunning()
            await sshSessions.closeAll()
        } catch { throw fail(error) }
    }
}
