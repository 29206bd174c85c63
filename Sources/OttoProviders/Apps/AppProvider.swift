import Foundation
import OttoCore
import OttoSSH
import Synchronization

/// Applications on a site's machines (`app`): each release unpacked beside the previous ones, started on the free
/// slot, health-checked, switched in through haproxy's runtime API, watched, and rolled back at once when it fails.
///
/// Observation asks every machine of the app which release it serves (one SSH round trip per machine) and every
/// balancer how its server slots are doing; a machine that lost its process, has a changed file, or does not run
/// the release at all is drift that the next apply repairs without a new release.
public final class AppProvider: Provider {
    public let name: String
    public let concurrencyLimit = 4
    public var schemas: [KindSchema] { [Self.schema] }
    private typealias A = AttributeName.App
    private let pool = SSHPool()
    private let projectRoot: String
    /// The state's release ledger (nil: releases are numbered from what the machines hold, and not recorded).
    private let ledger: (any ReleaseLedger)?
    /// Who deploys, for the ledger (`user@host`, `api:<token>`).
    private let actor: String
    /// Where deploys are recorded in the project's deployment ledger (nil: they are not).
    private let deployments: AppDeploymentRecording?
    private let bundles = Mutex<[String: [UInt8]]>([:])
    private let store: BundleStore
    /// Progress lines (the apply prints them).
    private let log: @Sendable (String) -> Void

    /// The `app` kind: what is compared is `live` (per machine: the release serving, running, intact, in traffic).
    public static let schema = KindSchema(kind: "app", attributes: [
        .required(A.name, .string, forceNew: true), .required(A.version, .string), .required(A.digest, .string),
        .optional(A.bundlePath, .string, ignoredInDiff: true), .optional(A.bundleURL, .string, ignoredInDiff: true),
        .required(A.exec, .string, ignoredInDiff: true), .optional(A.user, .string, ignoredInDiff: true),
        .optional(A.environment, .map(.string), sensitive: true, ignoredInDiff: true), .required(A.port, .int),
        .optional(A.healthPath, .string, ignoredInDiff: true), .optional(A.healthStatus, .int, ignoredInDiff: true),
        .optional(A.healthBody, .string, ignoredInDiff: true), .optional(A.healthIntervalMS, .int, ignoredInDiff: true),
        .optional(A.healthTimeoutMS, .int, ignoredInDiff: true), .optional(A.minHealthyMS, .int, ignoredInDiff: true),
        .optional(A.healthyDeadlineMS, .int, ignoredInDiff: true), .optional(A.hooks, .map(.string), ignoredInDiff: true),
        .optional(A.strategy, .string, ignoredInDiff: true), .optional(A.keep, .int, ignoredInDiff: true),
        .optional(A.drainTimeoutMS, .int, ignoredInDiff: true), .optional(A.watchMS, .int, ignoredInDiff: true),
        .optional(A.watchMax5xxPerMille, .int, ignoredInDiff: true), .optional(A.watchMaxConnectionErrors, .int, ignoredInDiff: true),
        .required(A.machines, .list(.map(.any)), ignoredInDiff: true), .optional(A.balancers, .list(.map(.any)), ignoredInDiff: true),
        .optional(A.backend, .string, ignoredInDiff: true),
        .optional(A.releaseReason, .string, ignoredInDiff: true), .optional(A.rollbackOf, .int, ignoredInDiff: true),
        .computed(A.live, .list(.map(.any)), ignoredInDiff: false), .computed(A.current, .int),
        .computed(A.rollout, .list(.string)),
        .computed(AttributeName.Host.reachable, .bool), .computed(AttributeName.Host.unreachableReason, .string),
    ])

    /// Creates the provider; project bundles are read under `projectRoot` (and the builds deployed kept in its
    /// `.otto/bundles`); releases are numbered and recorded in `ledger` as deployed by `actor`, and deployments in
    /// `deployments`.
    public init(name: String = "apps", projectRoot: String, ledger: (any ReleaseLedger)? = nil, deployments: AppDeploymentRecording? = nil,
                actor: String = "otto", log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.name = name
        self.projectRoot = projectRoot
        self.ledger = ledger
        self.deployments = deployments
        self.store = BundleStore(projectRoot: projectRoot)
        self.actor = actor
        self.log = log
    }

    public func shutdown() async { await pool.closeAll() }

    // MARK: derive

    /// What should be true on every machine: the app's version and config, running, intact and in traffic; and the
    /// steps a deploy will take.
    public func derive(_ resource: Resource) -> Resource {
        var r = resource
        let names = (r.attributes[A.machines]?.listValue ?? []).compactMap { $0.mapValue?[A.machineName]?.stringValue }.sorted()
        let config = Self.configDigest(r.attributes)
        r.attributes[A.live] = .list(names.map { Self.liveEntry(name: $0, version: r.attributes[A.version]?.stringValue ?? "",
                                                                digest: r.attributes[A.digest]?.stringValue ?? "", config: config,
                                                                running: true, intact: true, serving: true) })
        if let strategy = RolloutStrategy(attribute: r.attributes[A.strategy]?.stringValue ?? "blue-green"),
           let port = r.attributes[A.port]?.intValue {
            let plan = AppRollout(release: 0, version: r.attributes[A.version]?.stringValue ?? "", machines: names, strategy: strategy,
                                  basePort: port, previous: nil)
            r.attributes[A.rollout] = .list(plan.batches.enumerated().map { i, b in
                .string("\(plan.batches.count == 1 ? "all machines" : "batch \(i + 1)/\(plan.batches.count)") (\(b.joined(separator: ", "))): start beside the serving release, wait until healthy, switch haproxy")
            })
        }
        return r
    }

    static func liveEntry(name: String, version: String, digest: String, config: String, running: Bool, intact: Bool, serving: Bool) -> Value {
        .map([A.machineName: .string(name), A.version: .string(version), A.digest: .string(digest), "config": .string(config),
              "running": .bool(running), "intact": .bool(intact), "serving": .bool(serving)])
    }

    /// A hash of how the release runs (command, user, environment, port, hooks): a change to it is a new release.
    static func configDigest(_ a: [String: Value]) -> String {
        var parts: [String] = []
        for key in [A.exec, A.user, A.port, A.hooks, A.environment] { parts.append("\(key)=\(a[key].map(\.description) ?? "")") }
        return String(ContentHash.sha256(Array(parts.joined(separator: "\n").utf8)).prefix(16))
    }

    // MARK: observe

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        var out: [ResourceAddress: ObservedResource] = [:]
        for req in requests {
            guard let app = try? AppDefinition(req.attributes, site: nil) else { continue }  // machines not there yet
            // A machine or balancer that does not answer (not started yet, stopped, cut off) is not an error here:
            // the plan shows the app unreachable and the apply, after the machines it depends on, converges it.
            let probed = await probeEach(app)
            var facts: [String: AppHostScript.Facts] = [:], unreachable: [String] = []
            for (name, result) in probed {
                switch result {
                case .success(let f): facts[name] = f
                case .failure(let e): unreachable.append("\(name): \(e)")
                }
            }
            var serving: Set<String> = []
            do { serving = try await servingSlots(app) } catch { unreachable.append("haproxy: \(error)") }
            let deployed = facts.values.contains(where: { $0.current > 0 || !$0.releases.isEmpty })
            guard deployed || (req.providerID != nil && !unreachable.isEmpty) else { continue }
            var a = observed(req.attributes, app, facts, serving)
            if !unreachable.isEmpty {
                a[AttributeName.Host.reachable] = .bool(false)
                a[AttributeName.Host.unreachableReason] = .string(unreachable.sorted().joined(separator: "; "))
            }
            out[req.address] = ObservedResource(providerID: "\(app.name)", attributes: a)
        }
        return out
    }

    /// What each machine reports about the app; the first failure is thrown.
    private func probe(_ app: AppDefinition) async throws -> [String: AppHostScript.Facts] {
        try await probeEach(app).mapValues { try $0.get() }
    }

    /// What each machine reports about the app, or why it could not be asked.
    private func probeEach(_ app: AppDefinition) async -> [String: Result<AppHostScript.Facts, any Error>] {
        await withTaskGroup(of: (String, Result<AppHostScript.Facts, any Error>).self) { group in
            for m in app.machines {
                group.addTask {
                    do {
                        let s = try await self.pool.session(for: m.connection.target)
                        let r = try await s.exec("sh -s", stdin: Array(AppHostScript.probe(app).utf8), timeout: .seconds(60))
                        return (m.name, .success(AppHostScript.parseProbe(r.stdoutText)))
                    } catch {
                        return (m.name, .failure(error))
                    }
                }
            }
            var out: [String: Result<AppHostScript.Facts, any Error>] = [:]
            for await (name, f) in group { out[name] = f }
            return out
        }
    }

    /// The server slots haproxy sends traffic to (ready and passing their checks on every balancer).
    private func servingSlots(_ app: AppDefinition) async throws -> Set<String> {
        guard !app.balancers.isEmpty else { return [] }
        let stats = try await traffic(app).stats(app.backend)
        return Set(stats.filter(\.value.up).keys)
    }

    private func observed(_ requested: [String: Value], _ app: AppDefinition, _ facts: [String: AppHostScript.Facts],
                          _ serving: Set<String>) -> [String: Value] {
        var a = requested.filter { $0.key != A.bundlePath }
        var live: [Value] = []
        var versions: [String: Int] = [:]
        for m in app.machines {
            let f = facts[m.name] ?? AppHostScript.Facts()
            guard f.current > 0, let rel = f.releases[f.current] else {
                live.append(Self.liveEntry(name: m.name, version: "", digest: "", config: "", running: false, intact: false, serving: false))
                continue
            }
            versions["\(rel.version) \(rel.digest)", default: 0] += 1
            let inTraffic = app.balancers.isEmpty || serving.contains(rel.slot.serverName(machine: m.name))
            live.append(Self.liveEntry(name: m.name, version: rel.version, digest: rel.digest, config: rel.config,
                                       running: rel.active, intact: rel.intact, serving: inTraffic))
        }
        a[A.live] = .list(live)
        a[A.current] = .int(facts.values.map(\.current).max() ?? 0)
        if let top = versions.max(by: { $0.value < $1.value })?.key.split(separator: " ") , top.count == 2 {
            a[A.version] = .string(String(top[0]))
            a[A.digest] = .string(String(top[1]))
        }
        return a
    }

    // MARK: apply

    public func create(_ resource: Resource) async throws -> ObservedResource { try await converge(derive(resource)) }

    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        try await converge(derive(resource))
    }

    /// Stops every release of the app on its machines and removes them.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard let app = try? AppDefinition(current.attributes, site: nil) else { return }
        let ops = machineOps(app)
        if !app.balancers.isEmpty {
            try? await traffic(app).set(app.backend, app.machines.flatMap { m in AppSlot.allCases.map { ($0.serverName(machine: m.name), .maint) } })
        }
        for m in app.machines { try await ops.finish(m, current: 0, keep: []) }
    }

    /// Brings the app to its desired release: repairs machines of the release serving when it is the desired one,
    /// otherwise deploys a new release.
    private func converge(_ r: Resource) async throws -> ObservedResource {
        let app = try AppDefinition(r.attributes, site: r.site)
        let config = Self.configDigest(r.attributes)
        let facts = try await probe(app)
        let ops = machineOps(app, config: config)
        let traffic = self.traffic(app)
        if !app.balancers.isEmpty {
            try await HAProxyAppTraffic(balancers: app.balancers, pool: pool)
                .ensureBackend(app.backend, servers: Set(app.machines.flatMap { m in AppSlot.allCases.map { $0.serverName(machine: m.name) } }))
        }
        // The release of this version, digest and config already serving somewhere: repair the machines that lack it.
        // (A new version of the same bundle is a new release: the app is told its version.)
        let matching = facts.values.compactMap { f -> Int? in
            guard f.current > 0, let rel = f.releases[f.current], rel.digest == app.digest, rel.config == config,
                  rel.version == app.version else { return nil }
            return f.current
        }
        let serving = try await servingSlots(app)
        if let n = matching.max() {
            let kept = try await keepOrder(app)
            for m in app.machines {
                let f = facts[m.name] ?? AppHostScript.Facts()
                let slot = f.releases[n]?.slot ?? AppSlot.a
                let ok = f.current == n && (f.releases[n]?.active ?? false) && (f.releases[n]?.intact ?? false)
                    && (app.balancers.isEmpty || serving.contains(slot.serverName(machine: m.name)))
                if ok { continue }
                log("app \(app.name): repairing release \(n) on \(m.name)")
                let server = slot.serverName(machine: m.name)
                if !app.balancers.isEmpty && serving.contains(server) && serving.count > 1 {
                    // it serves, but its files changed: out of traffic (requests in flight finish) before it restarts
                    try await traffic.set(app.backend, [(server, .drain)])
                    try await traffic.awaitDrained(app.backend, [server], timeout: .milliseconds(app.drainTimeoutMS), poll: .milliseconds(200))
                }
                if !app.balancers.isEmpty && !serving.contains(server) {
                    // a machine new to haproxy has its slots enabled: nothing reaches it before otto's checks pass
                    try await traffic.set(app.backend, AppSlot.allCases.map { ($0.serverName(machine: m.name), .maint) })
                }
                try await ops.prepare(m, release: n, slot: slot)
                try await ops.start(m, release: n)
                try await ops.awaitHealthy(m, release: n, slot: slot)
                if !app.balancers.isEmpty {
                    try await traffic.set(app.backend, [(server, .ready), (slot.other.serverName(machine: m.name), .maint)], healthy: [server])
                }
                let order = kept ?? f.releases.keys.sorted(by: >)
                try await ops.finish(m, current: n, keep: [n] + order.filter { $0 != n && f.releases[$0] != nil }.prefix(app.keep))
            }
            // a deployment of this build waiting in the ledger (a promotion of what already runs, or a deploy killed
            // after the switch) is complete: every machine serves it
            if let open = await openDeployment(app) {
                await settle(app, open, .completed, events: .standard)
            }
            return ObservedResource(providerID: app.name, attributes: observed(r.attributes, app, try await probe(app), try await servingSlots(app)))
        }
        // A new release: start it on the slot the serving one does not use.
        var servingNow: [String: Int] = [:]
        var servingSlot: [AppSlot: Int] = [:]
        for (name, f) in facts where f.current > 0 {
            guard let rel = f.releases[f.current], rel.active else { continue }
            servingNow[name] = f.current
            servingSlot[rel.slot, default: 0] += 1
        }
        let previous = servingNow.values.max()
        let why = r.attributes[A.releaseReason]?.stringValue ?? "version \(app.version)"
        let n = try await releaseNumber(app, facts: facts, reason: why, rollbackOf: r.attributes[A.rollbackOf]?.intValue)
        // A deploy of this release that was killed chose its slot already (its unit may be serving there, even alone
        // when the kill came after the old release was stopped): keep it. Otherwise the slot the serving one does not use.
        let resumed = facts.values.compactMap { f in f.releases[n].flatMap { $0.digest == app.digest ? $0.slot : nil } }.first
        let slot = resumed ?? (servingSlot.max { $0.value < $1.value }?.key)?.other ?? .a
        let rollout = AppRollout(release: n, version: app.version, slot: slot, machines: app.machines.map(\.name), strategy: app.strategy,
                                 basePort: app.port, previous: previous.flatMap { p in
                                     facts.values.first { $0.releases[p] != nil }?.releases[p].map { AppReleaseRef(number: p, version: $0.version) } })
        // Machines whose serving release is in the slot the new one needs cannot keep it beside the new one.
        let blocked = servingNow.filter { name, p in facts[name]?.releases[p]?.slot == slot }
        let usable = servingNow.filter { blocked[$0.key] == nil }
        var deployer = AppDeployer(app: app, machines: ops, traffic: traffic, log: log)
        deployer.keepOrder = try await keepOrder(app)
        for line in rollout.steps { log("app \(app.name): \(line)") }
        let deployment = await startDeployment(app, reason: "\(why) (release \(n))")
        let policy = deployments?.onFailure[app.name] ?? .webhooks
        do {
            try await deployer.deploy(release: n, slot: slot, serving: usable, inTraffic: serving, rollout: rollout)
            try await finish(app, n, .succeeded, "\(why): serving on \(app.machines.count) machine\(app.machines.count == 1 ? "" : "s")")
            if let deployment { await settle(app, deployment, .completed, events: .standard) }
        } catch let failure as AppDeployer.Failure {
            var rolledBack = false
            if case .rolledBack = failure { rolledBack = true }
            try? await finish(app, n, rolledBack ? .rolledBack : .failed, "\(why): \(failure.description)")
            if let deployment { await settle(app, deployment, .failed, events: policy == .ignore ? .none : rolledBack ? .rolledBack : .standard) }
            let failed = OttoError(rolledBack ? "app.rolled_back" : "app.unhealthy", failure.description)
            throw await afterFailure(r, app, release: n, policy: policy, failed)
        } catch {
            try? await finish(app, n, .failed, "\(why): \(error)")
            if let deployment { await settle(app, deployment, .failed, events: policy == .ignore ? .none : .standard) }
            throw await afterFailure(r, app, release: n, policy: policy, error)
        }
        return ObservedResource(providerID: app.name, attributes: observed(r.attributes, app, try await probe(app), try await servingSlots(app)))
    }

    // MARK: parts

    /// The number of the release to deploy: the ledger's unfinished release of this digest when a deploy of it was
    /// killed (it resumes under its number), else the next one the ledger appends. Without a ledger, one more than
    /// any release the machines hold.
    private func releaseNumber(_ app: AppDefinition, facts: [String: AppHostScript.Facts], reason: String,
                               rollbackOf: Int?) async throws -> Int {
        guard let ledger else {
            return (facts.values.flatMap { $0.releases.keys } + facts.values.map(\.current)).max().map { $0 + 1 } ?? 1
        }
        if let open = try await ledger.latestRelease(site: app.site, app: app.name), open.result == .started,
           open.digest == app.digest, open.version == app.version {
            return open.number
        }
        return try await ledger.appendRelease(NewRelease(site: app.site, app: app.name, version: app.version, digest: app.digest,
                                                         actor: actor, hosts: app.machines.map(\.name), reason: reason,
                                                         rollbackOf: rollbackOf)).number
    }

    /// The app's releases that succeeded, newest first (what a rollback can go back to, so what `keep:` keeps);
    /// nil without a ledger.
    private func keepOrder(_ app: AppDefinition) async throws -> [Int]? {
        guard let ledger else { return nil }
        return try await ledger.releases(site: app.site, app: app.name, limit: 200).filter { $0.result == .succeeded }.map(\.number)
    }

    private func finish(_ app: AppDefinition, _ n: Int, _ result: ReleaseResult, _ reason: String) async throws {
        guard let ledger else { return }
        try await ledger.finishRelease(site: app.site, app: app.name, number: n, result: result, finished: Date(), reason: reason)
    }

    // MARK: deployment ledger

    /// The ledger's deployment of this build to this environment that has not finished (CREATED by the API or a
    /// promotion, or STARTED by a run that was killed), nil when there is none or no ledger.
    private func openDeployment(_ app: AppDefinition) async -> Deployment? {
        guard let rec = deployments else { return nil }
        do {
            return try await rec.ledger.deployments(DeploymentQuery(app: app.name, environment: rec.environment, limit: 50))
                .first { $0.digest == app.digest && !$0.state.isFinal }
        } catch {
            log("app \(app.name): the deployment ledger cannot be read: \(error)")
            return nil
        }
    }

    /// Records the deploy's start: the build's artifact (registered when new), its deployment to this environment
    /// (the one waiting, else a new one) moved to STARTED. A ledger that cannot be written is reported, not fatal: the
    /// machines are what they are.
    private func startDeployment(_ app: AppDefinition, reason: String) async -> Deployment? {
        guard let rec = deployments else { return nil }
        do {
            var d: Deployment
            if let open = await openDeployment(app) {
                d = open
            } else {
                let artifact = try await rec.ledger.artifactForBuild(name: app.name, version: app.version, digest: app.digest,
                                                                     url: app.bundleURL, by: actor)
                d = try await rec.ledger.createDeployment(artifact: artifact.id, environment: rec.environment, by: actor, reason: reason)
            }
            if d.state == .created { d = try await rec.ledger.updateDeployment(d.id, state: .started, verification: nil, at: Date()) }
            return d
        } catch {
            log("app \(app.name): the deployment ledger could not record the deploy: \(error)")
            return nil
        }
    }

    /// Moves the deployment to `state` (through STARTED when it waits); on completion keeps haproxy's counters for the
    /// app as the error budget's baseline.
    private func settle(_ app: AppDefinition, _ deployment: Deployment, _ state: DeploymentState, events: DeploymentEvents) async {
        guard let rec = deployments else { return }
        do {
            if deployment.state == .created {
                _ = try await rec.ledger.updateDeployment(deployment.id, state: .started, verification: nil, at: Date(), events: events)
            }
            _ = try await rec.ledger.updateDeployment(deployment.id, state: state, verification: nil, at: Date(), events: events)
            if state == .completed, !app.balancers.isEmpty {
                let stats = try await traffic(app).stats(app.backend)
                try await rec.ledger.recordTrafficSample(deployment: deployment.id, Self.trafficSample(stats))
            }
        } catch {
            log("app \(app.name): the deployment ledger could not record deployment \(deployment.id) \(state.rawValue): \(error)")
        }
    }

    static func trafficSample(_ stats: [String: AppServerStats]) -> TrafficSample {
        TrafficSample(at: Date(), responses: stats.values.map(\.responses).reduce(0, +), errors5xx: stats.values.map(\.http5xx).reduce(0, +))
    }

    /// haproxy's counters now for the app an `app` resource's state describes (the error budget gate reads them).
    public func trafficSample(attributes: [String: Value]) async throws -> TrafficSample {
        let app = try AppDefinition(attributes, site: nil)
        guard !app.balancers.isEmpty else {
            throw OttoError("app.traffic", "app \(app.name) has no load balancer (`lb:`): otto cannot count its responses")
        }
        return Self.trafficSample(try await traffic(app).stats(app.backend))
    }

    /// What a failed deploy leads to under the environment's failure policy: with `redeploy_last_good`, the app is held
    /// on the newest release that succeeded with another build, which is deployed again now. The deploy's own error is
    /// what the apply reports, with what was done about it.
    private func afterFailure(_ r: Resource, _ app: AppDefinition, release n: Int, policy: FailurePolicy, _ error: any Error) async -> any Error {
        guard policy == .redeployLastGood, r.attributes[A.rollbackOf] == nil, let rec = deployments, let ledger else { return error }
        do {
            guard let good = try await ledger.releases(site: app.site, app: app.name, limit: 200)
                .first(where: { $0.result == .succeeded && ($0.digest != app.digest || $0.version != app.version) }) else {
                log("app \(app.name): on_failure redeploy_last_good: no earlier release succeeded; nothing to go back to")
                return error
            }
            log("app \(app.name): on_failure redeploy_last_good: release \(n) failed; deploying release \(good.number) (\(good.version)) again")
            try await rec.holdOnRelease(app.site, app.name, good)
            var back = r
            back.attributes[A.version] = .string(good.version)
            back.attributes[A.digest] = .string(good.digest)
            back.attributes[A.bundlePath] = nil
            back.attributes[A.bundleURL] = nil
            back.attributes[A.rollbackOf] = .int(good.number)
            let why = "on_failure redeploy_last_good: release \(n) (\(app.version)) failed"
            back.attributes[A.releaseReason] = .string(why)
            // recorded as a deployment of the last good build whether the machines need a new release or only a repair
            // (a release that never took traffic left the last good one serving)
            let backApp = try AppDefinition(back.attributes, site: back.site)
            let redeploy = await startDeployment(backApp, reason: "\(why): back to release \(good.number)")
            do { _ = try await converge(back) } catch {
                if let redeploy, let now = try? await rec.ledger.deployment(redeploy.id), !now.state.isFinal {
                    await settle(backApp, now, .failed, events: .standard)
                }
                throw error
            }
            return OttoError((error as? OttoError)?.code ?? "app.unhealthy",
                             "\(error); the app is back on release \(good.number) (\(good.version)) and held there (on_failure: redeploy_last_good)")
        } catch let again {
            return OttoError("app.redeploy", "\(error); then redeploying the last good release failed too: \(again)")
        }
    }

    private func machineOps(_ app: AppDefinition, config: String = "") -> SSHAppMachines {
        SSHAppMachines(app: app, pool: pool, config: config, bundle: { try await self.bundle(app) })
    }

    /// The bundle as a gzipped tarball, read (or packed) once per run and kept in the bundle store; for a pinned build
    /// without a URL, the store's copy (nil when it has none: only a machine's kept release can provide it).
    private func bundle(_ app: AppDefinition) async throws -> [UInt8]? {
        if let cached = bundles.withLock({ $0[app.digest] }) { return cached }
        guard let path = app.bundlePath else {
            guard app.bundleURL == nil, let kept = try await store.read(app: app.name, digest: app.digest) else { return nil }
            bundles.withLock { $0[app.digest] = kept }
            return kept
        }
        let full = path.hasPrefix("/") ? path : projectRoot + "/" + path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir) else {
            throw OttoError("app.bundle", "app \(app.name): bundle \(path) does not exist")
        }
        let bytes: [UInt8]
        if isDir.boolValue {
            let tmp = NSTemporaryDirectory() + "otto-bundle-\(UUID().uuidString).tar.gz"
            defer { try? FileManager.default.removeItem(atPath: tmp) }
            try await LocalCommand.run(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", tmp, "-C", full, "."])
            bytes = try await Blocking.run { Array(try Data(contentsOf: URL(fileURLWithPath: tmp))) }
        } else {
            bytes = try await Blocking.run { Array(try Data(contentsOf: URL(fileURLWithPath: full))) }
        }
        bundles.withLock { $0[app.digest] = bytes }
        try await store.keep(app: app.name, digest: app.digest, bytes: bytes)
        return bytes
    }

    private func traffic(_ app: AppDefinition) -> any AppTraffic {
        HAProxyAppTraffic(balancers: app.balancers, pool: pool)
    }
}

/// A release as the plan names it.
public struct AppReleaseRef: Sendable, Hashable {
    /// Its number.
    public var number: Int
    /// Its version.
    public var version: String
}

/// Where an environment's app deploys are recorded in the project's deployment ledger, and what a failed deploy there
/// leads to.
public struct AppDeploymentRecording: Sendable {
    /// The project's deployment ledger.
    public var ledger: any DeployLedger
    /// The environment deployed to (`default` for a project without environments).
    public var environment: String
    /// `on_failure:` of each app's pipeline stage for this environment, by app name (`webhooks` when not given).
    public var onFailure: [String: FailurePolicy]
    /// Holds an app (site, app) on a release that succeeded before, as `otto rollback` does (writes the pin), for
    /// `redeploy_last_good`.
    public var holdOnRelease: @Sendable (_ site: String, _ app: String, _ release: ReleaseRecord) async throws -> Void

    /// Creates the recording.
    public init(ledger: any DeployLedger, environment: String, onFailure: [String: FailurePolicy],
                holdOnRelease: @escaping @Sendable (_ site: String, _ app: String, _ release: ReleaseRecord) async throws -> Void) {
        self.ledger = ledger
        self.environment = environment
        self.onFailure = onFailure
        self.holdOnRelease = holdOnRelease
    }
}
