import Foundation
import OttoCore
import Testing

/// The gates of a promotion (`PromotionGates.evaluate`): each refuses with its own typed reason, and a build that
/// passes them all is let through.
@Suite struct PromotionGatesTests {
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000)

    static func deployment(_ state: DeploymentState, finished: Date? = t0, verifications: [Verification] = []) -> Deployment {
        Deployment(id: 7, artifact: 3, app: "hello", version: "1.4.0", digest: String(repeating: "ab", count: 32), environment: "staging",
                   state: state, createdAt: t0.addingTimeInterval(-60), startedAt: t0.addingTimeInterval(-50),
                   finishedAt: state.isFinal ? finished : nil, createdBy: "ci", reason: "", verifications: verifications)
    }

    static func stage(soak: String? = nil, budget: Int? = nil, approval: Bool = false, windows: [String] = [], freezes: [Freeze] = []) -> PipelineStage {
        PipelineStage(environment: "production", soak: soak.flatMap(ConfigDuration.init(parsing:)), max5xxPerMille: budget, approval: approval,
                      windows: windows.map { try! TimeWindow(parsing: $0) }, freezes: freezes)
    }

    static func refusals(_ stage: PipelineStage, _ d: Deployment?, approvals: [Approval] = [],
                         traffic: TrafficMeasure = .unavailable("not asked"), now: Date = t0.addingTimeInterval(3600)) -> [GateRefusal] {
        PromotionGates.evaluate(.init(stage: stage, from: "staging", candidate: d, version: nil, approvals: approvals, traffic: traffic, now: now))
    }

    static func sample(_ responses: Int, _ errors: Int) -> TrafficSample { TrafficSample(at: t0, responses: responses, errors5xx: errors) }

    @Test func aBuildThatPassesEveryGateGoes() {
        let d = Self.deployment(.completed)
        let approval = Approval(id: 1, app: "hello", environment: "production", version: d.version, digest: d.digest, by: "ops", at: Self.t0, note: "")
        let stage = Self.stage(soak: "10m", budget: 5, approval: true, windows: ["00:00-24:00"],
                               freezes: [Freeze(from: Self.t0.addingTimeInterval(7200), to: Self.t0.addingTimeInterval(9000), reason: "later")])
        #expect(Self.refusals(stage, d, approvals: [approval], traffic: .samples(baseline: Self.sample(100, 1), now: Self.sample(1100, 5))) == [])
        #expect(PromotionGates.gates(of: stage) == [.success, .soak, .errorBudget, .approval, .window, .freeze])
        #expect(PromotionGates.gates(of: Self.stage()) == [.success])
    }

    @Test func successRefusesWhatFailedDidNotFinishOrWasNeverThere() {
        let failed = Self.refusals(Self.stage(), Self.deployment(.failed))
        #expect(failed == [.notSucceeded(environment: "staging", deployment: 7, version: "1.4.0", state: .failed)])
        #expect(failed[0].gate == .success && failed[0].description == "1.4.0 failed in staging: deployment 7 is FAILED")
        #expect(Self.refusals(Self.stage(), Self.deployment(.started))[0].description.contains("has not finished in staging (STARTED)"))
        #expect(Self.refusals(Self.stage(), nil) == [.noDeployment(environment: "staging", version: nil)])
        let checked = Self.deployment(.completed, verifications: [Verification(by: "ci/smoke#5", result: .failed, note: "login broken", at: Self.t0)])
        #expect(Self.refusals(Self.stage(), checked) == [.verificationFailed(environment: "staging", deployment: 7, by: "ci/smoke#5", note: "login broken")])
    }

    @Test func soakCountsFromTheDeploymentsCompletion() {
        let stage = Self.stage(soak: "10m")
        let early = Self.refusals(stage, Self.deployment(.completed), now: Self.t0.addingTimeInterval(250))
        #expect(early.count == 1 && early[0].gate == .soak)
        #expect(early[0].description == "soak not over: 5m 50s more of the 10m soak in staging")
        #expect(Self.refusals(stage, Self.deployment(.completed), now: Self.t0.addingTimeInterval(600)) == [])
    }

    @Test func errorBudgetComparesTheCountersSinceCompletion() {
        let stage = Self.stage(budget: 5)
        let over = Self.refusals(stage, Self.deployment(.completed), traffic: .samples(baseline: Self.sample(1000, 10), now: Self.sample(2000, 16)))
        #expect(over == [.errorBudgetExceeded(environment: "staging", errors: 6, requests: 1000, maxPerMille: 5)])
        #expect(over[0].description == "error budget exceeded in staging: 6 5xx of 1000 responses since the deployment completed (6.0‰, at most 5‰)")
        // exactly at the budget passes; counters that went back (a restart) and no measure at all refuse
        #expect(Self.refusals(stage, Self.deployment(.completed), traffic: .samples(baseline: Self.sample(0, 0), now: Self.sample(1000, 5))) == [])
        #expect(Self.refusals(stage, Self.deployment(.completed), traffic: .samples(baseline: Self.sample(1000, 3), now: Self.sample(10, 0)))
                    .map(\.gate) == [.errorBudget])
        let unmeasured = Self.refusals(stage, Self.deployment(.completed), traffic: .unavailable("app hello has no load balancer"))
        #expect(unmeasured == [.errorBudgetUnmeasured(environment: "staging", reason: "app hello has no load balancer")])
    }

    @Test func approvalIsForThisBuildAndThisEnvironment() {
        let d = Self.deployment(.completed), stage = Self.stage(approval: true)
        let other = Approval(id: 1, app: "hello", environment: "production", version: "1.3.0", digest: String(repeating: "cd", count: 32),
                             by: "ops", at: Self.t0, note: "")
        let elsewhere = Approval(id: 2, app: "hello", environment: "qa", version: d.version, digest: d.digest, by: "ops", at: Self.t0, note: "")
        let refused = Self.refusals(stage, d, approvals: [other, elsewhere])
        #expect(refused == [.notApproved(environment: "production", app: "hello", version: "1.4.0", digest: d.digest)])
        #expect(refused[0].description == "no approval: nobody approved 1.4.0 (sha256 abababababab) for production; `otto approve hello --to production`")
    }

    @Test func windowsAndFreezesAreAboutNow() throws {
        // 2026-12-04 was a Friday
        let friday10 = try #require(ISO8601.date("2026-12-04T10:00:00Z")), friday18 = try #require(ISO8601.date("2026-12-04T18:00:00Z"))
        let saturday = try #require(ISO8601.date("2026-12-05T10:00:00Z"))
        let stage = Self.stage(windows: ["Mon-Fri 09:00-17:00"])
        #expect(Self.refusals(stage, Self.deployment(.completed), now: friday10) == [])
        #expect(Self.refusals(stage, Self.deployment(.completed), now: friday18).map(\.gate) == [.window])
        #expect(Self.refusals(stage, Self.deployment(.completed), now: saturday).map(\.gate) == [.window])
        let berlin = try TimeWindow(parsing: "Fri 17:30-18:30 Europe/Berlin")  // 16:30-17:30 UTC in winter
        #expect(berlin.contains(try #require(ISO8601.date("2026-12-04T17:00:00Z"))) && !berlin.contains(friday18))
        let freeze = Freeze(from: friday10.addingTimeInterval(-60), to: friday10.addingTimeInterval(60), reason: "holiday sale")
        let frozen = Self.refusals(Self.stage(freezes: [freeze]), Self.deployment(.completed), now: friday10)
        #expect(frozen == [.frozen(environment: "production", reason: "holiday sale", until: friday10.addingTimeInterval(60))])
        #expect(frozen[0].description == "production is frozen until 2026-12-04T10:01:00.000Z: holiday sale")
        // the calendar gates refuse even when there is no build to judge
        #expect(Self.refusals(Self.stage(freezes: [freeze]), nil, now: friday10).map(\.gate) == [.success, .freeze])
    }

    @Test func timeWindowTextIsCheckedWithItsReason() {
        func reason(_ text: String) -> String {
            do { _ = try TimeWindow(parsing: text); return "" } catch { return error.description }
        }
        #expect(reason("Mon-Fri 09:00-17:00") == "" && reason("Sat,Sun 10:00-12:00 UTC") == "" && reason("00:00-24:00") == "")
        #expect(reason("Mon-Fri 17:00-09:00").contains("first before the second"))
        #expect(reason("Funday 09:00-17:00").contains("not a day or a range of days"))
        #expect(reason("Mon 09:00-17:00 Mars/Olympus").contains("unknown time zone"))
        #expect(reason("") .contains("expected"))
    }
}
