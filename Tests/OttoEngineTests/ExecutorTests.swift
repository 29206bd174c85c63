import OttoCore
import OttoEngine
import OttoPlan
import OttoState
import OttoTestSupport
import Synchronization
import Testing

extension MemoryStateWriter: StateWriter {
    public func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) async throws {
        records.forEach { put($0) }
        removing.forEach { remove($0) }
        handlers.forEach(addHandler)
    }
    public func handlerRan(id: String) async throws { removeHandler(id) }
    public func startRun(command: String, user: String) async throws -> Int64 { 1 }
    public func finishRun(id: Int64, outcome: String, summary: String) async throws {}
}

private let schemas = [KindSchema(kind: "zone"), KindSchema(kind: "record", forceNew: ["name"]),
                       KindSchema(kind: "machine", computed: ["ip"])]

private func res(_ a: ResourceAddress, _ attrs: [String: Value] = [:], deps: [ResourceAddress] = [], provider: String = "rec") -> Resource {
    Resource(address: a, provider: provider, attributes: attrs.isEmpty ? ["name": .string(a.name)] : attrs,
             dependencies: deps.map { Dependency($0) })
}

/// Collects events in order.
final class EventLog: Sendable {
    let events = Mutex<[String]>([])
    func add(_ e: ApplyEvent) {
        let line: String
        switch e {
        case .started(let a, let act): line = "start \(act) \(a)"
        case .finished(let a, let act, _): line = "done \(act) \(a)"
        case .failed(let a, let act, let m): line = "fail \(act) \(a) \(m)"
        case .skipped(let a, let act, let b): line = "skip \(act) \(a) \(b)"
        case .interrupted(let a, let act): line = "interrupted \(act) \(a)"
        case .handlerStarted(let h): line = "handler start \(h.id)"
        case .handlerFinished(let h, let f): line = f == nil ? "handler done \(h.id)" : "handler fail \(h.id)"
        }
        events.withLock { $0.append(line) }
    }
    var all: [String] { events.withLock { $0 } }
    func index(_ prefix: String) -> Int? { all.firstIndex { $0.hasPrefix(prefix) } }
}

private func run(_ desired: [Resource], provider: RecordingProvider, state: MemoryStateWriter,
                 options: PlanOptions = PlanOptions(), parallelism: Int = 10, cancel: CancellationFlag = CancellationFlag(),
                 extra: [String: any Provider] = [:]) async throws -> (ApplySummary, EventLog, Plan) {
    var providers: [String: any Provider] = [provider.name: provider]
    providers.merge(extra) { a, _ in a }
    let engine = Engine(providers: providers)
    let plan = try await engine.plan(desired: desired, state: state.records, lineage: "L", serial: 0, options: options)
    let log = EventLog()
    let ex = Executor(providers: providers, parallelism: parallelism, state: state, cancellation: cancel, onEvent: log.add)
    return (await ex.apply(plan, recorded: state.records), log, plan)
}

@Suite struct ExecutorTests {
    @Test func appliesInDependencyOrderAndRecordsState() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"]), res("record.z.b", deps: ["zone.z"])]
        let (s, log, _) = try await run(desired, provider: p, state: st)
        #expect(s.ok && s.count(.create) == 3)
        #expect(log.index("done create zone.z")! < log.index("start create record.z.a")!)
        #expect(Set(st.records.keys) == ["zone.z", "record.z.a", "record.z.b"])
        #expect(st.records["record.z.a"]?.dependencies == ["zone.z"])
        // Converged: the next plan is all no-ops.
        let plan = try await Engine(providers: ["rec": p]).plan(desired: desired, state: st.records, lineage: "L", serial: 1, options: PlanOptions())
        #expect(!plan.hasChanges)
    }

    @Test func boundsGlobalParallelism() async throws {
        let p = RecordingProvider(concurrencyLimit: 100, schemas: schemas, delay: .milliseconds(20))
        let desired = (0..<40).map { res(ResourceAddress(kind: "record", name: "r\($0)")) }
        let (s, _, _) = try await run(desired, provider: p, state: MemoryStateWriter(), parallelism: 4)
        #expect(s.count(.create) == 40)
        #expect(p.maxInFlight == 4)
    }

    @Test func boundsPerProviderConcurrency() async throws {
        let slow = RecordingProvider(name: "slow", concurrencyLimit: 2, schemas: schemas, delay: .milliseconds(20))
        let fast = RecordingProvider(name: "rec", concurrencyLimit: 50, schemas: schemas, delay: .milliseconds(20))
        let desired = (0..<12).map { res(ResourceAddress(kind: "record", name: "s\($0)"), provider: "slow") }
            + (0..<12).map { res(ResourceAddress(kind: "record", name: "f\($0)")) }
        let (s, _, _) = try await run(desired, provider: fast, state: MemoryStateWriter(), parallelism: 10, extra: ["slow": slow])
        #expect(s.count(.create) == 24)
        #expect(slow.maxInFlight == 2)
        #expect(fast.maxInFlight > 2 && fast.maxInFlight <= 10)
    }

    @Test func keepsGoingPastFailureAndSkipsDependents() async throws {
        let p = RecordingProvider(schemas: schemas)
        p.fail("zone.bad", "quota exceeded")
        let st = MemoryStateWriter()
        let desired = [res("zone.bad"), res("record.bad.a", deps: ["zone.bad"]), res("record.bad.b", deps: ["record.bad.a"]),
                       res("zone.good"), res("record.good.a", deps: ["zone.good"])]
        let (s, log, _) = try await run(desired, provider: p, state: st)
        #expect(s.failed == 1 && s.skipped == 2 && s.count(.create) == 2)
        #expect(s.outcomes["record.bad.b"] == .skipped(because: "zone.bad"))
        #expect(log.all.contains { $0.hasPrefix("fail create zone.bad") && $0.contains("quota exceeded") })
        #expect(Set(st.records.keys) == ["zone.good", "record.good.a"])
        #expect(!p.calls.contains { $0.target.hasPrefix("record.bad") })
    }

    @Test func destroysInReverseDependencyOrder() async throws {
        let p = RecordingProvider(schemas: schemas, delay: .milliseconds(2))
        let st = MemoryStateWriter()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"]), res("record.z.b", deps: ["record.z.a"])]
        _ = try await run(desired, provider: p, state: st)
        let (s, log, _) = try await run(desired, provider: p, state: st, options: PlanOptions(mode: .destroy))
        #expect(s.count(.delete) == 3)
        #expect(log.index("done delete record.z.b")! < log.index("start delete record.z.a")!)
        #expect(log.index("done delete record.z.a")! < log.index("start delete zone.z")!)
        #expect(st.records.isEmpty && p.cloud.isEmpty)
    }

    @Test func failedDeleteKeepsWhatItNeeds() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"])]
        _ = try await run(desired, provider: p, state: st)
        p.fail("record.z.a", "locked")
        let (s, _, _) = try await run(desired, provider: p, state: st, options: PlanOptions(mode: .destroy))
        #expect(s.failed == 1 && s.skipped == 1)
        #expect(Set(st.records.keys) == ["zone.z", "record.z.a"])
    }

    @Test func replaceDeletesThenCreatesAndResolvesReferences() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter()
        let m: ResourceAddress = "machine.web"
        let a: ResourceAddress = "record.z.a"
        let desired = [res(m, ["size": "small"]), res(a, ["name": "a", "values": .list([.ref(.init(m, "ip"))])], deps: [m])]
        _ = try await run(desired, provider: p, state: st)
        let firstIP = try #require(st.records[m]?.attributes["ip"])
        #expect(st.records[a]?.attributes["values"] == .list([firstIP]))
        let (s, _, plan) = try await run(desired, provider: p, state: st, options: PlanOptions(replace: [m]))
        #expect(plan.changes.first { $0.address == a }?.action == .update)
        #expect(s.ok)
        let newIP = try #require(st.records[m]?.attributes["ip"])
        #expect(newIP != firstIP)
        #expect(p.cloud[a]?.attributes["values"] == .list([newIP]))
        #expect(p.calls.filter { $0.target == m.description }.map(\.op) == ["create", "delete", "create"])
    }

    @Test func interruptStartsNothingNew() async throws {
        let p = RecordingProvider(schemas: schemas, delay: .milliseconds(50))
        let st = MemoryStateWriter()
        let cancel = CancellationFlag()
        let desired = (0..<20).map { res(ResourceAddress(kind: "record", name: "r\($0)")) }
        let engine = Engine(providers: ["rec": p])
        let plan = try await engine.plan(desired: desired, state: [:], lineage: "L", serial: 0, options: PlanOptions())
        let ex = Executor(providers: ["rec": p], parallelism: 5, state: st, cancellation: cancel) { e in
            if case .started = e { cancel.cancel() }
        }
        let s = await ex.apply(plan, recorded: [:])
        #expect(s.interrupted)
        #expect(s.count(.create) == 1)
        #expect(s.notStarted == 19)
        #expect(st.records.count == 1)
    }

    @Test func refreshRemovesGoneOrphansAndAdopts() async throws {
        let p = RecordingProvider(schemas: schemas)
        let st = MemoryStateWriter([ "record.z.gone": ResourceRecord(address: "record.z.gone", provider: "rec", providerID: "x", attributes: [:]) ])
        p.seed("zone.z", ["name": "z"])
        let (s, _, plan) = try await run([res("zone.z")], provider: p, state: st)
        #expect(plan.actionable.isEmpty && s.ok)
        #expect(Set(st.records.keys) == ["zone.z"])
    }
}

/// A state writer whose every transaction takes a while, like a real disk commit.
final class SlowWriter: StateWriter {
    let inner = MemoryStateWriter()
    let batches = Mutex<[Int]>([])
    func handlerRan(id: String) async throws {}
    func putPending(_ pending: PendingCreate) async throws { inner.putPending(pending) }
    func startRun(command: String, user: String) async throws -> Int64 { 1 }
    func finishRun(id: Int64, outcome: String, summary: String) async throws {}
    func put(_ records: [ResourceRecord], removing: [ResourceAddress], handlers: [Handler]) async throws {
        try await Task.sleep(for: .milliseconds(3))
        records.forEach { inner.put($0) }
        removing.forEach { inner.remove($0) }
        batches.withLock { $0.append(records.count + removing.count) }
    }
}

@Suite struct GroupCommitTests {
    @Test func resultsThatCompleteTogetherShareATransaction() async throws {
        let p = RecordingProvider(schemas: schemas)
        let writer = SlowWriter()
        let desired = (0..<200).map { res(ResourceAddress(kind: "record", name: "r\($0)")) }
        let plan = try await Engine(providers: ["rec": p]).plan(desired: desired, state: [:], lineage: "L", serial: 0, options: PlanOptions())
        let summary = await Executor(providers: ["rec": p], parallelism: 50, state: writer).apply(plan, recorded: [:])
        #expect(summary.count(.create) == 200)
        #expect(writer.inner.records.count == 200)
        let batches = writer.batches.withLock { $0 }
        #expect(batches.reduce(0, +) == 200)
        #expect(batches.count < 100)
        #expect(summary.stateTransactions == batches.count)
    }
}

import Glibc

@Suite struct HandlerTests {
    /// Every record change on zone Z triggers "reload Z".
    private func provider() -> RecordingProvider {
        RecordingProvider(schemas: schemas, handlerFor: { r in
            r.kind == "record" ? [Handler(id: "reload \(r.address.name.split(separator: ".")[0])", provider: "rec", name: "reload", attributes: [:])] : []
        })
    }

    @Test func handlersRunOnceAfterTheChangesAndClear() async throws {
        let p = provider()
        let st = MemoryStateWriter()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"]), res("record.z.b", deps: ["zone.z"])]
        let (s, log, _) = try await run(desired, provider: p, state: st)
        #expect(s.ok && s.handlersRun == 1)
        #expect(p.calls.filter { $0.op == "handler" }.map(\.target) == ["reload z"])
        #expect(log.index("handler start reload z")! > log.index("done create record.z.b")!)
        #expect(st.handlers.isEmpty)
        // Nothing changed: no handler either.
        let (again, _, _) = try await run(desired, provider: p, state: st)
        #expect(again.handlersRun == 0)
    }

    @Test func failedHandlerStaysPendingAndRunsNextTime() async throws {
        let p = provider()
        p.failHandler("reload z", "nginx: [emerg] bad config")
        let st = MemoryStateWriter()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"])]
        let (s, log, _) = try await run(desired, provider: p, state: st)
        #expect(!s.ok && s.handlersFailed == 1)
        #expect(log.all.contains("handler fail reload z"))
        #expect(st.handlers.map(\.id) == ["reload z"])
        // The resources are converged, but the plan still has the pending handler, and the next apply runs it.
        p.failHandler("reload z", nil)
        let engine = Engine(providers: ["rec": p])
        let plan = try await engine.plan(desired: desired, state: st.records, lineage: "L", serial: 1, options: PlanOptions(),
                                         pendingHandlers: st.handlers)
        #expect(plan.actionable.isEmpty && plan.hasChanges && plan.handlers.map(\.id) == ["reload z"])
        let summary = await Executor(providers: ["rec": p], state: st).apply(plan, recorded: st.records)
        #expect(summary.ok && summary.handlersRun == 1)
        #expect(st.handlers.isEmpty)
    }

    @Test func interruptedApplyLeavesHandlersPending() async throws {
        let p = provider()
        let st = MemoryStateWriter()
        let cancel = CancellationFlag()
        let desired = [res("zone.z"), res("record.z.a", deps: ["zone.z"])]
        let plan = try await Engine(providers: ["rec": p]).plan(desired: desired, state: [:], lineage: "L", serial: 0, options: PlanOptions())
        let ex = Executor(providers: ["rec": p], state: st, cancellation: cancel) { e in
            if case .finished(let a, _, _) = e, a == "record.z.a" { cancel.cancel() }
        }
        let s = await ex.apply(plan, recorded: [:])
        #expect(s.handlersPending == 1 && s.handlersRun == 0)
        #expect(st.handlers.map(\.id) == ["reload z"])
        #expect(!p.calls.contains { $0.op == "handler" })
    }
}

/// A provider that records the attributes it was asked to observe with.
final class EchoProvider: Provider {
    let name = "echo"
    let concurrencyLimit = 4
    let schemas = [KindSchema(kind: "file")]
    let seen = Mutex<[ObserveRequest]>([])
    func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        seen.withLock { $0.append(contentsOf: requests) }
        return [:]
    }
    func create(_ resource: Resource) async throws -> ObservedResource { ObservedResource(providerID: "f", attributes: resource.attributes) }
    func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource { current }
    func delete(_ address: ResourceAddress, current: ObservedResource) async throws {}
}

@Suite struct RefreshTests {
    @Test func referencesAreResolvedFromWhatWasJustObserved() async throws {
        let machines = RecordingProvider(schemas: schemas)
        machines.seed("machine.web", ["size": "small", "ip": "10.213.0.7"])
        let files = EchoProvider()
        let desired = [res("machine.web", ["size": "small"]),
                       Resource(address: "file.motd", provider: "echo",
                                attributes: ["host": .ref(.init("machine.web", "ip")), "path": "/etc/motd"],
                                dependencies: [Dependency("machine.web")])]
        let observed = try await Engine(providers: ["rec": machines, "echo": files]).refresh(desired: desired, state: [:])
        #expect(observed["machine.web"]?.attributes["ip"] == "10.213.0.7")
        #expect(files.seen.withLock { $0 }.first?.attributes["host"] == "10.213.0.7")
    }
}
