/// A machine the scheduler may place units on.
public struct FleetMachine: Sendable, Hashable {
    /// The machine's name (`MachineID`): an otto machine name such as `demo-web-0`.
    public var name: String
    /// Its metadata, matched by `MachineMetadata` (a machine group's `labels:`).
    public var metadata: [String: String]
    /// False for a machine that keeps the units it has but takes no new ones (unreachable, within its grace period).
    public var acceptsNew: Bool

    /// Creates a machine.
    public init(name: String, metadata: [String: String] = [:], acceptsNew: Bool = true) {
        self.name = name
        self.metadata = metadata
        self.acceptsNew = acceptsNew
    }
}

/// One unit as the scheduler sees it.
public struct FleetSchedulingUnit: Sendable, Hashable {
    /// The unit's name, e.g. `web@1.service`.
    public var name: String
    /// Its `[X-Fleet]` constraints, specifiers expanded.
    public var constraints: FleetConstraints
    /// Its desired state.
    public var state: FleetUnitState
    /// The machine it is on now; nil when it is on none.
    public var current: String?

    /// Creates a unit.
    public init(name: String, constraints: FleetConstraints = FleetConstraints(), state: FleetUnitState = .launched, current: String? = nil) {
        self.name = name
        self.constraints = constraints
        self.state = state
        self.current = current
    }
}

/// Where the scheduler put one unit, and why.
public struct FleetPlacement: Sendable, Hashable {
    /// How the unit came to be where it is.
    public enum Outcome: String, Sendable, Hashable {
        /// It stays on the machine it was on.
        case kept
        /// It goes to a machine chosen now.
        case placed
        /// No machine can take it.
        case unplaceable
        /// Its desired state is `inactive`: on no machine.
        case inactive
        /// A `Global` unit: on every machine that satisfies its constraints.
        case global
    }
    /// The unit's name.
    public var unit: String
    /// One machine for `kept`/`placed`; every machine (sorted) for `global`; none otherwise.
    public var machines: [String]
    /// How it came to be there.
    public var outcome: Outcome
    /// Why, for people.
    public var reason: String
}

/// fleet's engine as a pure function: a valid existing placement is kept; every other unit goes to the least-loaded
/// machine that satisfies its constraints (ties by name); `Global` units run on every machine that satisfies theirs.
/// Rules from fleet (engine/, job/, agent/ at its last commit): `MachineID` names the machine; `MachineMetadata` keys
/// are ANDed and values of one key ORed; `MachineOf` peers must already be on the machine; `Conflicts` globs are
/// checked both ways against every unit on the machine; a unit that `Replaces` another may go where it is, and moves it.
/// Deterministic: the same units and machines, in any order, give the same placements.
public enum FleetScheduler {
    /// Places `units` on `machines` (the machines available now: a lost or deleted machine is not in the list).
    public static func schedule(_ units: [FleetSchedulingUnit], machines: [FleetMachine]) -> [String: FleetPlacement] {
        let units = units.sorted { $0.name < $1.name }
        let machines = machines.sorted { $0.name < $1.name }
        let byName = Dictionary(machines.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String: FleetPlacement] = [:]
        var on: [String: [String]] = [:]          // machine → units on it (global and not)
        var load: [String: Int] = [:]             // machine → non-global units on it
        var placedAt: [String: String] = [:]      // non-global unit → machine
        let unitByName = Dictionary(units.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        func conflictWith(_ u: FleetSchedulingUnit, on m: String) -> String? {
            for other in on[m] ?? [] where other != u.name {
                if u.constraints.conflicts.contains(where: { FleetConstraints.glob($0, matches: other) }) { return other }
                if let o = unitByName[other], o.constraints.conflicts.contains(where: { FleetConstraints.glob($0, matches: u.name) }) { return other }
            }
            return nil
        }
        func metadataProblem(_ u: FleetSchedulingUnit, _ m: FleetMachine) -> String? {
            for (key, values) in u.constraints.machineMetadata.sorted(by: { $0.key < $1.key }) where !values.contains(m.metadata[key] ?? "\u{0}") {
                return "MachineMetadata " + values.map { "\(key)=\($0)" }.joined(separator: "|")
            }
            return nil
        }
        /// Why `u` cannot run on `m` now, or nil when it can.
        func blocker(_ u: FleetSchedulingUnit, _ m: FleetMachine, replacing: Bool = true) -> String? {
            if let id = u.constraints.machineID, id != m.name { return "MachineID=\(id)" }
            if let p = metadataProblem(u, m) { return p }
            for peer in u.constraints.machineOf where placedAt[peer] != m.name { return "MachineOf=\(peer)" }
            // Units that replace this one push it off their machine.
            for other in on[m.name] ?? [] {
                if let o = unitByName[other], o.constraints.replaces.contains(where: { FleetConstraints.glob($0, matches: u.name) }) {
                    return "replaced by \(other)"
                }
            }
            if let c = conflictWith(u, on: m.name) {
                // The unit may go where a unit it replaces runs; that one moves.
                if replacing, u.constraints.replaces.contains(where: { FleetConstraints.glob($0, matches: c) }) { return nil }
                let pattern = u.constraints.conflicts.first { FleetConstraints.glob($0, matches: c) }
                    ?? unitByName[c]?.constraints.conflicts.first { FleetConstraints.glob($0, matches: u.name) } ?? c
                return "Conflicts=\(pattern) (\(c))"
            }
            return nil
        }
        func put(_ unit: String, _ m: String, global: Bool) {
            on[m, default: []].append(unit)
            if !global {
                load[m, default: 0] += 1
                placedAt[unit] = m
            }
        }
        func take(_ unit: String) {
            guard let m = placedAt.removeValue(forKey: unit) else { return }
            on[m]?.removeAll { $0 == unit }
            load[m, default: 1] -= 1
        }

        // Inactive units: nowhere.
        for u in units where u.state == .inactive {
            out[u.name] = FleetPlacement(unit: u.name, machines: [], outcome: .inactive, reason: "desired state is inactive")
        }
        let active = units.filter { $0.state != .inactive }
        // Global units: every machine that satisfies their metadata and has no conflict with what runs there.
        for u in active where u.constraints.global {
            var chosen: [String] = []
            var blocked: [(String, String)] = []
            for m in machines {
                if let b = blocker(u, m) { blocked.append((m.name, b)) } else { chosen.append(m.name); put(u.name, m.name, global: true) }
            }
            out[u.name] = chosen.isEmpty
                ? FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable, reason: summary(blocked, machines: machines))
                : FleetPlacement(unit: u.name, machines: chosen, outcome: .global, reason: "Global: runs on " + chosen.joined(separator: ", "))
        }
        // Stability first: keep every valid existing placement. Peers (MachineOf) are kept before units that need them.
        let others = active.filter { !$0.constraints.global }
        var pending = others.filter { $0.current != nil }
        var progress = true
        var kept: Set<String> = []
        while progress {
            progress = false
            for u in pending where !kept.contains(u.name) {
                guard let c = u.current, let m = byName[c] else { continue }
                if u.constraints.machineOf.contains(where: { peer in placedAt[peer] == nil && pending.contains { $0.name == peer } && !kept.contains(peer) }) { continue }
                if blocker(u, m, replacing: false) == nil {
                    put(u.name, c, global: false)
                    kept.insert(u.name)
                    out[u.name] = FleetPlacement(unit: u.name, machines: [c], outcome: .kept, reason: "stays on \(c)")
                    progress = true
                }
            }
        }
        pending = others.filter { !kept.contains($0.name) }
        // Units that replace others, then the rest, by name; peers before the units that are MachineOf them.
        pending.sort { ($0.constraints.replaces.isEmpty ? 1 : 0, $0.name) < ($1.constraints.replaces.isEmpty ? 1 : 0, $1.name) }
        var waiting = pending
        progress = true
        while progress && !waiting.isEmpty {
            progress = false
            var next: [FleetSchedulingUnit] = []
            for u in waiting {
                // A unit whose peer is still to be placed waits for it.
                if u.constraints.machineOf.contains(where: { p in placedAt[p] == nil && waiting.contains { $0.name == p } && p != u.name }) {
                    next.append(u)
                    continue
                }
                var best: FleetMachine?
                var blocked: [(String, String)] = []
                for m in machines {
                    if !m.acceptsNew && u.current != m.name { blocked.append((m.name, "not answering")); continue }
                    if let b = blocker(u, m) { blocked.append((m.name, b)); continue }
                    if best == nil || (load[m.name] ?? 0) < (load[best!.name] ?? 0) { best = m }
                }
                guard let m = best else {
                    var reason = summary(blocked, machines: machines)
                    if let c = u.current, byName[c] == nil { reason = "was on \(c), which is not available; " + reason }
                    out[u.name] = FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable, reason: reason)
                    continue
                }
                // Whatever it replaces on that machine moves elsewhere.
                for other in on[m.name] ?? [] where u.constraints.replaces.contains(where: { FleetConstraints.glob($0, matches: other) }) {
                    if let o = unitByName[other], !o.constraints.global {
                        take(other)
                        kept.remove(other)
                        out[other] = nil
                        var moved = o
                        moved.current = nil
                        next.append(moved)
                    }
                }
                let ties = machines.filter { (load[$0.name] ?? 0) == (load[m.name] ?? 0) && $0.name != m.name && blocker(u, $0) == nil && ($0.acceptsNew || u.current == $0.name) }
                var reason = "least loaded: \(m.name) (\(load[m.name] ?? 0) unit\(load[m.name] == 1 ? "" : "s")"
                reason += ties.isEmpty ? ")" : "; " + ties.map(\.name).joined(separator: ", ") + " also, later by name)"
                if let id = u.constraints.machineID, id == m.name { reason = "MachineID=\(id)" }
                if !u.constraints.machineOf.isEmpty { reason = "MachineOf=" + u.constraints.machineOf.joined(separator: " ") + ": with it on \(m.name)" }
                if let c = u.current, c != m.name { reason = (byName[c] == nil ? "was on \(c), which is not available; " : "could not stay on \(c); ") + reason }
                put(u.name, m.name, global: false)
                out[u.name] = FleetPlacement(unit: u.name, machines: [m.name], outcome: .placed, reason: reason)
                progress = true
            }
            waiting = next
        }
        // Units still waiting: their MachineOf peers never got a machine (a cycle, or a peer that cannot be placed).
        for u in waiting where out[u.name] == nil {
            let peers = u.constraints.machineOf.filter { placedAt[$0] == nil }
            let cycle = peers.contains { p in unitByName[p]?.constraints.machineOf.contains(u.name) ?? false }
            out[u.name] = FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable,
                                         reason: cycle ? "MachineOf cycle with \(peers.joined(separator: ", "))"
                                                       : "MachineOf=\(peers.joined(separator: " ")): waits for a peer that is not placed")
        }
        // MachineOf a unit that does not exist or is inactive.
        for u in others where out[u.name] == nil {
            out[u.name] = FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable, reason: "MachineOf=\(u.constraints.machineOf.joined(separator: " ")): no such unit placed")
        }
        return out
    }

    /// `no machine can take it: Conflicts=web@*.service blocks a (web@1.service), b (web@2.service)` grouped by blocker.
    static func summary(_ blocked: [(String, String)], machines: [FleetMachine]) -> String {
        if machines.isEmpty { return "no machine is available" }
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for (m, b) in blocked {
            // Group by the constraint, keep the detail per machine.
            let key = b.firstIndex(of: "(").map { String(b[..<b.index(before: $0)]) } ?? b
            if groups[key] == nil { order.append(key) }
            let detail = b.count > key.count ? "\(m) \(b.dropFirst(key.count + 1))" : m
            groups[key, default: []].append(detail)
        }
        return "no machine can take it: " + order.map { "\($0) blocks " + groups[$0]!.joined(separator: ", ") }.joined(separator: "; ")
    }
}
