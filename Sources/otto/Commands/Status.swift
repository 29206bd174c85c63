import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoEngine
import OttoPlan
import OttoProviders
import OttoState

/// `otto status`: what exists, what is missing, what drifted; machines, services and load balancer backends.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show machines, services, load balancer backends and every resource: in sync, drifted, missing or unreachable.")
    @OptionGroup var global: GlobalOptions
    @Flag(name: .long, help: "Print JSON.") var json = false

    typealias Row = ResourceStatus

    /// A fleet unit as `fleetctl list-units` showed it: unit, machine, active and sub state.
    struct FleetUnitRow: Codable {
        var unit: String
        var address: String
        var machine: String
        var desired: String
        var active: String
        var sub: String

        /// The rows of every fleet unit the plan covers (units otto places, and units of fleet clusters).
        static func rows(_ plan: Plan) -> [FleetUnitRow] {
            typealias U = AttributeName.FleetUnit
            return plan.changes.filter { $0.address.kind == "fleet_unit" }.map { c in
                let seen = c.before?.attributes ?? [:], wanted = c.after?.attributes ?? [:]
                func text(_ k: String, _ a: [String: Value]) -> String? { a[k]?.stringValue }
                return FleetUnitRow(unit: text(U.name, wanted) ?? text(U.name, seen) ?? c.address.name,
                                    address: c.address.description,
                                    machine: text(U.machineID, seen) ?? "-", desired: text(U.desiredState, wanted) ?? "-",
                                    active: text(U.activeState, seen) ?? (seen[AttributeName.Host.reachable] == .bool(false) ? "unreachable" : "-"),
                                    sub: text(U.subState, seen) ?? "-")
            }
        }
    }

    struct Backend: Codable {
        var loadBalancer: String
        var server: String
        var health: String
    }

    func run() async throws {
        var rows: [Row] = []
        var backends: [Backend] = []
        var fleet: [FleetUnitRow] = []
        var notes: [ResourceNote] = []
        var environment: String?
        do {
            let ctx = try await ProjectContext.open(global)
            environment = ctx.project.environment?.name
            let snap = try await ctx.store.snapshot()
            let providers = try ctx.providers(state: snap.records, pending: snap.pending)
            let targets = try ctx.providerTargets(global.providerFilter, state: snap.records) ?? []
            let plan = try await Engine(providers: providers).plan(desired: ctx.resources, state: snap.records, lineage: snap.lineage,
                                                                  serial: snap.serial, options: PlanOptions(targets: targets),
                                                                  pendingCreates: snap.pending)
            rows = ResourceStatus.rows(plan, recorded: Set(snap.records.keys))
            fleet = FleetUnitRow.rows(plan)
            notes = plan.notes
            if let host = providers["host"] as? HostProvider {
                for c in plan.changes where c.address.kind == "haproxy" && c.action == .noop {
                    guard let attrs = c.before?.attributes else { continue }
                    let health = (try? await host.backendHealth(attrs)) ?? [("(stats unavailable)", "UNKNOWN")]
                    backends += health.map { Backend(loadBalancer: c.address.description, server: $0.server, health: $0.status) }
                }
            }
        } catch { throw fail(error) }
        if json {
            struct Out: Codable { var environment: String?; var resources: [Row]; var backends: [Backend]; var fleetUnits: [FleetUnitRow]; var notes: [ResourceNote] }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            Terminal.out(String(decoding: try enc.encode(Out(environment: environment, resources: rows, backends: backends, fleetUnits: fleet, notes: notes)), as: UTF8.self) + "\n")
            return
        }
        var out = environment.map { "ENVIRONMENT \($0)\n\n" } ?? ""
        let machines = rows.filter { $0.address.hasPrefix("machine.") }
        if !machines.isEmpty {
            out += "MACHINES\n" + table(machines) + "\n"
        }
        let services = rows.filter { $0.address.hasPrefix("service.") || $0.address.hasPrefix("unit.") }
        if !services.isEmpty {
            out += "SERVICES\n" + table(services) + "\n"
        }
        if !fleet.isEmpty {
            let w = max(4, fleet.map(\.unit.count).max() ?? 4), m = max(7, fleet.map(\.machine.count).max() ?? 7)
            func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
            out += "FLEET UNITS\n  " + pad("UNIT", w) + "  " + pad("MACHINE", m) + "  " + pad("DESIRED", 8) + "  " + pad("ACTIVE", 11) + "  SUB\n"
            for f in fleet { out += "  " + pad(f.unit, w) + "  " + pad(f.machine, m) + "  " + pad(f.desired, 8) + "  " + pad(f.active, 11) + "  " + f.sub + "\n" }
            for n in notes where n.address.kind == "fleet_unit" { out += "  ! \(n.address): \(n.message)\n" }
            out += "\n"
        }
        if !backends.isEmpty {
            out += "LOAD BALANCER BACKENDS\n"
            for b in backends { out += "  \(b.loadBalancer)  \(b.server)  \(b.health)\n" }
            out += "\n"
        }
        out += "RESOURCES\n" + table(rows)
        let ok = rows.filter { $0.status == "ok" }.count
        out += "\n\(ok) of \(rows.count) resources in sync.\n"
        Terminal.out(out)
    }

    private func table(_ rows: [Row]) -> String {
        let width = min(60, rows.map(\.address.count).max() ?? 10)
        return rows.map { r in
            "  " + r.address.padding(toLength: max(width, r.address.count), withPad: " ", startingAt: 0) + "  "
                + r.status.padding(toLength: 12, withPad: " ", startingAt: 0) + "  " + r.detail
        }.joined(separator: "\n") + "\n"
    }
}
