import Foundation
import OttoCore

extension FakeFleet {
    /// The `[X-Fleet]` constraints of `unit`, specifiers expanded; nil for a name fleet would not have stored.
    func constraints(of unit: FakeFleetUnit) -> FleetConstraints? { unit.constraints }

    /// One engine pass, as fleet's engine leader ran one every ~2 s (here: at once, after every change).
    ///
    /// First every scheduled unit is unscheduled when its target state is `inactive`, when its machine went away, or
    /// when it can no longer run there. Then every unscheduled unit that is not `inactive` (templates and `Global`
    /// units aside: agents run those) is placed, in name order, on the least-loaded machine it can run on (fewest
    /// units; ties by machine id). A unit with `Replaces` moves the replaced units off its machine; they are placed
    /// again in the same pass. A `MachineOf` unit waits until its peer is placed.
    func reconcile() {
        // Unit files do not change during a pass: read every unit's constraints once.
        var all: [String: FleetConstraints] = [:]
        for (name, unit) in units { all[name] = constraints(of: unit) ?? FleetConstraints() }
        func c(_ name: String) -> FleetConstraints { all[name] ?? FleetConstraints() }
        for name in units.keys.sorted() {
            guard let unit = units[name], let machine = unit.machineID else { continue }
            if unit.desiredState == .inactive || machines[machine] == nil || !canRun(name, on: machine, constraints: all) {
                units[name]?.machineID = nil
            }
        }
        // Place until nothing moves: a MachineOf unit may become placeable once its peer is, and a replaced unit
        // must find another machine. Bounded, so a cycle of Replaces cannot spin.
        for _ in 0..<max(4, units.count * 2) {
            var moved = false
            for name in units.keys.sorted() {
                guard let unit = units[name], unit.machineID == nil, unit.desiredState != .inactive,
                      FleetUnitName(name)?.isTemplate == false, !c(name).global else { continue }
                let load = Dictionary(grouping: units.values.compactMap(\.machineID), by: { $0 }).mapValues(\.count)
                let target = machines.keys.filter { canRun(name, on: $0, constraints: all) }
                    .min { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }
                guard let target else { continue }
                units[name]?.machineID = target
                moved = true
                for other in units.keys.sorted() where other != name && units[other]?.machineID == target
                    && c(name).replaces.contains(where: { FleetConstraints.glob($0, matches: other) }) {
                    units[other]?.machineID = nil
                }
            }
            if !moved { break }
        }
    }

    /// True when unit `name` may run on machine `id` given the units scheduled now (itself left out).
    func canRun(_ name: String, on id: String, constraints all: [String: FleetConstraints]) -> Bool {
        guard machines[id] != nil else { return false }
        func c(_ unit: String) -> FleetConstraints { all[unit] ?? FleetConstraints() }
        let mine = c(name)
        if let wanted = mine.machineID, wanted != id { return false }
        guard matchesMetadata(mine, id) else { return false }
        for peer in mine.machineOf where units[peer]?.machineID != id { return false }
        for other in units.keys where other != name && units[other]?.machineID == id {
            let theirs = c(other)
            if mine.conflicts.contains(where: { FleetConstraints.glob($0, matches: other) }) { return false }
            if theirs.conflicts.contains(where: { FleetConstraints.glob($0, matches: name) }) { return false }
            if theirs.replaces.contains(where: { FleetConstraints.glob($0, matches: name) }) { return false }
        }
        return true
    }

    /// True when a `Global` unit runs on machine `id`: its metadata matches and nothing there conflicts with it.
    func runsGlobal(_ unit: FakeFleetUnit, on id: String) -> Bool {
        guard machines[id] != nil, let mine = constraints(of: unit), mine.global, matchesMetadata(mine, id) else { return false }
        for other in units.values where other.machineID == id {
            if mine.conflicts.contains(where: { FleetConstraints.glob($0, matches: other.name) }) { return false }
            if constraints(of: other)?.conflicts.contains(where: { FleetConstraints.glob($0, matches: unit.name) }) == true { return false }
        }
        return true
    }

    /// `MachineMetadata`: every key present with one of its values.
    private func matchesMetadata(_ c: FleetConstraints, _ id: String) -> Bool {
        let meta = metadata(of: id)
        return c.machineMetadata.allSatisfy { key, values in meta[key].map(values.contains) ?? false }
    }
}
