import Foundation
import OttoConfig
import OttoCore
import OttoEngine
import OttoHTTP
import OttoPlan
import OttoProviders
import OttoSSH
import OttoServer
import OttoState

/// What `otto serve`'s scheduled runs load each time: the project as it is now (YAML and items made over HTTP), with
/// provider instances kept from run to run while the inventory stays the same (SSH sessions and HTTP connections are
/// reused; a changed inventory gets new providers and the old ones are shut down).
///
/// The project is built again only when something it was built from changed: the YAML files (listed and stat'ed),
/// the other files its build read (`Project.inputs`: unit, source and template files, SSH public keys; stat'ed), or
/// the items written over HTTP (read and compared). A project with apps is built every time (its bundles' digests are
/// taken while it is built). A build is reused only once it is *confirmed*: the build before it found the same
/// fingerprints, so an input written while it was read is read again (as the warm probes' gate does on the hosts).
actor ServeReconcileLoader {
    private let global: GlobalOptions
    /// The state every run uses, kept open for the server's life (a PostgreSQL state's lock session lives as long as
    /// the store; an SQLite state is not opened again every pass).
    private let store: (any StateStore)?
    private var inventory: Inventory?
    private var context: ProjectContext?
    private var providers: [String: any Provider] = [:]
    /// SSH sessions kept warm from run to run (the host provider's, even when it is made again after an inventory edit).
    private let sshSessions: SSHPool?

    /// The configuration the last run loaded.
    private(set) var latestProject: Project?
    /// The last project built, with what it was built from (nil: none that may be reused).
    private var built: Built?

    /// A project built, and the fingerprints of what it was built from.
    private struct Built: Sendable {
        let context: ProjectContext
        let key: Key
        let confirmed: Bool

        struct Key: Equatable, Sendable {
            let yaml: [String]
            let inputs: [String]
            let api: [APIItem]
        }
    }

    /// The project as it is now: the last one built when nothing it was built from changed since (and that build was
    /// confirmed), else a new build. Blocks on disk and the state: runs on a dispatch thread.
    private func load() async throws -> ProjectContext {
        let global = self.global, store = self.store, last = built
        let (context, fresh, reused) = try await Blocking.run { () throws -> (ProjectContext, Built?, Bool) in
            let root = (global.dir as NSString).standardizingPath
            let yaml = ProjectFiles.currentFingerprint(root: root)
            let api = try (store as? any APIItemStore)?.apiItems()
            if let last, last.confirmed, let api,
               last.key == Built.Key(yaml: yaml, inputs: ProjectFiles.fingerprint(last.context.project.inputs), api: api) {
                return (last.context, nil, true)
            }
            let context = try ProjectContext.load(global, store: store, api: api)
            guard let api, context.project.sites.allSatisfy(\.apps.isEmpty) else { return (context, nil, false) }
            let key = Built.Key(yaml: yaml, inputs: ProjectFiles.fingerprint(context.project.inputs), api: api)
            return (context, Built(context: context, key: key, confirmed: last?.key == key), false)
        }
        if !reused { built = fresh }
        return context
    }

    init(global: GlobalOptions, store: (any StateStore)? = nil, sshSessions: SSHPool? = nil) {
        self.global = global
        self.store = store
        self.sshSessions = sshSessions
    }

    /// The latest configuration loaded, or `fallback` before the first run.
    func project(or fallback: Project) -> Project { latestProject ?? fallback }

    /// The input of the next run.
    func input() async throws -> ReconcileInput {
        var opened = try await load()
        opened.sshSessions = sshSessions
        let fresh = opened
        latestProject = fresh.project
        // Which providers the state needs: one DISTINCT query, not a snapshot of every record (the pipeline reads that).
        let needed = Set(fresh.resources.map(\.provider)).union(try await fresh.store.providerNames())
        if inventory != fresh.project.inventory || !needed.isSubset(of: Set(providers.keys)) || context == nil {
            let old = Array(providers.values)
            providers = try fresh.providers(for: needed)
            await OpenProviders.shared.retire(old)
            inventory = fresh.project.inventory
            context = fresh
        }
        let project = fresh.project
        let http = context!.http
        let kept = providers
        let input = ApplyInput(resources: fresh.resources, providers: { names in
            // The providers kept from run to run; one the state needs since the last load is made afresh.
            let missing = names.subtracting(kept.keys)
            return missing.isEmpty ? kept : kept.merging(try fresh.providers(for: missing)) { a, _ in a }
        }, requestCounts: { http.requestCounts })
        return ReconcileInput(apply: input, policy: { project.site(of: $0)?.drift ?? .correct }, store: fresh.store)
    }

    /// Load balancer backends and haproxy's view of their health, for the haproxy resources of `plan` that exist.
    func backends(of plan: Plan) async -> [StatusPageModel.Backend] {
        guard let host = providers["host"] as? HostProvider else { return [] }
        var out: [StatusPageModel.Backend] = []
        for c in plan.changes where c.address.kind == "haproxy" && c.action != .create {
            guard let attrs = c.before?.attributes else { continue }
            let health = (try? await host.backendHealth(attrs)) ?? [("(stats unavailable)", "UNKNOWN")]
            out += health.map { StatusPageModel.Backend(loadBalancer: c.address.description, server: $0.server, health: $0.status) }
        }
        return out
    }
}

/// The latest view the status page shows, updated after every scheduled run.
actor StatusBoard {
    private(set) var rows: [ResourceStatus] = []
    private(set) var backends: [StatusPageModel.Backend] = []
    private(set) var updated: Date?

    /// Takes the rows of a run's plan (when it got that far) and the backends' health.
    func update(_ result: ReconcileResult, backends: [StatusPageModel.Backend]) {
        guard let plan = result.plan else { return }
        var fresh = ResourceStatus.rows(plan, recorded: result.recorded)
        if result.run.site != nil {
            // A run of one site (replicas sharing the state): its rows replace those rows only.
            let planned = Set(fresh.map(\.address))
            fresh = rows.filter { !planned.contains($0.address) } + fresh
            fresh.sort { $0.address < $1.address }
        }
        rows = fresh
        // What the run corrected is in sync now.
        let corrected = Set(result.run.items.filter(\.corrected).map(\.address.description))
        for i in rows.indices where corrected.contains(rows[i].address) {
            rows[i].status = "ok"
            rows[i].detail = "corrected: " + rows[i].detail
        }
        self.backends = backends
        updated = Date()
    }

    /// The page's model: this board, the recent runs, and each site's last walk with its broken links.
    func model(project: String, interval: Duration, runs: [DriftRun], walks: [OttoServer.WalkSummary], reports: any WalkService,
               apps: [StatusPageModel.App] = [], environment: String = "default",
               pipelines: [StatusPageModel.Pipeline] = [], audit: StatusPageModel.Audit = .init()) async -> StatusPageModel {
        var lastPerSite: [String: OttoServer.WalkSummary] = [:]
        for w in walks where w.finishedAt != nil {
            if let seen = lastPerSite[w.site], seen.startedAt >= w.startedAt { continue }
            lastPerSite[w.site] = w
        }
        var walkModels: [StatusPageModel.Walk] = []
        for (site, w) in lastPerSite.sorted(by: { $0.key < $1.key }) {
            let report = try? await reports.walk(site: site, id: w.id)
            let broken = (report?.brokenLinks ?? []).map { b in
                StatusPageModel.BrokenLink(url: b.url, problem: b.error ?? "HTTP \(b.status)", foundOn: b.foundOn)
            }
            walkModels.append(StatusPageModel.Walk(site: site, finished: w.finishedAt ?? w.startedAt, pages: w.pages, seconds: w.seconds,
                                                   broken: broken))
        }
        return StatusPageModel(project: project, generated: Date(), interval: interval, rows: rows, backends: backends,
                               walks: walkModels, runs: runs, apps: apps, environment: environment, pipelines: pipelines,
                               audit: audit)
    }
}

extension StatusPageModel.App {
    /// Every app the project's sites declare, with the release serving (the newest that succeeded), the one that
    /// served before it and the newest of any result, from `ledger` (an app whose ledger cannot be read shows none).
    static func all(in project: Project, ledger: any ReleaseLedger) async -> [StatusPageModel.App] {
        var out: [StatusPageModel.App] = []
        for site in project.sites {
            for app in site.apps {
                let rows = (try? await ledger.releases(site: site.name, app: app.name, limit: 50)) ?? []
                let succeeded = rows.filter { $0.result == .succeeded }
                out.append(StatusPageModel.App(site: site.name, app: app.name, current: succeeded.first, previous: succeeded.dropFirst().first,
                                               latest: rows.first))
            }
        }
        return out
    }
}
