import OttoCore
import OttoPlan
import Testing

private let zoneSchema = KindSchema(kind: "zone", forceNew: ["name"])
private let recordSchema = KindSchema(kind: "record", forceNew: ["name"], computed: ["id"], unordered: ["values"])
private let cbdSchema = KindSchema(kind: "lb", forceNew: ["image"], createBeforeDestroy: true)
private let schemas: [SchemaKey: KindSchema] = [
    SchemaKey(provider: "p", kind: "zone"): zoneSchema,
    SchemaKey(provider: "p", kind: "record"): recordSchema,
    SchemaKey(provider: "p", kind: "lb"): cbdSchema,
]
private let here = OttoCore.SourceLocation(file: "sites/t.yml", line: 3, column: 5)

private func res(_ a: ResourceAddress, _ attrs: [String: Value], deps: [ResourceAddress] = [], lifecycle: Lifecycle = Lifecycle()) -> Resource {
    Resource(address: a, provider: "p", attributes: attrs, dependencies: deps.map { Dependency($0) }, lifecycle: lifecycle, location: here)
}
private func rec(_ a: ResourceAddress, _ attrs: [String: Value], deps: [ResourceAddress] = []) -> ResourceRecord {
    ResourceRecord(address: a, provider: "p", providerID: "id-\(a)", attributes: attrs, dependencies: deps)
}
private func obs(_ r: ResourceRecord) -> ObservedResource { r.observed }

private func plan(_ desired: [Resource], state: [ResourceRecord] = [], observed: [ResourceRecord]? = nil,
                  _ options: PlanOptions = PlanOptions()) throws -> Plan {
    let st = Dictionary(uniqueKeysWithValues: state.map { ($0.address, $0) })
    let ob = observed.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.address, $0.observed) }) } ?? (options.refresh ? st.mapValues(\.observed) : nil)
    return try Planner.plan(PlannerInput(desired: desired, state: st, observed: ob, schemas: schemas, options: options,
                                         stateLineage: "L", stateSerial: 7))
}

private func action(_ p: Plan, _ a: ResourceAddress) -> Action? { p.changes.first { $0.address == a }?.action }

@Suite struct PlannerTests {
    let zone: ResourceAddress = "zone.z"
    let www: ResourceAddress = "record.z.www"

    @Test func createsWhatDoesNotExist() throws {
        let p = try plan([res(zone, ["name": "z."]), res(www, ["name": "www", "values": .list(["1"])], deps: [zone])])
        #expect(action(p, zone) == .create)
        #expect(action(p, www) == .create)
        #expect(p.changes.first { $0.address == zone }?.reason == .doesNotExist)
        #expect(p.changes.first { $0.address == zone }?.reason.description == "does not exist yet")
        #expect(p.stateSerial == 7 && p.stateLineage == "L")
    }

    @Test func noopWhenEqualIgnoringOrderComputedAndExtraAttributes() throws {
        let desired = res(www, ["name": "www", "values": .list(["1", "2"])])
        let existing = rec(www, ["name": "www", "values": .list(["2", "1"]), "id": "x", "extra": 1])
        let p = try plan([desired], state: [existing])
        #expect(action(p, www) == .noop)
        #expect(!p.hasChanges)
    }

    @Test func updateInPlaceWithAttributeDiff() throws {
        let p = try plan([res(www, ["name": "www", "values": .list(["9"])])], state: [rec(www, ["name": "www", "values": .list(["1"])])])
        let c = try #require(p.changes.first)
        #expect(c.action == .update)
        #expect(c.changes == [AttributeChange(name: "values", before: .list(["1"]), after: .list(["9"]))])
        #expect(c.reason == .configurationChanged(["values"]))
        #expect(c.reason.description == "configuration changed: values")
    }

    @Test func driftIsNamedAsSuch() throws {
        let recorded = rec(www, ["name": "www", "values": .list(["1"])])
        let tampered = rec(www, ["name": "www", "values": .list(["6"])])
        let p = try plan([res(www, ["name": "www", "values": .list(["1"])])], state: [recorded], observed: [tampered])
        #expect(action(p, www) == .update)
        #expect(p.changes[0].reason == .drift(["values"]))
        #expect(p.changes[0].reason.description == "changed outside otto (drift): values")
        #expect(p.drift.map(\.address) == [www])
    }

    @Test func forceNewReplacesWithKindOrder() throws {
        let p = try plan([res(www, ["name": "web", "values": .list([])])], state: [rec(www, ["name": "www", "values": .list([])])])
        #expect(action(p, www) == .replace)
        #expect(p.changes[0].replaceOrder == .deleteThenCreate)
        #expect(p.changes[0].changes.first?.forcesReplace == true)
        let lb: ResourceAddress = "lb.main"
        let q = try plan([res(lb, ["image": "v2"])], state: [rec(lb, ["image": "v1"])])
        #expect(q.changes[0].replaceOrder == .createThenDelete)
        let r = try plan([res(lb, ["image": "v2"], lifecycle: Lifecycle(createBeforeDestroy: false))], state: [rec(lb, ["image": "v1"])])
        #expect(r.changes[0].replaceOrder == .deleteThenCreate)
    }

    @Test func replaceFlagForcesReplaceOfUnchangedResource() throws {
        let p = try plan([res(zone, ["name": "z."])], state: [rec(zone, ["name": "z."])], PlanOptions(replace: [zone]))
        #expect(action(p, zone) == .replace)
        #expect(p.changes[0].reason == .replaceRequested)
        #expect(p.changes[0].reason.description.contains("--replace"))
        #expect(throws: PlanError.self) { try plan([res(zone, ["name": "z."])], PlanOptions(replace: ["zone.nope"])) }
    }

    @Test func orphansAreDeletedAndGoneOrphansOnlyLeaveState() throws {
        let old: ResourceAddress = "record.z.old"
        let gone: ResourceAddress = "record.z.gone"
        let p = try plan([res(zone, ["name": "z."])], state: [rec(zone, ["name": "z."]), rec(old, ["name": "old"], deps: [zone]), rec(gone, ["name": "g"])],
                         observed: [rec(zone, ["name": "z."]), rec(old, ["name": "old"])])
        #expect(action(p, old) == .delete)
        #expect(p.changes.first { $0.address == old }?.dependencies == [zone])
        #expect(p.changes.first { $0.address == old }?.reason == .removedFromConfiguration)
        #expect(p.changes.first { $0.address == old }?.reason.description == "no longer in configuration")
        #expect(action(p, gone) == nil)
        #expect(p.drift.contains { $0.address == gone && $0.observed == nil })
    }

    @Test func deletedOutsideOttoIsRecreated() throws {
        let p = try plan([res(zone, ["name": "z."])], state: [rec(zone, ["name": "z."])], observed: [])
        #expect(action(p, zone) == .create)
        #expect(p.changes[0].reason == .deletedOutsideOtto)
        #expect(p.changes[0].reason.description.contains("deleted outside otto"))
    }

    @Test func existingButUnrecordedIsAdopted() throws {
        let p = try plan([res(zone, ["name": "z."])], state: [], observed: [rec(zone, ["name": "z."])])
        #expect(action(p, zone) == .noop)
        #expect(p.changes[0].reason == .adopted)
        #expect(p.changes[0].reason.description.contains("adopted"))
        #expect(p.drift.count == 1)
    }

    @Test func ignoreChangesHidesAttribute() throws {
        let lc = Lifecycle(ignoreChanges: ["values"])
        let p = try plan([res(www, ["name": "www", "values": .list(["new"])], lifecycle: lc)], state: [rec(www, ["name": "www", "values": .list(["old"])])])
        #expect(action(p, www) == .noop)
    }

    @Test func preventDestroyBlocksReplaceAndDestroyButNotUpdate() throws {
        let lc = Lifecycle(preventDestroy: true)
        let state = [rec(www, ["name": "www", "values": .list(["1"])])]
        #expect(throws: PlanError.self) { try plan([res(www, ["name": "other", "values": .list(["1"])], lifecycle: lc)], state: state) }
        #expect(throws: PlanError.self) { try plan([res(www, ["name": "www", "values": .list(["1"])], lifecycle: lc)], state: state, PlanOptions(mode: .destroy)) }
        let ok = try plan([res(www, ["name": "www", "values": .list(["2"])], lifecycle: lc)], state: state)
        #expect(action(ok, www) == .update)
        do {
            _ = try plan([res(www, ["name": "other", "values": .list(["1"])], lifecycle: lc)], state: state)
        } catch let error as PlanError {
            #expect(error.diagnostics.first?.location == here)
            #expect(error.description.contains("prevent_destroy"))
        }
    }

    @Test func destroyDeletesOnlyWhatStateHas() throws {
        let p = try plan([res(zone, ["name": "z."]), res(www, ["name": "www"], deps: [zone])],
                         state: [rec(zone, ["name": "z."])], observed: [rec(zone, ["name": "z."]), rec(www, ["name": "www"])],
                         PlanOptions(mode: .destroy))
        #expect(action(p, zone) == .delete)
        #expect(action(p, www) == nil)  // exists, but otto never recorded it: not ours to delete
    }

    @Test func targetIncludesDependenciesOnly() throws {
        let other: ResourceAddress = "record.z.other"
        let p = try plan([res(zone, ["name": "z."]), res(www, ["name": "www"], deps: [zone]), res(other, ["name": "o"], deps: [zone])],
                         PlanOptions(targets: ["record.z.www"]))
        #expect(Set(p.changes.map(\.address)) == [zone, www])
        #expect(throws: PlanError.self) { try plan([res(zone, ["name": "z."])], PlanOptions(targets: ["record.nothing"])) }
    }

    @Test func destroyTargetIncludesDependents() throws {
        let state = [rec(zone, ["name": "z."]), rec(www, ["name": "www"], deps: [zone]), rec("zone.y", ["name": "y."])]
        let p = try plan([], state: state, PlanOptions(mode: .destroy, targets: ["zone.z"]))
        #expect(Set(p.changes.map(\.address)) == [zone, www])
    }

    @Test func refreshOnlyPlansNoActionsButDrift() throws {
        let p = try plan([res(www, ["name": "www", "values": .list(["1"])])], state: [rec(www, ["name": "www", "values": .list(["1"])])],
                         observed: [rec(www, ["name": "www", "values": .list(["2"])])], PlanOptions(mode: .refreshOnly))
        #expect(p.changes.isEmpty)
        #expect(p.drift.count == 1)
        #expect(p.hasChanges)
    }

    @Test func refreshFalseTrustsState() throws {
        let p = try plan([res(www, ["name": "www", "values": .list(["1"])])], state: [rec(www, ["name": "www", "values": .list(["1"])])],
                         PlanOptions(refresh: false))
        #expect(action(p, www) == .noop)
        #expect(p.drift.isEmpty)
    }

    @Test func referencesResolveFromStateOrBecomeUnknown() throws {
        let m: ResourceAddress = "lb.m"
        let a: ResourceAddress = "record.z.a"
        let ref = Value.list([.ref(.init(m, "ip"))])
        // The machine exists: its address is known at plan time, and the record is up to date.
        let p = try plan([res(m, ["image": "v1"]), res(a, ["name": "a", "values": ref], deps: [m])],
                         state: [rec(m, ["image": "v1", "ip": "10.0.0.5"]), rec(a, ["name": "a", "values": .list(["10.0.0.5"])])])
        #expect(action(p, a) == .noop)
        // The machine is replaced: its new address is known only after apply.
        let q = try plan([res(m, ["image": "v2"]), res(a, ["name": "a", "values": ref], deps: [m])],
                         state: [rec(m, ["image": "v1", "ip": "10.0.0.5"]), rec(a, ["name": "a", "values": .list(["10.0.0.5"])])])
        #expect(action(q, a) == .update)
        #expect(q.changes.first { $0.address == a }?.changes.first?.after == .list([.ref(.init(m, "ip"))]))
        // The machine is updated and has no address yet (still booting): the address comes from the update.
        let u = try plan([res(m, ["image": "v1", "status": "active"]), res(a, ["name": "a", "values": ref], deps: [m])],
                         state: [rec(m, ["image": "v1", "status": "new", "ip": .null])])
        #expect(action(u, m) == .update)
        #expect(u.changes.first { $0.address == a }?.after?.attributes["values"] == ref)
        // Updated but with an address already: that address is used now.
        let v = try plan([res(m, ["image": "v1", "status": "active"]), res(a, ["name": "a", "values": ref], deps: [m])],
                         state: [rec(m, ["image": "v1", "status": "off", "ip": "10.0.0.5"]), rec(a, ["name": "a", "values": .list(["10.0.0.5"])])])
        #expect(action(v, a) == .noop)
    }

    @Test func cyclesAreErrorsNamingThePath() throws {
        let b: ResourceAddress = "zone.b"
        let l1 = OttoCore.SourceLocation(file: "sites/c.yml", line: 4, column: 20)
        let l2 = OttoCore.SourceLocation(file: "sites/c.yml", line: 7, column: 20)
        let r1 = Resource(address: zone, provider: "p", attributes: [:], dependencies: [Dependency(b, at: l1)])
        let r2 = Resource(address: b, provider: "p", attributes: [:], dependencies: [Dependency(zone, at: l2)])
        do {
            _ = try plan([r1, r2])
            Issue.record("expected a cycle error")
        } catch let error as PlanError {
            #expect(error.description.contains("dependency cycle: zone.b → zone.z → zone.b"))
            #expect(error.diagnostics.map(\.location) == [l2, l1])
        }
    }

    @Test func unknownKindIsAnError() {
        let r = Resource(address: "thing.x", provider: "p", attributes: [:], location: here)
        #expect(throws: PlanError.self) { try plan([r]) }
    }

    @Test func planRoundTripsThroughJSON() throws {
        let p = try plan([res(zone, ["name": "z."]), res(www, ["name": "www", "values": .list([.ref(.init(zone, "name"))])], deps: [zone])])
        let data = try JSONEncoder().encode(p)
        let back = try JSONDecoder().decode(Plan.self, from: data)
        #expect(back.changes == p.changes)
        #expect(back.stateSerial == 7)
    }
}

import Foundation
