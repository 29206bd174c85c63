import Foundation
import OttoCore

/// What haproxy reports about one server slot, summed over the balancers.
public struct AppServerStats: Sendable, Hashable {
    /// Connections open now.
    public var sessions = 0
    /// HTTP responses so far.
    public var responses = 0
    /// 5xx responses so far.
    public var http5xx = 0
    /// Connection and response errors so far (`econ` + `eresp`).
    public var connectionErrors = 0
    /// Up on every balancer: ready and passing its health check (not in maint, drain or down).
    public var up = false

    public init(sessions: Int = 0, responses: Int = 0, http5xx: Int = 0, connectionErrors: Int = 0, up: Bool = false) {
        self.sessions = sessions
        self.responses = responses
        self.http5xx = http5xx
        self.connectionErrors = connectionErrors
        self.up = up
    }
}

/// The haproxy side of a deploy: every balancer of the app, moved together.
protocol AppTraffic: Sendable {
    /// Sets servers of `backend` on every balancer, all of one balancer's changes in one round trip (so a switch
    /// is as close to atomic as haproxy allows); servers in `healthy` passed otto's own checks and are marked up as
    /// they are made ready.
    func set(_ backend: String, _ changes: [(server: String, state: HAProxyAdminState)], healthy: Set<String>) async throws
    /// Every server of `backend`, by name.
    func stats(_ backend: String) async throws -> [String: AppServerStats]
}

extension AppTraffic {
    /// Sets servers without marking any up.
    func set(_ backend: String, _ changes: [(server: String, state: HAProxyAdminState)]) async throws {
        try await set(backend, changes, healthy: [])
    }

    /// Waits until no connection is open on any of `servers` (drained), reading the stats every `poll`, at most
    /// `timeout`; returns either way.
    func awaitDrained(_ backend: String, _ servers: Set<String>, timeout: Duration, poll: Duration) async throws {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let stats = try await stats(backend)
            if servers.allSatisfy({ (stats[$0]?.sessions ?? 0) == 0 }) { return }
            try await Task.sleep(for: poll)
        }
    }
}

/// The machine side of a deploy, one machine at a time.
protocol AppMachineOps: Sendable {
    /// Unpacks the release (unless already there), writes its unit and environment.
    func prepare(_ machine: AppDefinition.Machine, release: Int, slot: AppSlot) async throws
    /// Runs the before-start hook and starts the release's unit.
    func start(_ machine: AppDefinition.Machine, release: Int) async throws
    /// Waits until the release passes its health check for `min_healthy_time`; throws after `healthy_deadline`.
    func awaitHealthy(_ machine: AppDefinition.Machine, release: Int, slot: AppSlot) async throws
    /// Runs the after-start hook.
    func afterStart(_ machine: AppDefinition.Machine, release: Int) async throws
    /// Runs the before-stop hook and stops the release.
    func stop(_ machine: AppDefinition.Machine, release: Int) async throws
    /// Records the release serving on the machine and removes releases not in `keep`.
    func finish(_ machine: AppDefinition.Machine, current: Int, keep: [Int]) async throws
}

/// Carries out one release of an app: the state machine of totem's deployer (NEW → STARTED → PROMOTED, or FAILED)
/// over otto's machines and haproxy's runtime API.
///
/// Traffic moves only through haproxy's admin states, so every step is idempotent and a deploy killed at any
/// moment is finished by the next run: the new release is started beside the old one on the other slot, gets
/// traffic only once healthy, and the old one keeps running (drained) until the new one has passed its watch.
struct AppDeployer: Sendable {
    let app: AppDefinition
    let machines: any AppMachineOps
    let traffic: any AppTraffic
    /// Progress lines for the apply's output.
    let log: @Sendable (String) -> Void
    /// Sleeps between watch and drain polls (a test can shorten it).
    var pollInterval: Duration = .milliseconds(500)
    /// How long haproxy may take to report a slot made ready as up (its own health check) before the switch is undone.
    var switchTimeout: Duration = .seconds(15)
    /// The releases worth keeping on disk for a rollback, newest first (the ledger's releases that succeeded); nil:
    /// the newest numbers, whatever their result.
    var keepOrder: [Int]?

    /// How a deploy ended when it did not succeed.
    enum Failure: Error, CustomStringConvertible {
        /// The new release never became healthy: it got no traffic, the old one serves.
        case unhealthy(String)
        /// The new release failed during its watch; all traffic went back to the previous release.
        case rolledBack(String)

        var description: String {
            switch self {
            case .unhealthy(let s), .rolledBack(let s): return s
            }
        }
    }

    /// Deploys `release` into `slot`. `serving` maps each machine to the release it serves now (absent: none);
    /// `inTraffic` names the server slots haproxy sends traffic to now (a deploy killed after its switch left the new
    /// slots there: they stay, and the old ones are made ready again until the new ones have passed their checks).
    func deploy(release n: Int, slot: AppSlot, serving: [String: Int], inTraffic: Set<String> = [], rollout: AppRollout) async throws {
        let byName = Dictionary(uniqueKeysWithValues: app.machines.map { ($0.name, $0) })
        var switched: [AppDefinition.Machine] = []
        var started: [AppDefinition.Machine] = []
        let old = slot.other
        for (i, names) in rollout.batches.enumerated() {
            let batch = names.compactMap { byName[$0] }
            let label = rollout.batches.count == 1 ? "" : " (batch \(i + 1)/\(rollout.batches.count))"
            // A fresh haproxy enables every slot it has never seen; the new one must get nothing before its checks pass,
            // and the old one serves (again, after a deploy that was killed half-way) until then.
            var before = batch.filter { serving[$0.name] != nil }.map { (server: old.serverName(machine: $0.name), state: HAProxyAdminState.ready) }
            before += batch.filter { !inTraffic.contains(slot.serverName(machine: $0.name)) }
                .map { (slot.serverName(machine: $0.name), .maint) }
            try await traffic.set(app.backend, before)
            do {
                try await eachMachine(batch) { try await machines.prepare($0, release: n, slot: slot) }
                started += batch
                try await eachMachine(batch) { try await machines.start($0, release: n) }
                log("app \(app.name): release \(n) (\(app.version)) started on \(names.joined(separator: ", "))\(label); waiting until healthy")
                try await eachMachine(batch) { try await machines.awaitHealthy($0, release: n, slot: slot) }
                try await eachMachine(batch) { try await machines.afterStart($0, release: n) }
            } catch {
                // Nothing reached the new release: put back what earlier batches switched, stop what started.
                if !switched.isEmpty {
                    try? await traffic.set(app.backend, switched.flatMap { [(old.serverName(machine: $0.name), HAProxyAdminState.ready),
                                                                         (slot.serverName(machine: $0.name), .maint)] })
                }
                await stopAll(started, release: n)
                throw Failure.unhealthy("app \(app.name): release \(n) (\(app.version)) did not become healthy\(label): \(error); "
                                        + (serving.isEmpty ? "nothing was serving" : "the previous release keeps serving"))
            }
            // The switch, in two steps so that no moment lacks a server: the new slots are made ready (and marked up:
            // otto has checked them), and only once haproxy reports them up on every balancer do the old ones drain.
            let fresh = batch.map { slot.serverName(machine: $0.name) }
            try await traffic.set(app.backend, fresh.map { (server: $0, state: HAProxyAdminState.ready) }, healthy: Set(fresh))
            switched += batch
            do {
                try await awaitUp(Set(fresh))
            } catch {
                try? await traffic.set(app.backend, switched.flatMap { [(old.serverName(machine: $0.name), HAProxyAdminState.ready),
                                                                     (slot.serverName(machine: $0.name), .maint)] })
                await stopAll(started, release: n)
                throw Failure.unhealthy("app \(app.name): release \(n) (\(app.version)) did not take traffic\(label): \(error); "
                                        + (serving.isEmpty ? "nothing was serving" : "the previous release keeps serving"))
            }
            try await traffic.set(app.backend, batch.filter { serving[$0.name] != nil }.map { (old.serverName(machine: $0.name), .drain) })
            log("app \(app.name): traffic on release \(n) for \(names.joined(separator: ", "))\(label)")
        }
        try await watch(release: n, slot: slot, serving: serving)
        try await retire(slot: slot, serving: serving)
        let keep = keepList(current: n, serving: serving)
        try await eachMachine(app.machines) { try await machines.finish($0, current: n, keep: keep) }
    }

    /// Waits until haproxy reports every server in `servers` up on every balancer (it can keep a server that has just
    /// left maint down until its own next check, even when told it is up); throws after `switchTimeout`.
    private func awaitUp(_ servers: Set<String>) async throws {
        let end = ContinuousClock.now + switchTimeout
        var down = servers
        while true {
            let stats = try await traffic.stats(app.backend)
            down = servers.filter { stats[$0]?.up != true }
            if down.isEmpty { return }
            guard ContinuousClock.now < end else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw OttoError("app.switch", "haproxy did not report \(down.sorted().joined(separator: ", ")) up within \(switchTimeout) "
                        + "of being made ready (see `show stat` on the balancers: its own health check must pass)")
    }

    /// Watches haproxy's figures for the new slots; past a threshold, all traffic goes back to the old slots at once.
    private func watch(release n: Int, slot: AppSlot, serving: [String: Int]) async throws {
        guard app.watch.durationMS > 0 else { return }
        let servers = Set(app.machines.map { slot.serverName(machine: $0.name) })
        let base = try await traffic.stats(app.backend)
        let end = ContinuousClock.now + .milliseconds(app.watch.durationMS)
        log("app \(app.name): watching release \(n) for \(app.watch.durationMS / 1000) s")
        while ContinuousClock.now < end {
            try await Task.sleep(for: pollInterval)
            let now = try await traffic.stats(app.backend)
            var responses = 0, errors5xx = 0, connErrors = 0
            for s in servers {
                let a = now[s] ?? AppServerStats(), b = base[s] ?? AppServerStats()
                responses += a.responses - b.responses
                errors5xx += a.http5xx - b.http5xx
                connErrors += a.connectionErrors - b.connectionErrors
            }
            let tooMany5xx = errors5xx > 0 && errors5xx * 1000 > app.watch.max5xxPerMille * max(responses, 1)
            let tooManyConnErrors = connErrors > app.watch.maxConnectionErrors
            guard tooMany5xx || tooManyConnErrors else { continue }
            let why = tooMany5xx ? "\(errors5xx) of \(responses) responses were 5xx (limit \(app.watch.max5xxPerMille) per mille)"
                : "\(connErrors) connection errors (limit \(app.watch.maxConnectionErrors))"
            let back = app.machines.filter { serving[$0.name] != nil }
            guard !back.isEmpty else {
                throw Failure.rolledBack("app \(app.name): release \(n) failed its watch: \(why); there is no earlier release to go back to")
            }
            try await traffic.set(app.backend, back.flatMap { [(slot.other.serverName(machine: $0.name), HAProxyAdminState.ready),
                                                              (slot.serverName(machine: $0.name), .maint)] })
            log("app \(app.name): release \(n) failed its watch (\(why)); all traffic is back on the previous release")
            await stopAll(app.machines, release: n)
            throw Failure.rolledBack("app \(app.name): release \(n) (\(app.version)) was rolled back: \(why)")
        }
    }

    /// Lets the old slots drain (up to `drain_timeout`), takes them out of service and stops the old releases.
    private func retire(slot: AppSlot, serving: [String: Int]) async throws {
        let old = slot.other
        let olds = app.machines.filter { serving[$0.name] != nil }
        guard !olds.isEmpty else { return }
        try await traffic.awaitDrained(app.backend, Set(olds.map { old.serverName(machine: $0.name) }),
                                       timeout: .milliseconds(app.drainTimeoutMS), poll: pollInterval)
        try await traffic.set(app.backend, olds.map { (old.serverName(machine: $0.name), .maint) })
        try await eachMachine(olds) { m in try await machines.stop(m, release: serving[m.name]!) }
    }

    /// The releases kept on disk: the new one, the ones serving before it, then others up to `keep`: those of
    /// `keepOrder` (releases that succeeded, newest first) when given, else the newest numbers.
    func keepList(current n: Int, serving: [String: Int]) -> [Int] {
        var keep = [n] + Set(serving.values).sorted(by: >)
        let candidates = keepOrder ?? Array((1..<max(n, 1)).reversed())
        for c in candidates where keep.count < app.keep + 1 && c != n && !keep.contains(c) { keep.append(c) }
        return keep
    }

    private func stopAll(_ list: [AppDefinition.Machine], release n: Int) async {
        for m in list { try? await machines.stop(m, release: n) }
    }

    /// Runs `body` on every machine at once; the first error is thrown after all have finished.
    private func eachMachine(_ list: [AppDefinition.Machine],
                             _ body: @escaping @Sendable (AppDefinition.Machine) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for m in list { group.addTask { try await body(m) } }
            var first: (any Error)?
            while let next = await group.nextResult() {
                if case .failure(let e) = next, first == nil { first = e }
            }
            if let first { throw first }
        }
    }
}
