import ArgumentParser
import Foundation
import OttoCore
import OttoEngine
import OttoPlan

/// `otto status`: what exists, what is missing, what drifted.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show each resource: in sync, drifted, missing or not yet created.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    func run() async throws {
        let rows: [(address: ResourceAddress, status: String, detail: String)]
        do {
            let ctx = try ProjectContext.load(global)
            let snap = try ctx.store.snapshot()
            let engine = Engine(providers: try ctx.providers(state: snap.records))
            let plan = try await engine.plan(desired: ctx.resources, state: snap.records, lineage: snap.lineage,
                                             serial: snap.serial, options: PlanOptions())
            rows = plan.changes.map { c in
                let status: String
                switch c.action {
                case .noop: status = snap.records[c.address] == nil ? "unmanaged" : "ok"
                case .create: status = snap.records[c.address] == nil ? "not created" : "missing"
                case .update, .replace: status = c.reason.hasPrefix("changed outside otto") ? "drifted" : "changed"
                case .delete: status = "orphaned"
                }
                return (c.address, status, c.action == .noop ? (c.before?.providerID ?? "") : c.reason)
            }
        } catch { throw fail(error) }
        if json {
            let arr = rows.map { ["address": $0.address.description, "status": $0.status, "detail": $0.detail] }
            let data = try JSONSerialization.data(withJSONObject: arr, options: [.sortedKeys, .prettyPrinted])
            Terminal.out(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        let width = min(60, rows.map(\.address.description.count).max() ?? 10)
        Terminal.out("ADDRESS".padding(toLength: width, withPad: " ", startingAt: 0) + "  STATUS       DETAIL\n")
        for r in rows {
            Terminal.out(r.address.description.padding(toLength: max(width, r.address.description.count), withPad: " ", startingAt: 0)
                         + "  " + r.status.padding(toLength: 11, withPad: " ", startingAt: 0) + "  " + r.detail + "\n")
        }
        let ok = rows.filter { $0.status == "ok" }.count
        Terminal.out("\n\(ok) of \(rows.count) resources in sync.\n")
    }
}
