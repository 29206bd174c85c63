import Foundation
import OttoCore

/// One site's placement decision: which machines may take units (answering, being created, or unreachable for
/// less than `lost_after`), where each unit goes (`FleetScheduler`), and what the plan then compares.
struct FleetSitePlacement {
    let resources: [Resource]
    let observed: [ResourceAddress: ObservedResource]
    let recorded: [ResourceAddress: ResourceRecord]
    let sights: [String: FleetSchedulerProvider.MachineSight]
    let now: Date
    private typealias U = AttributeName.FleetUnit
    private typealias H = AttributeName.Host
    private typealias F = AttributeName.File

    func run() -> Placement {
        var out = Placement(desired: [])
        // The site's machines, from every unit's candidates (a Global unit's copy lists only its own machine).
        var metadata: [String: [String: String]] = [:]
        for r in resources {
            for c in r.attributes[U.candidates]?.listValue?.compactMap(\.mapValue) ?? [] {
                guard let name = c[U.candidateName]?.stringValue else { continue }
                var md: [String: String] = [:]
                for (k, v) in c[U.candidateMetadata]?.mapValue ?? [:] { if let s = v.stringValue { md[k] = s } }
                metadata[name] = md
            }
        }
        let lostAfter = TimeInterval(resources.first?.attributes[U.lostAfterSeconds]?.intValue ?? 120)
        // Since when each unreachable machine has not answered: the earliest time the state recorded for a unit on it.
        var lostSince: [String: Date] = [:]
        for (_, rec) in recorded where rec.kind == "fleet_unit" {
            guard let m = rec.attributes[U.machineID]?.stringValue, let text = rec.attributes[U.lostSince]?.stringValue,
                  let date = ISO8601.date(text) else { continue }
            lostSince[m] = min(lostSince[m] ?? date, date)
        }
        var machines: [FleetMachine] = []
        var lost: Set<String> = []
        var grace: [String: Date] = [:]
        var refused: [String: String] = [:]
        for name in metadata.keys.sorted() {
            switch sights[name] {
            case .refused(let why)?:
                // A machine presenting another host key keeps its units (it may be a rebuilt machine: replacing it
                // is the operator's call) and takes no new ones.
                refused[name] = why
                machines.append(FleetMachine(name: name, metadata: metadata[name]!, acceptsNew: false))
            case .unreachable?:
                let since = lostSince[name] ?? now
                if now.timeIntervalSince(since) >= lostAfter { lost.insert(name); continue }
                grace[name] = since
                machines.append(FleetMachine(name: name, metadata: metadata[name]!, acceptsNew: false))
            default:
                // Answering, or not made yet (its units are placed now and written once it exists).
                machines.append(FleetMachine(name: name, metadata: metadata[name]!))
            }
        }
        // One scheduling unit per unit name (a Global unit's copies are one unit).
        var units: [String: FleetSchedulingUnit] = [:]
        for r in resources {
            guard let name = r.attributes[U.name]?.stringValue, units[name] == nil, let n = FleetUnitName(name),
                  let file = FleetSchedulerProvider.unitFile(r.attributes) else { continue }
            let (constraints, _) = FleetConstraints.read(file, name: n)
            let state = FleetUnitState(rawValue: r.attributes[U.desiredState]?.stringValue ?? "") ?? .launched
            let current = FleetSchedulerProvider.isPerMachine(r.address) ? nil : observed[r.address]?.attributes[U.machineID]?.stringValue
            units[name] = FleetSchedulingUnit(name: name, constraints: constraints, state: state, current: current)
        }
        let placements = FleetScheduler.schedule(units.values.sorted { $0.name < $1.name }, machines: machines)
        for r in resources {
            guard let name = r.attributes[U.name]?.stringValue, let p = placements[name] else { continue }
            var d = r
            let target: String?
            if FleetSchedulerProvider.isPerMachine(r.address) {
                let own = r.attributes[U.machineID]?.stringValue
                target = own.flatMap { p.machines.contains($0) ? $0 : nil }
                if target == nil {
                    let why = own.map { lost.contains($0) ? "\($0) has not answered for longer than lost_after" : p.reason } ?? p.reason
                    out.notes.append(ResourceNote(address: r.address, message: "Global unit does not run on \(own ?? "?"): \(why)"))
                }
            } else {
                switch p.outcome {
                case .kept, .placed, .global: target = p.machines.first
                case .unplaceable:
                    target = nil
                    out.notes.append(ResourceNote(address: r.address, message: "cannot be placed: \(p.reason)"))
                case .inactive:
                    target = nil
                    if observed[r.address] != nil {
                        out.notes.append(ResourceNote(address: r.address, message: "desired state inactive: removed from its machine"))
                    }
                }
            }
            guard let machine = target else { continue }
            d.attributes[U.machineID] = .string(machine)
            d.attributes[U.placement] = .string(p.reason)
            d.attributes[U.staleOn] = .list([])
            if let why = refused[machine] {
                d.attributes[U.lostSince] = .null
                out.notes.append(ResourceNote(address: r.address, message: "\(machine) is not trusted, so its units stay and it takes no new ones: \(why)"))
            } else if let since = grace[machine] {
                d.attributes[U.lostSince] = .string(ISO8601.string(since))
                let deadline = since.addingTimeInterval(lostAfter)
                out.notes.append(ResourceNote(address: r.address, message: "\(machine) has not answered since \(ISO8601.string(since)); "
                                              + "its units move at \(ISO8601.string(deadline)) unless it answers again"))
            } else {
                d.attributes[U.lostSince] = .null
            }
            out.desired.append(d)
            // What an unreachable machine's unit is taken to be: as desired (nothing is known to differ), and since
            // when it has not answered as the state recorded it.
            if var o = observed[r.address] {
                if o.attributes[H.reachable]?.boolValue == false {
                    o.attributes[U.desiredState] = d.attributes[U.desiredState] ?? .null
                    o.attributes[U.lostSince] = recorded[r.address]?.attributes[U.lostSince] ?? .null
                }
                // The reason is shown where the unit goes somewhere new; a unit that stays has nothing to show.
                if o.attributes[U.machineID] == d.attributes[U.machineID] { o.attributes[U.placement] = d.attributes[U.placement] ?? .null }
                out.observed[r.address] = o
            }
        }
        return out
    }
}
