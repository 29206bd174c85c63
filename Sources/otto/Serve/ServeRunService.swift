import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import OttoServer
import OttoState

/// Plans, applies and status for `otto serve`, through the same apply pipeline as the CLI: each call loads the project
/// (YAML and API items) and the state afresh, like a CLI command, and holds the locks of what it covers while it plans
/// or applies.
struct ServeRunService: RunService {
    let global: GlobalOptions
    let book: RunBook

    func plan(_ request: RunRequest) async throws -> Plan {
        let ctx = try await ProjectContext.open(global)
        return try await ApplyPipeline(store: ctx.store).plan(ctx.applyInput(providers: global.providerFilter), options: request.options,
                                                              command: "otto serve: plan", lockTimeout: try global.lockWait())
    }

    func startApply(_ request: RunRequest) async throws -> RunInfo {
        let global = self.global
        let command = request.options.mode == .destroy ? "otto serve: destroy" : "otto serve: apply"
        return book.start(kind: request.options.mode == .destroy ? "destroy" : "apply") { recorder in
            let ctx = try await ProjectContext.open(global)
            let apply = ApplyRequest(
                command: command, user: currentUser(), options: request.options, parallelism: request.parallelism,
                lockTimeout: try global.lockWait(),
                review: { plan in
                    recorder.note("\(plan.actionable.count) change(s) planned", type: "planned")
                    return plan
                },
                ending: { result in (result.summary.ok ? "ok" : "failed", result.summary.line) },
                onEvent: recorder.handle)
            let result = try await ApplyPipeline(store: ctx.store).apply(ctx.applyInput(providers: global.providerFilter), apply)
            return RunOutcome(result.summary)
        }
    }

    func run(id: String) async throws -> RunInfo? { book.run(id: id) }

    func status() async throws -> StatusReport {
        let ctx = try await ProjectContext.open(global)
        let snap = try await ctx.store.snapshot()
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
