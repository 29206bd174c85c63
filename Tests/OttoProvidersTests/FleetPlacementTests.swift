import Foundation
@testable import OttoProviders
import OttoCore
import Testing

/// `FleetSitePlacement`: how otto's scheduler treats machines that do not answer (kept for `lost_after`, recorded
/// since when, then left), machines presenting another host key (kept, never left), and what the plan compares.
@Suite struct FleetPlacementTests {
    typealias U = AttributeName.FleetUnit
    typealias H = AttributeName.Host
    static let machines = ["s-web-0", "s-web-1", "s-web-2", "s-web-3"]
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func candidates() -> Value {
        .list(machines.enumerated().map { i, m in
            .map([U.candidateName: .string(m), U.candidateAddress: .string("machine.s.web[\(i)]"), U.candidateMetadata: .map([:]),
                  H.host: .string("10.213.0.\(10 + i)"), H.sshPort: .int(22), H.sshUser: .string("root"), H.hostKey: .string("ssh-ed25519 K\(i)")])
        })
    }

    static func unit(_ n: Int) -> Resource {
        let options: Value = .list([
            .map([U.optionSection: "Service", U.optionName: "ExecStart", U.optionValue: "/bin/sleep infinity"]),
            .map([U.optionSection: "X-Fleet", U.optionName: "Conflicts", U.optionValue: "web@*.service"]),
        ])
        return Resource(address: ResourceAddress(kind: "fleet_unit", name: "s.web@\(n).service"), provider: "scheduler",
                        attributes: [U.name: .string("web@\(n).service"), U.options: options, U.desiredState: "launched", U.site: "s",
                                     U.candidates: candidates(), U.lostAfterSeconds: .int(120)])
    }

    /// Units web@1..3 observed on machines 0..2 (machine 3 free); `down` did not answer (or presented another key).
    static func place(down: String?, refused: Bool = false, lostSince: Date? = nil, extra: [Resource] = []) -> Placement {
        var observed: [ResourceAddress: ObservedResource] = [:]
        var recorded: [ResourceAddress: ResourceRecord] = [:]
        for n in 1...3 {
            let r = unit(n), m = machines[n - 1]
            var a = r.attributes
            a[U.machineID] = .string(m)
            a[H.reachable] = .bool(m != down)
            observed[r.address] = ObservedResource(providerID: m, attributes: a)
            var rec = a
            if m == down, let lostSince { rec[U.lostSince] = .string(ISO8601.string(lostSince)) }
            recorded[r.address] = ResourceRecord(address: r.address, provider: "scheduler", providerID: m, attributes: rec, dependencies: [], site: "s")
        }
        var sights: [String: FleetSchedulerProvider.MachineSight] = [:]
        for m in machines { sights[m] = .reachable([:]) }
        if let down { sights[down] = refused ? .refused("host key for 10.213.0.11:22 changed") : .unreachable("connection refused") }
        return FleetSitePlacement(resources: (1...3).map(unit) + extra, observed: observed, recorded: recorded, sights: sights, now: now).run()
    }

    static func machine(_ p: Placement, _ n: Int) -> String? {
        p.desired.first { $0.attributes[U.name]?.stringValue == "web@\(n).service" }?.attributes[U.machineID]?.stringValue
    }

    @Test func allAnsweringKeepsEveryPlacementAndSaysWhy() {
        let p = Self.place(down: nil, extra: [Self.unit(4)])
        #expect((1...4).map { Self.machine(p, $0) } == ["s-web-0", "s-web-1", "s-web-2", "s-web-3"])
        #expect(p.desired.allSatisfy { $0.attributes[U.lostSince] == .null && $0.attributes[U.staleOn] == .list([]) })
        // A unit that stays has the same placement text in what was observed, so it plans as no change.
        let kept = p.observed[ResourceAddress(kind: "fleet_unit", name: "s.web@1.service")]
        #expect(kept?.attributes[U.placement] == p.desired.first?.attributes[U.placement])
        #expect(p.notes.isEmpty)
    }

    @Test func aMachineWithinLostAfterKeepsItsUnitAndTheStateLearnsSinceWhen() {
        let p = Self.place(down: "s-web-1", extra: [Self.unit(4)])
        #expect(Self.machine(p, 2) == "s-web-1")
        let web2 = p.desired.first { $0.attributes[U.name] == "web@2.service" }
        #expect(web2?.attributes[U.lostSince] == .string(ISO8601.string(Self.now)))
        // The observation keeps what the state knew (nothing yet), so the plan records the time: an update of lost_since only.
        #expect(p.observed[ResourceAddress(kind: "fleet_unit", name: "s.web@2.service")]?.attributes[U.lostSince] == .null)
        #expect(p.notes.map(\.message).contains { $0.contains("s-web-1 has not answered since") })
        // A new unit does not go to the machine that does not answer.
        #expect(Self.machine(p, 4) == "s-web-3")
    }

    @Test func aMachineLongerThanLostAfterLosesItsUnits() {
        let p = Self.place(down: "s-web-1", lostSince: Self.now.addingTimeInterval(-121))
        #expect(Self.machine(p, 2) == "s-web-3")
        #expect(Self.machine(p, 1) == "s-web-0" && Self.machine(p, 3) == "s-web-2")
        let web2 = p.desired.first { $0.attributes[U.name] == "web@2.service" }
        #expect(web2?.attributes[U.lostSince] == .null)
        #expect(web2?.attributes[U.placement]?.stringValue?.contains("s-web-1") == true, "\(String(describing: web2?.attributes[U.placement]))")
        // Still within: stays, with the recorded time (no change to plan).
        let within = Self.place(down: "s-web-1", lostSince: Self.now.addingTimeInterval(-60))
        #expect(Self.machine(within, 2) == "s-web-1")
        let since = ISO8601.string(Self.now.addingTimeInterval(-60))
        #expect(within.desired.first { $0.attributes[U.name] == "web@2.service" }?.attributes[U.lostSince] == .string(since))
        #expect(within.observed[ResourceAddress(kind: "fleet_unit", name: "s.web@2.service")]?.attributes[U.lostSince] == .string(since))
    }

    @Test func aMachinePresentingAnotherHostKeyIsNeverTakenForLost() {
        let p = Self.place(down: "s-web-1", refused: true, lostSince: Self.now.addingTimeInterval(-3600), extra: [Self.unit(4)])
        #expect(Self.machine(p, 2) == "s-web-1")
        #expect(Self.machine(p, 4) == "s-web-3")
        #expect(p.notes.map(\.message).contains { $0.contains("not trusted") && $0.contains("host key") })
    }

    @Test func unitsNoMachineCanTakeAreLeftOutWithTheirReason() {
        let p = Self.place(down: nil, extra: [Self.unit(4), Self.unit(5)])
        #expect(Self.machine(p, 5) == nil)
        #expect(!p.desired.contains { $0.attributes[U.name] == "web@5.service" })
        let note = p.notes.first { $0.address.name == "s.web@5.service" }?.message ?? ""
        #expect(note.hasPrefix("cannot be placed: ") && note.contains("Conflicts=web@*.service"), "\(note)")
    }
}
