import OttoCore
@testable import OttoProviders
import Synchronization
import Testing

/// The deploy state machine (AppDeployer) with its two sides recorded in memory: what haproxy would be told, and
/// what each machine would run. The same deployer runs against real machines and haproxy in the end-to-end suite.
@Suite struct AppDeployerTests {
    typealias A = AttributeName.App

    static func app(machines: [String] = ["w-0", "w-1"], strategy: String = "blue-green", watchMS: Int = 300) throws -> AppDefinition {
        let list: [Value] = machines.map { .map([A.machineName: .string($0), AttributeName.Host.host: "127.0.0.1"]) }
        return try AppDefinition([A.name: "hello", A.version: "1.1", A.digest: "d2", A.exec: "/srv/run {{port}}", A.port: 8080,
                                  A.strategy: .string(strategy), A.watchMS: .int(watchMS), A.drainTimeoutMS: 200,
                                  A.machines: .list(list), A.balancers: .list([.map([A.machineName: "lb-0", AttributeName.Host.host: "127.0.0.1"])])],
                                 site: "demo")
    }

    /// haproxy as far as the deployer sees it: admin states, and stats that a test can make bad.
    final class Traffic: AppTraffic {
        let states = Mutex<[String: HAProxyAdminState]>([:])
        let log = Mutex<[String]>([])
        /// Servers whose name ends with this slot answer half their requests with 5xx while ready (counters grow by
        /// 100 responses per stats call, as haproxy's do under load).
        let failing = Mutex<AppSlot?>(nil)
        let calls = Mutex(0)
        let markedUp = Mutex<[Set<String>]>([])
        /// A server made ready reports up only from the `upAfter`-th stats call after it (haproxy's own check).
        let upAfter = Mutex(0)
        /// The stats call count at which each server was last made ready.
        let readyAt = Mutex<[String: Int]>([:])
        /// Sets, and the first stats call reporting each server up, in order.
        let events = Mutex<[String]>([])
        func set(_ backend: String, _ changes: [(server: String, state: HAProxyAdminState)], healthy: Set<String>) async throws {
            let n = calls.withLock { $0 }
            states.withLock { s in
                for c in changes {
                    if c.state == .ready && s[c.server] != .ready { readyAt.withLock { $0[c.server] = n } }
                    s[c.server] = c.state
                }
            }
            let line = changes.map { "\($0.server)=\($0.state.rawValue)" }.joined(separator: " ")
            log.withLock { $0.append(line) }
            events.withLock { $0.append(line) }
            if !healthy.isEmpty { markedUp.withLock { $0.append(healthy) } }
        }
        func stats(_ backend: String) async throws -> [String: AppServerStats] {
            let bad = failing.withLock { $0 }
            let n = calls.withLock { $0 += 1; return $0 }
            let lag = upAfter.withLock { $0 }, since = readyAt.withLock { $0 }
            let out = states.withLock { s in
                var out: [String: AppServerStats] = [:]
                for (name, state) in s {
                    let failingNow = bad.map { name.hasSuffix("_\($0.rawValue)") } ?? false
                    out[name] = AppServerStats(sessions: 0, responses: failingNow && state == .ready ? 100 * n : 0,
                                               http5xx: failingNow && state == .ready ? 50 * n : 0,
                                               up: state == .ready && n - (since[name] ?? 0) >= lag)
                }
                return out
            }
            events.withLock { e in
                for (name, st) in out.sorted(by: { $0.key < $1.key }) where st.up && !e.contains("up " + name) { e.append("up " + name) }
            }
            return out
        }
    }

    /// Machines as far as the deployer sees them: which releases run where; releases listed in `unhealthy` never pass.
    final class Machines: AppMachineOps {
        let running = Mutex<[String: Set<Int>]>([:])
        let current = Mutex<[String: Int]>([:])
        let unhealthy: Set<Int>
        init(unhealthy: Set<Int> = [], serving: [String: Int] = [:]) {
            self.unhealthy = unhealthy
            running.withLock { r in for (m, n) in serving { r[m] = [n] } }
            current.withLock { $0 = serving }
        }
        func prepare(_ m: AppDefinition.Machine, release: Int, slot: AppSlot) async throws {}
        func start(_ m: AppDefinition.Machine, release: Int) async throws { running.withLock { _ = $0[m.name, default: []].insert(release) } }
        func awaitHealthy(_ m: AppDefinition.Machine, release: Int, slot: AppSlot) async throws {
            if unhealthy.contains(release) { throw OttoError("app.host", "\(m.name): not healthy within the deadline") }
        }
        func afterStart(_ m: AppDefinition.Machine, release: Int) async throws {}
        func stop(_ m: AppDefinition.Machine, release: Int) async throws { running.withLock { _ = $0[m.name]?.remove(release) } }
        func finish(_ m: AppDefinition.Machine, current n: Int, keep: [Int]) async throws { current.withLock { $0[m.name] = n } }
    }

    func deployer(_ app: AppDefinition, _ m: Machines, _ t: Traffic) -> AppDeployer {
        var d = AppDeployer(app: app, machines: m, traffic: t, log: { _ in })
        d.pollInterval = .milliseconds(20)
        return d
    }

    @Test func blueGreenStartsAllThenSwitchesOnceAndStopsTheOld() async throws {
        let app = try Self.app()
        let m = Machines(serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        try await deployer(app, m, t).deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], rollout: rollout)
        let log = t.log.withLock { $0 }
        // old slots ready and new slots out of service first, then one switch for the whole set, then the old slots
        // out of service
        #expect(log.first == "w-0_a=ready w-1_a=ready w-0_b=maint w-1_b=maint")
        // the switch: the new slots ready, then (once haproxy reports them up) the old ones drain
        let switchAt = try #require(log.firstIndex(of: "w-0_b=ready w-1_b=ready"))
        #expect(log[switchAt + 1] == "w-0_a=drain w-1_a=drain")
        // the new slots passed otto's checks: haproxy takes them as up at once, so no moment lacks a server
        #expect(t.markedUp.withLock { $0 } == [["w-0_b", "w-1_b"]])
        #expect(log.last == "w-0_a=maint w-1_a=maint")
        #expect(m.running.withLock { $0 } == ["w-0": [4], "w-1": [4]])
        #expect(m.current.withLock { $0 } == ["w-0": 4, "w-1": 4])
    }

    @Test func rollingSwitchesBatchByBatch() async throws {
        let app = try Self.app(machines: ["w-0", "w-1", "w-2"], strategy: "rolling:1")
        let m = Machines(serving: ["w-0": 1, "w-1": 1, "w-2": 1]), t = Traffic()
        let rollout = AppRollout(release: 2, version: "1.1", slot: .b, machines: ["w-0", "w-1", "w-2"], strategy: .rolling(.count(1)),
                                 basePort: 8080, previous: AppReleaseRef(number: 1, version: "1.0"))
        try await deployer(app, m, t).deploy(release: 2, slot: .b, serving: ["w-0": 1, "w-1": 1, "w-2": 1], rollout: rollout)
        #expect(t.log.withLock { $0 } == ["w-0_a=ready w-0_b=maint", "w-0_b=ready", "w-0_a=drain",
                                          "w-1_a=ready w-1_b=maint", "w-1_b=ready", "w-1_a=drain",
                                          "w-2_a=ready w-2_b=maint", "w-2_b=ready", "w-2_a=drain",
                                          "w-0_a=maint w-1_a=maint w-2_a=maint"])
    }

    @Test func theOldSlotsDrainOnlyOnceHAProxyReportsTheNewOnesUp() async throws {
        let app = try Self.app(watchMS: 0)
        let m = Machines(serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        t.upAfter.withLock { $0 = 4 }   // haproxy's own check takes a while after the slots leave maint
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        try await deployer(app, m, t).deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], rollout: rollout)
        let events = t.events.withLock { $0 }
        let ready = try #require(events.firstIndex(of: "w-0_b=ready w-1_b=ready"))
        let drain = try #require(events.firstIndex(of: "w-0_a=drain w-1_a=drain"))
        let up0 = try #require(events.firstIndex(of: "up w-0_b")), up1 = try #require(events.firstIndex(of: "up w-1_b"))
        #expect(ready < up0 && ready < up1 && up0 < drain && up1 < drain, "\(events)")
        #expect(t.states.withLock { $0 } == ["w-0_a": .maint, "w-1_a": .maint, "w-0_b": .ready, "w-1_b": .ready])
    }

    @Test func newSlotsHAProxyNeverReportsUpAreTakenOutAndTheOldKeepServing() async throws {
        let app = try Self.app(watchMS: 0)
        let m = Machines(serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        t.upAfter.withLock { $0 = 1_000_000 }
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        var d = deployer(app, m, t)
        d.switchTimeout = .milliseconds(200)
        do {
            try await d.deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], rollout: rollout)
            Issue.record("the deploy should have failed")
        } catch let AppDeployer.Failure.unhealthy(why) {
            #expect(why.contains("did not report w-0_b, w-1_b up"), "\(why)")
        }
        #expect(!t.log.withLock { $0 }.joined(separator: " ").contains("_a=drain"))
        #expect(t.states.withLock { $0 } == ["w-0_a": .ready, "w-1_a": .ready, "w-0_b": .maint, "w-1_b": .maint])
        #expect(m.running.withLock { $0 } == ["w-0": [3], "w-1": [3]])
        #expect(m.current.withLock { $0 } == ["w-0": 3, "w-1": 3])
    }

    @Test func aReleaseThatNeverGetsHealthyGetsNoTrafficAndIsStopped() async throws {
        let app = try Self.app()
        let m = Machines(unhealthy: [4], serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        await #expect(throws: AppDeployer.Failure.self) {
            try await deployer(app, m, t).deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], rollout: rollout)
        }
        // no new slot was ever made ready
        #expect(t.states.withLock { $0 } == ["w-0_a": .ready, "w-1_a": .ready, "w-0_b": .maint, "w-1_b": .maint])
        #expect(t.log.withLock { $0 } == ["w-0_a=ready w-1_a=ready w-0_b=maint w-1_b=maint"])
        #expect(m.running.withLock { $0 } == ["w-0": [3], "w-1": [3]])              // old keeps running, new stopped
        #expect(m.current.withLock { $0 } == ["w-0": 3, "w-1": 3])
    }

    @Test func a5xxBurstDuringTheWatchMovesAllTrafficBackAtOnce() async throws {
        let app = try Self.app(watchMS: 2000)
        let m = Machines(serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        t.failing.withLock { $0 = .b }
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        do {
            try await deployer(app, m, t).deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], rollout: rollout)
            Issue.record("the deploy should have been rolled back")
        } catch let AppDeployer.Failure.rolledBack(why) {
            #expect(why.contains("5xx"))
        }
        #expect(t.log.withLock { $0 }.last == "w-0_a=ready w-0_b=maint w-1_a=ready w-1_b=maint")
        #expect(m.running.withLock { $0 } == ["w-0": [3], "w-1": [3]])
        #expect(m.current.withLock { $0 } == ["w-0": 3, "w-1": 3])
    }

    @Test func aDeployKilledAfterItsSwitchKeepsTheNewSlotsInTrafficWhenRunAgain() async throws {
        let app = try Self.app(watchMS: 0)
        let m = Machines(serving: ["w-0": 3, "w-1": 3]), t = Traffic()
        let rollout = AppRollout(release: 4, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .blueGreen, basePort: 8080,
                                 previous: AppReleaseRef(number: 3, version: "1.0"))
        try await deployer(app, m, t).deploy(release: 4, slot: .b, serving: ["w-0": 3, "w-1": 3], inTraffic: ["w-0_b", "w-1_b"],
                                             rollout: rollout)
        let log = t.log.withLock { $0 }
        #expect(log.first == "w-0_a=ready w-1_a=ready")       // never a moment with neither slot in traffic
        #expect(!log.joined(separator: " ").contains("_b=maint"))
        #expect(t.states.withLock { $0 } == ["w-0_a": .maint, "w-1_a": .maint, "w-0_b": .ready, "w-1_b": .ready])
    }

    @Test func aFailedSecondBatchPutsTheFirstBack() async throws {
        let app = try Self.app(machines: ["w-0", "w-1"], strategy: "rolling:1")
        /// Healthy on w-0, never on w-1.
        final class Half: AppMachineOps {
            let inner = Machines(serving: ["w-0": 1, "w-1": 1])
            func prepare(_ m: AppDefinition.Machine, release: Int, slot: AppSlot) async throws {}
            func start(_ m: AppDefinition.Machine, release: Int) async throws { try await inner.start(m, release: release) }
            func awaitHealthy(_ m: AppDefinition.Machine, release: Int, slot: AppSlot) async throws {
                if m.name == "w-1" { throw OttoError("app.host", "w-1: not healthy") }
            }
            func afterStart(_ m: AppDefinition.Machine, release: Int) async throws {}
            func stop(_ m: AppDefinition.Machine, release: Int) async throws { try await inner.stop(m, release: release) }
            func finish(_ m: AppDefinition.Machine, current n: Int, keep: [Int]) async throws {}
        }
        let m = Half(), t = Traffic()
        let rollout = AppRollout(release: 2, version: "1.1", slot: .b, machines: ["w-0", "w-1"], strategy: .rolling(.count(1)),
                                 basePort: 8080, previous: AppReleaseRef(number: 1, version: "1.0"))
        var d = AppDeployer(app: app, machines: m, traffic: t, log: { _ in })
        d.pollInterval = .milliseconds(20)
        await #expect(throws: AppDeployer.Failure.self) {
            try await d.deploy(release: 2, slot: .b, serving: ["w-0": 1, "w-1": 1], rollout: rollout)
        }
        let states = t.states.withLock { $0 }
        #expect(states["w-0_a"] == .ready)
        #expect(states["w-0_b"] == .maint)
        #expect(m.inner.running.withLock { $0 } == ["w-0": [1], "w-1": [1]])
    }

    /// `keep:` keeps what a rollback can use: the serving release and the newest that succeeded, not failed ones.
    @Test func keepPrefersReleasesThatSucceeded() throws {
        let app = try Self.app()   // keep: 3 (the default)
        var d = deployer(app, Machines(), Traffic())
        // 8 is new, 7 serves; 6 and 5 failed, 4, 3 and 1 succeeded
        d.keepOrder = [7, 4, 3, 1]
        #expect(d.keepList(current: 8, serving: ["w-0": 7, "w-1": 7]) == [8, 7, 4, 3])
        // without a ledger: the newest numbers
        d.keepOrder = nil
        #expect(d.keepList(current: 8, serving: ["w-0": 7, "w-1": 7]) == [8, 7, 6, 5])
        #expect(d.keepList(current: 1, serving: [:]) == [1])
    }
}
