import Foundation
import OttoCore
@testable import OttoPlan
import Testing

/// A large plan is made in ranges of resources on every CPU at once; it must be the plan made one resource at a time:
/// the same changes (creates, updates, replaces, deletes, no-ops; references resolved from what was planned before them;
/// sensitive attributes marked), and the same refusals in the same order.
@Suite struct PlannerChunkTests {
    static let schemas: [SchemaKey: KindSchema] = [
        SchemaKey(provider: "p", kind: "zone"): KindSchema(kind: "zone", forceNew: ["name"], computed: ["id"]),
        SchemaKey(provider: "p", kind: "record"): KindSchema(kind: "record", forceNew: ["name"], computed: ["id"], unordered: ["values"],
                                                              sensitive: ["secret"]),
    ]
    static let here = OttoCore.SourceLocation(file: "sites/t.yml", line: 3, column: 5)

    /// `zones` zones of `perZone` records each. Every seventh record refers to its zone's id, every fifth is in state
    /// as it is, every eleventh in state with other values, every thirteenth with another name (a replace); every
    /// seventeenth keeps `prevent_destroy`; 50 records are only in state (deletes).
    static func input(zones: Int, perZone: Int) -> PlannerInput {
        var desired: [Resource] = []
        var state: [ResourceAddress: ResourceRecord] = [:]
        for z in 0..<zones {
            let zone = ResourceAddress(kind: "zone", name: "z\(z)")
            desired.append(Resource(address: zone, provider: "p", attributes: ["name": .string("z\(z).")], dependencies: [],
                                    lifecycle: Lifecycle(), location: here))
            if z % 2 == 0 {
                state[zone] = ResourceRecord(address: zone, provider: "p", providerID: "id-\(z)", attributes: ["name": .string("z\(z)."), "id": .string("id-\(z)")],
                                             dependencies: [])
            }
            for i in 0..<perZone {
                let n = z * perZone + i
                let address = ResourceAddress(kind: "record", name: "z\(z).r\(i)")
                var attributes: [String: Value] = ["name": .string("r\(i)"), "values": .list([.string("10.0.\(z).\(i % 250)")]),
                                                   "secret": .string("s\(n)")]
                if n % 7 == 0 { attributes["zone_id"] = .ref(Value.Reference(zone, "id")) }
                desired.append(Resource(address: address, provider: "p", attributes: attributes, dependencies: [Dependency(zone)],
                                        lifecycle: Lifecycle(preventDestroy: n % 17 == 0), location: here))
                var recorded = attributes
                recorded["zone_id"] = n % 7 == 0 ? .string("id-\(z)") : nil
                if n % 11 == 0 { recorded["values"] = .list([.string("192.0.2.1")]) }
                if n % 13 == 0 { recorded["name"] = .string("old\(i)") }
                if n % 5 == 0 || n % 11 == 0 || n % 13 == 0 {
                    state[address] = ResourceRecord(address: address, provider: "p", providerID: "rid-\(n)", attributes: recorded,
                                                    dependencies: [zone])
                }
            }
        }
        for g in 0..<50 {
            let gone = ResourceAddress(kind: "record", name: "gone.r\(g)")
            state[gone] = ResourceRecord(address: gone, provider: "p", providerID: "g\(g)", attributes: ["name": .string("g\(g)")], dependencies: [])
        }
        return PlannerInput(desired: desired, state: state, observed: state.mapValues(\.observed), schemas: schemas,
                            options: PlanOptions(), stateLineage: "L", stateSerial: 3)
    }

    static func json(_ plan: Plan) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(plan), as: UTF8.self)
    }

    @Test func aPlanMadeInRangesIsThePlanMadeOneByOne() throws {
        var input = Self.input(zones: 30, perZone: 200)
        // no prevent_destroy here (a replace of one refuses the whole plan): that is the next test
        input.desired = input.desired.map { var r = $0; r.lifecycle.preventDestroy = false; return r }
        let whole = try Planner.plan(input, chunk: Int.max)
        var ranged = try Planner.plan(input, chunk: 64)
        ranged.createdAt = whole.createdAt  // the one field that is not the plan's content
        let (a, b) = (try Self.json(ranged), try Self.json(whole))
        #expect(a == b)
        if a != b, let i = zip(a, b).enumerated().first(where: { $0.1.0 != $0.1.1 })?.offset {
            print("first difference at \(i):\nranged: \(a.dropFirst(max(0, i - 300)).prefix(600))\nwhole:  \(b.dropFirst(max(0, i - 300)).prefix(600))")
        }
        let counts = whole.counts
        #expect(counts[.create, default: 0] > 0 && counts[.update, default: 0] > 0 && counts[.replace, default: 0] > 0)
        #expect(counts[.delete] == 50 && counts[.noop, default: 0] > 0)
        #expect(whole.changes.count == 30 + 30 * 200 + 50)
        // a reference to a zone being created stays a reference; to a zone that exists, its id
        let created = try #require(whole.changes.first { $0.address == ResourceAddress(kind: "record", name: "z1.r3") })
        #expect(created.after?.attributes["zone_id"] == .ref(Value.Reference(ResourceAddress(kind: "zone", name: "z1"), "id")))
        let resolved = try #require(whole.changes.first { $0.address == ResourceAddress(kind: "record", name: "z0.r0") })
        #expect(resolved.after?.attributes["zone_id"] == .string("id-0"))
        #expect(whole.changes.allSatisfy { $0.address.kind != "record" || $0.sensitive.contains("secret") })
    }

    @Test func refusalsComeInTheSameOrder() throws {
        let input = Self.input(zones: 20, perZone: 150)
        var refusals: [[String]] = []
        for chunk in [Int.max, 40] {
            do {
                _ = try Planner.plan(input, chunk: chunk)
                Issue.record("prevent_destroy on replaced records must refuse the plan")
            } catch {
                refusals.append(error.diagnostics.map(\.description))
            }
        }
        #expect(refusals.count == 2 && refusals[0] == refusals[1])
        #expect((refusals.first?.count ?? 0) > 5)
        #expect(refusals.first?.allSatisfy { $0.contains("prevent_destroy") } == true)
    }
}
