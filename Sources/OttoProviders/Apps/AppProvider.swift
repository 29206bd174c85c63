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
    private let bundles = Mutex<[String: [UInt8]]>([:])
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

    /// Creates the provider; project bundles are read under `projectRoot`; releases are numbered and recorded in
    /// `ledger` as deployed by `actor`.
    public init(name: String = "apps", projectRoot: String, ledger: (any ReleaseLedger)? = nil, actor: String = "otto",
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.name = name
        self.projectRoot = projectRoot
        self.ledger = ledger
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
        do {
            try await deployer.deploy(release: n, slot: slot, serving: usable, inTraffic: serving, rollout: rollout)
            try await finish(app, n, .succeeded, "\(why): serving on \(app.machines.count) machine\(app.machines.count == 1 ? "" : "s")")
        } catch let failure as AppDeployer.Failure {
            var rolledBack = false
            if case .rolledBack = failure { rolledBack = true }
            try? await finish(app, n, rolledBack ? .rolledBack : .failed, "\(why): \(failure.description)")
            throw OttoError(rolledBack ? "app.rolled_back" : "app.unhealthy", failure.description)
        } catch {
            try? await finish(app, n, .failed, "\(why): \(error)")
            throw error
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

    private func machineOps(_ app: AppDefinition, config: String = "") -> SSHAppMachines {
        SSHAppMachines(app: app, pool: pool, config: config, bundle: { try await self.bundle(app) })
    }

    /// The bundle as a gzipped tarball, read (or packed) once per run.
    private func bundle(_ app: AppDefinition) async throws -> [UInt8]? {
        guard let path = app.bundlePath else { return nil }
        if let cached = bundles.withLock({ $0[app.digest] }) { return cached }
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
