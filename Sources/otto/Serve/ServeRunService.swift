import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import OttoServer

/// Plans, applies and status for `otto serve`, on the real engine (MINIMAL WIRING, see `Serve`): each call loads the
/// project (YAML and API items) and the state afresh, like a CLI command, and holds the state lock while it plans or
/// applies.
struct ServeRunService: RunService {
    let global: GlobalOptions
    let book: RunBook

    func plan(_ request: RunRequest) async throws -> Plan {
        let ctx = try ProjectContext.load(global)
        return try await ctx.withLock("otto serve: plan") {
            try await makePlan(ctx, options: request.options, providers: global.providerFilter)
        }
    }

    func startApply(_ request: RunRequest) async throws -> RunInfo {
        let global = self.global
        let command = request.options.mode == .destroy ? "otto serve: destroy" : "otto serve: apply"
        return book.start(kind: request.options.mode == .destroy ? "destroy" : "apply") { recorder in
            let ctx = try ProjectContext.load(global)
            return try await ctx.withLock(command) {
                let snap = try ctx.store.snapshot()
                let plan = try await makePlan(ctx, options: request.options, providers: global.providerFilter)
                recorder.note("\(plan.actionable.count) change(s) planned", type: "planned")
                guard plan.hasChanges || !plan.drift.isEmpty || !plan.abandonedCreates.isEmpty else {
                    return RunOutcome(ApplySummary())
                }
                let providers = try ctx.providers(for: Set(plan.changes.map(\.provider)).union(snap.records.values.map(\.provider)))
                let runID = try? ctx.store.startRun(command: command, user: currentUser())
                let executor = Executor(providers: providers, parallelism: request.parallelism, state: StateStoreWriter(store: ctx.store),
                                        onEvent: recorder.handle)
                let summary = await executor.apply(plan, recorded: snap.records)
                if let runID {
                    try? ctx.store.finishRun(id: runID, outcome: summary.ok ? "ok" : "failed", summary: summary.line)
                }
                return RunOutcome(summary)
            }
        }
    }

    func run(id: String) async throws -> RunInfo? { book.run(id: id) }

    func status() async throws -> StatusReport {
        let ctx = try ProjectContext.load(global)
        let snap = try ctx.store.snapshot()
        let providers = try ctx.providers(state: snap.records, pending: snap.pending)
        let plan = try await Engine(providers: providers).plan(desired: ctx.resources, state: snap.records, lineage: snap.lineage,
                                                              serial: snap.serial, options: PlanOptions(), pendingCreates: snap.pending)
        var sources: [ResourceAddress: ResourceSource] = [:]
        for r in ctx.resources { sources[r.address] = r.source }
        return StatusReport(resources: plan.changes.map { c in
            StatusReport.Row(address: c.address.description, status: ResourceStatus.status(c, recorded: snap.records[c.address] != nil),
                             detail: ResourceStatus.detail(c), source: (sources[c.address] ?? .yaml).rawValue)
        })
    }
}
