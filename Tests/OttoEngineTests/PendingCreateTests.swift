import OttoCore
import OttoEngine
import OttoPlan
import OttoTestSupport
import Testing

/// Crash-safe creates: a keyed create is recorded as pending before the provider is called, and a later refresh
/// finds what it made by its key instead of creating it twice.
@Suite struct PendingCreateTests {
    private let schemas = [KindSchema(kind: "machine", keyedCreate: true), KindSchema(kind: "record")]

    private func machine(_ name: String) -> Resource {
        Resource(address: ResourceAddress(kind: "machine", name: name), provider: "rec", attributes: ["name": .string(name)])
    }

    private func plan(_ desired: [Resource], _ p: RecordingProvider, _ st: MemoryStateWriter,
                      options: PlanOptions = PlanOptions()) async throws -> Plan {
        try await Engine(providers: ["rec": p]).plan(desired: desired, state: st.records, lineage: "L", serial: 0,
                                                     options: options, pendingCreates: st.pendingCreates)
    }

    private func apply(_ plan: Plan, _ p: RecordingProvider, _ st: MemoryStateWriter) async -> ApplySummary {
        await Executor(providers: ["rec": p], state: st).apply(plan, recorded: st.records)
    }

    @Test func lostCreateResponseIsAdoptedByKeyNotCreatedAgain() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let desired = [machine("m")]
        p.loseCreateResponse("machine.m")
        let first = await apply(try await plan(desired, p, st), p, st)
        #expect(first.failed == 1)
        // The create happened; the state holds its pending key, which is the key the provider received.
        let pending = try #require(st.pendingCreates["machine.m"])
        #expect(pending.key == p.key(of: "machine.m"))
        #expect(pending.key.count == 20)
        #expect(st.records.isEmpty)

        let second = try await plan(desired, p, st)
        let change = try #require(second.changes.first { $0.address == "machine.m" })
        #expect(change.action == .noop)
        #expect(change.reason == .madeByInterruptedRun(differs: []))
        #expect(change.reason.description.contains("interrupted run"))
        let applied = await apply(second, p, st)
        #expect(applied.ok)
        #expect(st.records["machine.m"]?.providerID == p.cloud["machine.m"]?.providerID)
        #expect(st.pendingCreates.isEmpty)
        #expect(p.calls.filter { $0.op == "create" }.count == 1)
        #expect(!(try await plan(desired, p, st)).hasChanges)
    }

    @Test func createThatNeverHappenedIsDroppedAndMadeOnce() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        st.putPending(PendingCreate(address: "machine.m", provider: "rec", key: "00000000000000000000", attributes: [:], since: 0))
        let plan = try await plan([machine("m")], p, st)
        #expect(plan.abandonedCreates == ["machine.m"])
        #expect(plan.changes.first?.action == .create)
        let summary = await apply(plan, p, st)
        #expect(summary.ok && summary.count(.create) == 1)
        #expect(st.records["machine.m"] != nil && st.pendingCreates.isEmpty)
    }

    @Test func orphanMadeByAnInterruptedRunIsDeleted() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        p.loseCreateResponse("machine.gone")
        _ = await apply(try await plan([machine("gone")], p, st), p, st)
        #expect(p.cloud["machine.gone"] != nil && st.pendingCreates["machine.gone"] != nil)
        // The configuration no longer wants it: it is found by its key and deleted, not leaked.
        let plan = try await plan([], p, st)
        let change = try #require(plan.changes.first { $0.address == "machine.gone" })
        #expect(change.action == .delete)
        #expect(change.reason == .madeByInterruptedRunRemoved)
        #expect(change.reason.description.contains("interrupted run"))
        let summary = await apply(plan, p, st)
        #expect(summary.ok && summary.count(.delete) == 1)
        #expect(p.cloud.isEmpty && st.records.isEmpty && st.pendingCreates.isEmpty)
    }

    @Test func planWithoutRefreshRefusesToGuessAboutAPendingCreate() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        st.putPending(PendingCreate(address: "machine.m", provider: "rec", key: "k", attributes: [:], since: 0))
        await #expect(throws: PlanError.self) { try await plan([machine("m")], p, st, options: PlanOptions(refresh: false)) }
    }

    @Test func unkeyedKindsAreNotRecordedAsPending() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let r = Resource(address: "record.r", provider: "rec", attributes: ["name": "r"])
        p.loseCreateResponse("record.r")
        _ = await apply(try await plan([r], p, st), p, st)
        #expect(st.pendingCreates.isEmpty)
    }
}

/// A value another change computes is known only after apply; a dependent update it turns out not to need is not sent.
@Suite struct KnownAfterApplyTests {
    @Test func updateOfAComputedValueIsResolvedAtApplyAndSkippedWhenUnchanged() async throws {
        let schemas = [KindSchema(kind: "machine", computed: ["ip"]), KindSchema(kind: "record")]
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let machine = { (size: String) in
            Resource(address: "machine.m", provider: "rec", attributes: ["name": "m", "size": .string(size)])
        }
        let record = Resource(address: "record.r", provider: "rec", attributes: ["values": .list([.ref(Value.Reference("machine.m", "ip"))])],
                              dependencies: [Dependency("machine.m")])
        let engine = Engine(providers: ["rec": p])
        var plan = try await engine.plan(desired: [machine("small"), record], state: st.records, lineage: "L", serial: 0, options: PlanOptions())
        #expect(await Executor(providers: ["rec": p], state: st).apply(plan, recorded: st.records).ok)

        // A resize: the machine's computed ip may change, so the record's value is known only after apply.
        plan = try await engine.plan(desired: [machine("large"), record], state: st.records, lineage: "L", serial: 1, options: PlanOptions())
        let change = try #require(plan.changes.first { $0.address == "record.r" })
        #expect(change.action == .update)
        #expect(change.reason == .knownAfterApply(["values"]))
        #expect(change.reason.description.hasPrefix("depends on values known only after apply"))
        let summary = await Executor(providers: ["rec": p], state: st).apply(plan, recorded: st.records)
        #expect(summary.ok)
        // The recording provider keeps the ip through an update: the record's update is not sent.
        #expect(p.calls.filter { $0.op == "update" }.map(\.target) == ["machine.m"])
        #expect(!(try await engine.plan(desired: [machine("large"), record], state: st.records, lineage: "L", serial: 2,
                                        options: PlanOptions())).hasChanges)
    }
}
