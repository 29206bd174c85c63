/// A machine fleet units can be placed on: its name (fleet's machine ID; an otto machine name) and its metadata (fleet's
/// `--metadata`, e.g. `role=web`).
public struct FleetMachine: Sendable, Hashable {
    /// The machine's name, e.g. `demo-web-0`; `MachineID=` names it.
    public var name: String
    /// The machine's metadata, read by `MachineMetadata=`.
    public var metadata: [String: String]
    /// False for a machine that keeps the units it has but takes no new ones (it does not answer, and its grace
    /// period, `lost_after`, has not run out).
    public var acceptsNew: Bool

    /// Creates a machine.
    public init(name: String, metadata: [String: String] = [:], acceptsNew: Bool = true) {
        self.name = name
        self.metadata = metadata
        self.acceptsNew = acceptsNew
    }
}

/// A unit as the scheduler sees it: its name, its `[X-Fleet]` constraints, its desired state and the machine it is on.
public struct FleetSchedulingUnit: Sendable, Hashable {
    /// The unit's name, e.g. `web@1.service`.
    public var name: String
    /// Its `[X-Fleet]` constraints, specifiers already expanded.
    public var constraints: FleetConstraints
    /// Its desired state: `inactive` units are placed nowhere.
    public var state: FleetUnitState
    /// The machine it is on now; nil when it is not placed.
    public var current: String?

    /// Creates a unit.
    public init(name: String, constraints: FleetConstraints = FleetConstraints(), state: FleetUnitState = .launched,
                current: String? = nil) {
        self.name = name
        self.constraints = constraints
        self.state = state
        self.current = current
    }
}

/// Where the scheduler put one unit, and why.
public struct FleetPlacement: Sendable, Hashable {
    /// What became of the unit.
    public enum Outcome: String, Sendable, Hashable {
        /// It stays on the machine it was on (`current`).
        case kept
        /// It was put on a machine (it was on none, or had to move).
        case placed
        /// No machine can take it now; `reason` says what blocks it.
        case unplaceable
        /// Its desired state is `inactive`: it is placed nowhere.
        case inactive
        /// A `Global=true` unit: it runs on every machine in `machines`.
        case global
    }

    /// The unit's name.
    public var unit: String
    /// One machine for `kept` and `placed`; every machine it runs on, sorted, for `global`; empty otherwise.
    public var machines: [String]
    /// What became of the unit.
    public var outcome: Outcome
    /// For people: why it is here, or why it is nowhere.
    public var reason: String
}

/// fleet's scheduler as a pure function: given the units (with their constraints, desired states and current
/// machines) and the machines available now, where each unit runs.
///
/// It follows fleet's engine (see `fleet-behaviour.md`), greedy and deterministic:
/// 1. `inactive` units are placed nowhere.
/// 2. `Global` units, in name order, run on every machine that satisfies their `MachineID`, `MachineMetadata` and
///    `Conflicts` (against the global units already accepted there).
/// 3. Stability: a unit already on an available machine stays there while all its constraints still hold (peers
///    before the units that are `MachineOf` them, otherwise name order). A unit replaced (`Replaces`) by a unit on
///    the same machine does not stay.
/// 4. Every other unit, in the same order, goes to the least-loaded machine that can take it (load: non-global units
///    kept or placed there so far), ties broken by machine name. Placing a unit that `Replaces` another on the same
///    machine moves that other unit (and the units that are `MachineOf` it) elsewhere; a unit is moved by `Replaces`
///    at most once per call, so replacement loops end.
///
/// A unit that cannot be placed does not stop the others; its `reason` names what blocks it on each machine.
/// `Replaces` and `Conflicts` values are shell globs (fleet matched both with `path.Match`); a unit never conflicts
/// with or replaces itself.
public enum FleetScheduler {
    /// Places `units` on `machines` and returns one placement per unit, keyed by unit name.
    ///
    /// `machines` are the machines available now (a lost or deleted machine is simply not in the list). Unit and
    /// machine names are expected to be unique; when one repeats, the last unit and the first machine of that name
    /// count. The result does not depend on the order of either list.
    public static func schedule(_ units: [FleetSchedulingUnit], machines: [FleetMachine]) -> [String: FleetPlacement] {
        FleetSchedulerRun(units: units, machines: machines).schedule()
    }
}

/// One scheduling call: the indexes, the state and the algorithm behind `FleetScheduler.schedule`. A class so the
/// state is never copied; it lives only inside one call.
final class FleetSchedulerRun {
    // Machines, sorted by name.
    let machineNames: [String]
    let machineMetadata: [[String: String]]
    let machineIndex: [String: Int]
    let allMachines: [Int]
    let acceptsNew: [Bool]

    // Units, sorted by name.
    let units: [FleetSchedulingUnit]
    let unitIndex: [String: Int]
    let active: [Bool]          // not inactive
    let isGlobal: [Bool]        // active and Global=true

    // Conflicts and Replaces patterns, each distinct pattern once.
    var patterns: [String] = []
    var ownConflicts: [[Int]]   // pattern ids of a unit's Conflicts
    var ownReplaces: [[Int]]    // pattern ids of a unit's Replaces (non-global units only)
    var matchedBy: [[Int]]      // pattern ids that match a unit's name
    var replacers: [[Int]]      // non-global units whose Replaces match this unit
    var dependents: [[Int]]     // non-global units that are MachineOf this unit
    var metadataKeys: [[String]]  // a unit's MachineMetadata keys, sorted
    var metadataWanted: [[(String, Set<String>)]]  // the same keys with their values
    var depth: [Int]            // MachineOf depth: peers have a smaller depth
    var cycle: [String?]        // the MachineOf cycle a unit is part of

    // State.
    var assigned: [Int?]        // non-global units: the machine they are on
    var globalOn: [[Int]]       // global units: the machines they run on
    var result: [FleetPlacement?]
    var note: [String?]         // why a unit is being (re)placed: was elsewhere, replaced, ...
    var failed: [Bool]          // a pending unit found no machine on its last try
    var failedAt: [Int]         // the number of evictions when it failed
    var failure: [String?]      // why, when cheap to say (otherwise worked out at the end)
    var moved: [Bool]           // moved by Replaces once already
    var load: [Int]
    var matching: [[Int: Set<Int>]]  // per machine: pattern id → units there whose name it matches
    var holding: [[Int: Set<Int>]]   // per machine: pattern id → units there with it in their Conflicts
    var pending: Set<Int> = []
    var metadataFitsCache: [[String: [String]]: [Bool]] = [:]
    var detailCache: [DetailKey: String] = [:]
    var failedAlike: [DetailKey: Int] = [:]  // units that found no machine → the number of evictions then

    /// What the reason of a unit that fits nowhere depends on, besides the (final) placement of the others.
    struct DetailKey: Hashable {
        var constraints: FleetConstraints
        var matchedBy: [Int]
        var replacers: [Int]
    }
    var evictions = 0

    init(units input: [FleetSchedulingUnit], machines input2: [FleetMachine]) {
        var byName: [String: FleetSchedulingUnit] = [:]
        for u in input { byName[u.name] = u }
        units = byName.keys.sorted().map { byName[$0]! }
        var ui: [String: Int] = [:]
        for (i, u) in units.enumerated() { ui[u.name] = i }
        unitIndex = ui

        var firstMachine: [String: FleetMachine] = [:]
        for m in input2 where firstMachine[m.name] == nil { firstMachine[m.name] = m }
        machineNames = firstMachine.keys.sorted()
        machineMetadata = machineNames.map { firstMachine[$0]!.metadata }
        var mi: [String: Int] = [:]
        for (i, m) in machineNames.enumerated() { mi[m] = i }
        machineIndex = mi
        allMachines = Array(0..<machineNames.count)
        acceptsNew = machineNames.map { firstMachine[$0]!.acceptsNew }

        let n = units.count
        active = units.map { $0.state != .inactive }
        isGlobal = units.map { $0.state != .inactive && $0.constraints.global }
        ownConflicts = Array(repeating: [], count: n)
        ownReplaces = Array(repeating: [], count: n)
        matchedBy = Array(repeating: [], count: n)
        replacers = Array(repeating: [], count: n)
        dependents = Array(repeating: [], count: n)
        metadataKeys = units.map { $0.constraints.machineMetadata.keys.sorted() }
        metadataWanted = units.map { u in u.constraints.machineMetadata.keys.sorted().map { ($0, Set(u.constraints.machineMetadata[$0]!)) } }
        depth = Array(repeating: 0, count: n)
        cycle = Array(repeating: nil, count: n)
        assigned = Array(repeating: nil, count: n)
        globalOn = Array(repeating: [], count: n)
        result = Array(repeating: nil, count: n)
        note = Array(repeating: nil, count: n)
        failure = Array(repeating: nil, count: n)
        failed = Array(repeating: false, count: n)
        failedAt = Array(repeating: 0, count: n)
        moved = Array(repeating: false, count: n)
        load = Array(repeating: 0, count: machineNames.count)
        matching = Array(repeating: [:], count: machineNames.count)
        holding = Array(repeating: [:], count: machineNames.count)
        indexPatterns()
        indexMachineOf()
    }

    // MARK: Indexes

    /// Gives every distinct Conflicts/Replaces pattern an id and finds the units each one matches.
    func indexPatterns() {
        var ids: [String: Int] = [:]
        func id(_ p: String) -> Int {
            if let i = ids[p] { return i }
            ids[p] = patterns.count
            patterns.append(p)
            return patterns.count - 1
        }
        for i in units.indices where active[i] {
            ownConflicts[i] = Self.unique(units[i].constraints.conflicts).map(id)
            if !isGlobal[i] { ownReplaces[i] = Self.unique(units[i].constraints.replaces).map(id) }
        }
        let names = units.map(\.name)
        let allASCII = names.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } }
        var matchesOf: [[Int]] = Array(repeating: [], count: patterns.count)
        for (pid, p) in patterns.enumerated() {
            let glob = FleetGlob(p)
            var found: [Int] = []
            if glob.isLiteral {
                if let i = unitIndex[p] { found = [i] }
            } else if allASCII, !glob.literalPrefix.isEmpty, glob.literalPrefix.utf8.allSatisfy({ $0 < 0x80 }) {
                // Names are sorted: the ones starting with the pattern's literal prefix are one run.
                let prefix = glob.literalPrefix
                var lo = 0, hi = names.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if names[mid] < prefix { lo = mid + 1 } else { hi = mid }
                }
                var i = lo
                while i < names.count, names[i].utf8.starts(with: prefix.utf8) {
                    if glob.matches(names[i]) { found.append(i) }
                    i += 1
                }
            } else {
                for i in names.indices where glob.matches(names[i]) { found.append(i) }
            }
            matchesOf[pid] = found.filter { active[$0] }
            for i in matchesOf[pid] { matchedBy[i].append(pid) }
        }
        for r in units.indices where active[r] && !isGlobal[r] {
            var seen: Set<Int> = []
            for pid in ownReplaces[r] {
                for x in matchesOf[pid] where x != r && !mutual(r, x) && seen.insert(x).inserted { replacers[x].append(r) }
            }
        }
    }

    /// True when `a` and `b` replace each other: fleet ignored such a pair (`hasReplace`), and so does this.
    func mutual(_ a: Int, _ b: Int) -> Bool {
        !ownReplaces[b].isEmpty && ownReplaces[b].contains { matchedBy[a].contains($0) }
    }

    /// Finds MachineOf cycles and each unit's depth (its peers' depth + 1) among active non-global units.
    func indexMachineOf() {
        let n = units.count
        // Edges: unit → peer, both active and non-global.
        var peers: [[Int]] = Array(repeating: [], count: n)
        for i in units.indices where active[i] && !isGlobal[i] {
            for p in Self.unique(units[i].constraints.machineOf) {
                if let j = unitIndex[p], active[j], !isGlobal[j] {
                    peers[i].append(j)
                    dependents[j].append(i)
                }
            }
        }
        // Tarjan's strongly connected components, iteratively.
        var index = Array(repeating: -1, count: n), low = Array(repeating: 0, count: n)
        var onStack = Array(repeating: false, count: n)
        var stack: [Int] = []
        var counter = 0
        var components: [[Int]] = []
        for root in 0..<n where index[root] < 0 && !peers[root].isEmpty {
            var work: [(node: Int, next: Int)] = [(root, 0)]
            index[root] = counter; low[root] = counter; counter += 1
            stack.append(root); onStack[root] = true
            while let (v, k) = work.last {
                if k < peers[v].count {
                    work[work.count - 1].next += 1
                    let w = peers[v][k]
                    if index[w] < 0 {
                        index[w] = counter; low[w] = counter; counter += 1
                        stack.append(w); onStack[w] = true
                        work.append((w, 0))
                    } else if onStack[w] {
                        low[v] = min(low[v], index[w])
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last { low[parent.node] = min(low[parent.node], low[v]) }
                if low[v] == index[v] {
                    var component: [Int] = []
                    while let w = stack.popLast() {
                        onStack[w] = false
                        component.append(w)
                        if w == v { break }
                    }
                    if component.count > 1 || peers[v].contains(v) { components.append(component) }
                }
            }
        }
        for component in components {
            let members = Set(component)
            // A readable loop: from the first member by name, always on to the first peer by name in the cycle.
            var path: [Int] = [component.min()!]
            var at: [Int: Int] = [path[0]: 0]
            while true {
                let next = peers[path.last!].filter(members.contains).min()!
                if let start = at[next] {
                    let loop = path[start...].map { units[$0].name } + [units[next].name]
                    let text = "MachineOf cycle: " + loop.joined(separator: " → ")
                    for m in component { cycle[m] = text }
                    break
                }
                at[next] = path.count
                path.append(next)
            }
        }
        // Depths over what is left (a DAG), peers first (Kahn).
        var remaining = Array(repeating: 0, count: n)
        var queue: [Int] = []
        for i in units.indices where active[i] && !isGlobal[i] && cycle[i] == nil {
            remaining[i] = peers[i].filter { cycle[$0] == nil }.count
            if remaining[i] == 0 { queue.append(i) }
        }
        var head = 0
        while head < queue.count {
            let v = queue[head]
            head += 1
            for d in dependents[v] where cycle[d] == nil {
                depth[d] = max(depth[d], depth[v] + 1)
                remaining[d] -= 1
                if remaining[d] == 0 { queue.append(d) }
            }
        }
    }

    static func unique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    // MARK: Scheduling

    func schedule() -> [String: FleetPlacement] {
        for i in units.indices where !active[i] {
            result[i] = FleetPlacement(unit: units[i].name, machines: [], outcome: .inactive, reason: "desired state is inactive")
        }
        for i in units.indices where isGlobal[i] { placeGlobal(i) }
        for i in units.indices where active[i] && !isGlobal[i] {
            if let c = cycle[i] {
                result[i] = FleetPlacement(unit: units[i].name, machines: [], outcome: .unplaceable, reason: c)
            }
        }
        let order = units.indices.filter { active[$0] && !isGlobal[$0] && cycle[$0] == nil }
            .sorted { (depth[$0], $0) < (depth[$1], $1) }
        replacedInPlace()
        for i in order { keep(i) }
        // A unit that made way for its replacer, which then could not stay itself, stays after all if it can.
        for x in order where moved[x] && assigned[x] == nil {
            guard let cur = units[x].current, let m = machineIndex[cur], !replacers[x].contains(where: { assigned[$0] == m }) else { continue }
            moved[x] = false
            note[x] = nil
            pending.remove(x)
            keep(x)
        }
        // Placement passes, peers first and otherwise in name order, until every pending unit has been tried.
        // Units moved by Replaces come back pending and get another pass; when a move freed room, the units that
        // found no machine before it are tried again. Moves are bounded (once per unit), so this ends.
        let byOrder: (Int, Int) -> Bool = { [depth] in (depth[$0], $0) < (depth[$1], $1) }
        var guardPasses = 0
        while guardPasses < 4 * units.count + 8 {
            guardPasses += 1
            let todo = pending.filter { !failed[$0] }.sorted(by: byOrder)
            if todo.isEmpty {
                let retry = pending.filter { failed[$0] && failedAt[$0] < evictions }
                if retry.isEmpty { break }
                for i in retry { failed[i] = false }
                continue
            }
            var progress = false
            for i in todo where pending.contains(i) && !failed[i] {
                if place(i, detailed: false) { progress = true }
            }
            if !progress { break }  // only units waiting for peers that never come: cannot happen
        }
        // What blocks the units left: worked out once, on the final placement.
        for i in pending.sorted(by: byOrder) where result[i] == nil {
            if failure[i] == nil { _ = place(i, detailed: true) }
            guard assigned[i] == nil else {
                detailCache = [:]  // cannot happen (placing only adds constraints); were it to, reasons are stale
                continue
            }
            result[i] = FleetPlacement(unit: units[i].name, machines: [], outcome: .unplaceable,
                                       reason: prefixed(i, failure[i] ?? "no machine can take it"))
        }
        var out: [String: FleetPlacement] = [:]
        for i in units.indices {
            if let r = result[i] {
                out[units[i].name] = r
            } else if let m = assigned[i] {
                // Placed without a recorded placement cannot happen; keep the map total all the same.
                out[units[i].name] = FleetPlacement(unit: units[i].name, machines: [machineNames[m]], outcome: .placed, reason: "placed")
            }
        }
        return out
    }

    /// Global units: every machine that satisfies MachineID, MachineMetadata and Conflicts against the globals there.
    func placeGlobal(_ i: Int) {
        let u = units[i]
        var candidates = allMachines
        var restriction: String?
        if let id = u.constraints.machineID {
            guard let m = machineIndex[id] else {
                result[i] = FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable, reason: "MachineID=\(id): no such machine available")
                return
            }
            candidates = [m]
            restriction = "MachineID=\(id)"
        }
        var on: [Int] = []
        var blockers: [Blocker] = []
        for m in candidates {
            if let b = metadataBlocker(i, m) ?? conflictBlocker(i, m, ignoring: [], detailed: true) {
                blockers.append(b)
            } else {
                on.append(m)
            }
        }
        if on.isEmpty {
            result[i] = FleetPlacement(unit: u.name, machines: [], outcome: .unplaceable,
                                       reason: nowhere(i, candidates: candidates, restriction: restriction) { blockers })
            return
        }
        for m in on { add(i, m) }
        globalOn[i] = on
        let reason: String
        if blockers.isEmpty {
            reason = restriction.map { "global, \($0): on \(machineNames[on[0]])" }
                ?? "global: on every machine (\(on.count))"
        } else {
            reason = "global: on \(on.count) of \(machineNames.count) machines; " + Self.grouped(blockers)
        }
        result[i] = FleetPlacement(unit: u.name, machines: on.map { machineNames[$0] }, outcome: .global, reason: reason)
    }

    /// Before keeping anything: a unit whose replacer is on the same machine (and may stay there as far as its
    /// machine ID and metadata go) does not stay.
    func replacedInPlace() {
        for x in units.indices where active[x] && !isGlobal[x] && cycle[x] == nil && !replacers[x].isEmpty {
            guard let cur = units[x].current, let m = machineIndex[cur] else { continue }
            for r in replacers[x] where !moved[r] && cycle[r] == nil && units[r].current == cur {
                if let id = units[r].constraints.machineID, id != cur { continue }
                if metadataBlocker(r, m) != nil { continue }
                moved[x] = true
                note[x] = "replaced on \(cur) by \(units[r].name)"
                break
            }
        }
    }

    /// Stability: a unit on an available machine where all its constraints still hold stays there.
    func keep(_ i: Int) {
        let u = units[i]
        guard let cur = u.current else {
            pending.insert(i)
            return
        }
        guard let m = machineIndex[cur] else {
            note[i] = "was on \(cur), which is not available"
            pending.insert(i)
            return
        }
        if note[i] != nil {  // replaced in place
            pending.insert(i)
            return
        }
        if let id = u.constraints.machineID, id != cur {
            note[i] = "was on \(cur), but MachineID=\(id)"
            pending.insert(i)
            return
        }
        for p in Self.unique(u.constraints.machineOf) {
            if let b = peerBlocker(p, on: m) {
                note[i] = "was on \(cur), but \(b)"
                pending.insert(i)
                return
            }
        }
        if let b = blocker(i, m, detailed: true) {
            note[i] = "was on \(cur), but " + Self.grouped([b])
            pending.insert(i)
            return
        }
        assign(i, m)
        result[i] = FleetPlacement(unit: u.name, machines: [cur], outcome: .kept, reason: "stays on \(cur)")
    }

    /// Why `m` does not hold the MachineOf peer `p` (for keeping a unit there); nil when it does.
    func peerBlocker(_ p: String, on m: Int) -> String? {
        guard let j = unitIndex[p] else { return "MachineOf=\(p): no such unit" }
        guard active[j] else { return "MachineOf=\(p): \(p) is inactive" }
        if isGlobal[j] { return globalOn[j].contains(m) ? nil : "MachineOf=\(p): \(p) does not run on \(machineNames[m])" }
        return assigned[j] == m ? nil : "MachineOf=\(p): \(p) is not on \(machineNames[m])"
    }

    /// Tries to place a pending unit: true when it was placed or found no machine, false when it waits for a
    /// MachineOf peer that is still pending. Without `detailed`, a unit that fits nowhere is only marked failed;
    /// with it, the reason names what blocks it on every machine.
    func place(_ i: Int, detailed: Bool) -> Bool {
        let u = units[i]
        var candidates = allMachines
        var restriction: [String] = []
        func fail(_ text: String?) -> Bool {
            failed[i] = true
            failedAt[i] = evictions
            failure[i] = text
            return true
        }
        if machineNames.isEmpty { return fail("no machine available") }
        // Placing units only adds constraints; only moves (evictions) take some away. So a unit alike to one that
        // found no machine since the last move finds none either (e.g. the 9 900 instances of `web@*` that conflict
        // with each other on 100 machines).
        let plain = ownConflicts[i].isEmpty && matchedBy[i].isEmpty && ownReplaces[i].isEmpty && replacers[i].isEmpty
        let key = plain ? nil : DetailKey(constraints: u.constraints, matchedBy: matchedBy[i], replacers: replacers[i])
        if !detailed, let key, failedAlike[key] == evictions { return fail(nil) }
        if let id = u.constraints.machineID {
            guard let m = machineIndex[id] else { return fail("MachineID=\(id): no such machine available") }
            candidates = [m]
            restriction.append("MachineID=\(id)")
        }
        let peerNames = Self.unique(u.constraints.machineOf)
        var peers: String?
        if !peerNames.isEmpty {
            var allowed = Set(candidates)
            var peerText: [String] = []
            for p in peerNames {
                guard let j = unitIndex[p] else { return fail("MachineOf=\(p): no such unit") }
                guard active[j] else { return fail("MachineOf=\(p): \(p) is inactive") }
                let on: [Int]
                if isGlobal[j] {
                    on = globalOn[j]
                } else if let m = assigned[j] {
                    on = [m]
                } else if pending.contains(j) && !failed[j] {
                    return false  // the peer is not placed yet
                } else {
                    on = []
                }
                if on.isEmpty { return fail("MachineOf=\(p): \(p) is unplaceable") }
                allowed.formIntersection(on)
                peerText.append("\(p) on " + on.map { machineNames[$0] }.joined(separator: ", "))
            }
            if allowed.isEmpty {
                return fail("MachineOf " + peerText.joined(separator: "; ") + ": no machine has them all"
                    + (restriction.isEmpty ? "" : " (\(restriction.joined(separator: ", ")))"))
            }
            candidates = candidates.filter(allowed.contains)
            restriction.append("MachineOf " + peerText.joined(separator: "; "))
            peers = peerText.joined(separator: "; ")
        }
        // A machine that takes no new units (it does not answer, within its grace period) keeps only its own.
        if acceptsNew.contains(false) {
            let current = u.current.flatMap { machineIndex[$0] }
            let before = candidates
            candidates = candidates.filter { acceptsNew[$0] || $0 == current }
            if candidates.isEmpty {
                return fail("no machine can take it: " + before.map { machineNames[$0] }.joined(separator: ", ")
                            + " does not answer (within lost_after) and takes no new units")
            }
        }
        // The hot loop: local copies spare a debug build its exclusivity checks on every access.
        let load = self.load
        let meta = metadataFits(i)
        var best = -1
        var fits: [Int] = []
        fits.reserveCapacity(candidates.count)
        for m in candidates {
            guard meta[m] else { continue }
            if !plain && blocker(i, m, detailed: false, metadataChecked: true) != nil { continue }
            fits.append(m)
            if best < 0 || load[m] < load[best] { best = m }
        }
        guard best >= 0 else {
            guard detailed else {
                if let key { failedAlike[key] = evictions }
                return fail(nil)
            }
            // Units alike (same constraints, matched by the same patterns, replaced by the same units) are blocked
            // alike on the final placement: say it once.
            let key = DetailKey(constraints: u.constraints, matchedBy: matchedBy[i], replacers: replacers[i])
            if let text = detailCache[key] { return fail(text) }
            let text = nowhere(i, candidates: candidates, restriction: restriction.isEmpty ? nil : restriction.joined(separator: ", ")) {
                candidates.compactMap { self.blocker(i, $0, detailed: true) }
            }
            detailCache[key] = text
            return fail(text)
        }
        let m = best
        let why = choice(m, fits: fits, peers: peers)
        assign(i, m)
        result[i] = FleetPlacement(unit: u.name, machines: [machineNames[m]], outcome: .placed, reason: prefixed(i, why))
        return true
    }

    func prefixed(_ i: Int, _ text: String) -> String {
        note[i].map { "\($0); \(text)" } ?? text
    }

    /// The reason for choosing `m` among `fits`.
    func choice(_ m: Int, fits: [Int], peers: String?) -> String {
        let load = self.load, names = machineNames
        let name = names[m]
        let units = Self.count(load[m])
        if let peers {
            if fits.count == 1 { return "with its MachineOf peers: \(peers)" }
            return "with its MachineOf peers (\(peers)); least loaded: \(name) (\(units))"
        }
        if fits.count == 1 { return "only machine that can take it: \(name) (\(units))" }
        var ties: [Int] = []
        var next = -1
        for f in fits where f != m {
            if load[f] == load[m] {
                ties.append(f)
            } else if next < 0 || load[f] < load[next] {
                next = f
            }
        }
        if ties.isEmpty {
            return "least loaded: \(name) (\(units); next \(names[next]) with \(load[next]))"
        }
        let others = ties.count <= 3 ? ties.map { names[$0] }.joined(separator: ", ") : "\(names[ties[0]]) and \(ties.count - 1) others"
        return "least loaded: \(name) (\(units); \(others) also \(load[m]), later by name)"
    }

    static func count(_ n: Int) -> String { n == 1 ? "1 unit" : "\(n) units" }

    // MARK: Constraints on one machine

    /// Something that keeps a unit off one machine: grouped by `label` in reasons (`label m1 (detail), m2 (detail)`).
    struct Blocker {
        var label: String
        var machine: String
        var detail: String?

        /// Some blocker, when which one does not matter.
        static var any: Blocker { Blocker(label: "", machine: "", detail: nil) }
    }

    /// Why non-global unit `i` cannot go to machine `m` (MachineID and MachineOf are checked by the caller); nil
    /// when it can. `detailed: false` may return any blocker, for speed.
    func blocker(_ i: Int, _ m: Int, detailed: Bool, metadataChecked: Bool = false) -> Blocker? {
        if !metadataChecked, let b = metadataBlocker(i, m) { return b }
        // A unit that replaces this one is there.
        if !replacers[i].isEmpty {
            if !detailed {
                if replacers[i].contains(where: { assigned[$0] == m }) { return Blocker.any }
            } else if let r = replacers[i].filter({ assigned[$0] == m }).min() {
                return Blocker(label: "a unit that replaces it is on", machine: machineNames[m], detail: units[r].name)
            }
        }
        // Units this one replaces: moved away when it comes, unless they cannot move.
        var replaced: Set<Int> = []
        for pid in ownReplaces[i] {
            guard let there = matching[m][pid] else { continue }
            for x in there where x != i && !mutual(i, x) {
                if isGlobal[x] || moved[x] {
                    if !detailed { return Blocker.any }
                    let stuck = there.filter { $0 != i && !mutual(i, $0) && (isGlobal[$0] || moved[$0]) }.min()!
                    return Blocker(label: "Replaces cannot move", machine: machineNames[m],
                                   detail: units[stuck].name + (isGlobal[stuck] ? ", a global unit" : ", moved once already"))
                }
                replaced.insert(x)
            }
        }
        return conflictBlocker(i, m, ignoring: replaced, detailed: detailed)
    }

    /// Per machine: does it satisfy unit `i`'s MachineMetadata? Worked out once per distinct requirement.
    func metadataFits(_ i: Int) -> [Bool] {
        let wanted = units[i].constraints.machineMetadata
        if let known = metadataFitsCache[wanted] { return known }
        let fits = allMachines.map { m in metadataWanted[i].allSatisfy { key, values in machineMetadata[m][key].map(values.contains) ?? false } }
        metadataFitsCache[wanted] = fits
        return fits
    }

    /// MachineMetadata: for every key, the machine's value is one of the listed ones.
    func metadataBlocker(_ i: Int, _ m: Int) -> Blocker? {
        let wanted = units[i].constraints.machineMetadata
        for key in metadataKeys[i] {
            let values = wanted[key]!
            let have = machineMetadata[m][key]
            if let have, values.contains(have) { continue }
            return Blocker(label: "MachineMetadata \(Self.metadataText(key, values)): not on", machine: machineNames[m],
                           detail: have.map { "\(key)=\($0)" } ?? "no \(key)")
        }
        return nil
    }

    static func metadataText(_ key: String, _ values: [String]) -> String {
        unique(values).map { "\(key)=\($0)" }.joined(separator: " or ")
    }

    /// Conflicts both ways against the units on `m` (except `ignoring` and the unit itself).
    func conflictBlocker(_ i: Int, _ m: Int, ignoring: Set<Int>, detailed: Bool) -> Blocker? {
        func first(_ set: Set<Int>?) -> Int? {
            guard let set, !set.isEmpty else { return nil }
            if detailed { return set.filter { $0 != i && !ignoring.contains($0) }.min() }
            // `i` itself is never on the machine while it is being checked.
            if ignoring.isEmpty { return set.first }
            return set.first { !ignoring.contains($0) }
        }
        // Its patterns against the names there.
        var found: (pid: Int, unit: Int)?
        for pid in ownConflicts[i] {
            if let x = first(matching[m][pid]) {
                if !detailed { return Blocker.any }
                if found.map({ (patterns[pid], x) < (patterns[$0.pid], $0.unit) }) ?? true { found = (pid, x) }
            }
        }
        if let found {
            return Blocker(label: "Conflicts=\(patterns[found.pid]) blocks", machine: machineNames[m], detail: units[found.unit].name)
        }
        // Their patterns against its name.
        for pid in matchedBy[i] {
            if let x = first(holding[m][pid]) {
                if !detailed { return Blocker.any }
                if found.map({ (patterns[pid], x) < (patterns[$0.pid], $0.unit) }) ?? true { found = (pid, x) }
            }
        }
        if let found {
            return Blocker(label: "their Conflicts=\(patterns[found.pid]) blocks", machine: machineNames[m], detail: units[found.unit].name)
        }
        return nil
    }

    /// The reason a unit fits nowhere: one blocker per candidate machine, grouped.
    func nowhere(_ i: Int, candidates: [Int], restriction: String?, blockers: () -> [Blocker]) -> String {
        if candidates.isEmpty || machineNames.isEmpty { return "no machine available" }
        // A metadata key no candidate has at all says it shortest.
        let wanted = units[i].constraints.machineMetadata
        for key in metadataKeys[i] where candidates.allSatisfy({ m in machineMetadata[m][key].map { !wanted[key]!.contains($0) } ?? true }) {
            let text = "MachineMetadata \(Self.metadataText(key, wanted[key]!)): no machine has it"
            return restriction.map { "\(text) (\($0))" } ?? text
        }
        let head = restriction.map { "no machine can take it (\($0)): " } ?? "no machine can take it: "
        return head + Self.grouped(blockers())
    }

    /// `label m1 (detail), m2 (detail); label2 m3` — groups in order of their first machine.
    static func grouped(_ blockers: [Blocker]) -> String {
        var order: [String] = []
        var items: [String: [String]] = [:]
        for b in blockers {
            if items[b.label] == nil { order.append(b.label) }
            items[b.label, default: []].append(b.machine + (b.detail.map { " (\($0))" } ?? ""))
        }
        return order.map { "\($0) " + items[$0]!.joined(separator: ", ") }.joined(separator: "; ")
    }

    // MARK: Assignment

    /// Puts non-global unit `i` on `m`, moving away the units it replaces there.
    func assign(_ i: Int, _ m: Int) {
        var replaced: Set<Int> = []
        for pid in ownReplaces[i] {
            for x in matching[m][pid] ?? [] where x != i && !isGlobal[x] && !mutual(i, x) { replaced.insert(x) }
        }
        for x in replaced.sorted() where assigned[x] == m {
            moved[x] = true
            evict(x, from: m, note: "replaced on \(machineNames[m]) by \(units[i].name)")
        }
        assigned[i] = m
        load[m] += 1
        add(i, m)
        pending.remove(i)
        failure[i] = nil
        failed[i] = false
    }

    /// Takes `x` off `m` to be placed again, with the units that are MachineOf it there.
    func evict(_ x: Int, from m: Int, note text: String) {
        var stack = [(x, text)]
        while let (v, why) = stack.popLast() {
            guard assigned[v] == m else { continue }
            assigned[v] = nil
            load[m] -= 1
            remove(v, m)
            result[v] = nil
            note[v] = why
            failure[v] = nil
            failed[v] = false
            pending.insert(v)
            evictions += 1
            for d in dependents[v] where assigned[d] == m {
                stack.append((d, "its MachineOf peer \(units[v].name) moved off \(machineNames[m])"))
            }
        }
    }

    func add(_ i: Int, _ m: Int) {
        for pid in matchedBy[i] { matching[m][pid, default: []].insert(i) }
        for pid in ownConflicts[i] { holding[m][pid, default: []].insert(i) }
    }

    func remove(_ i: Int, _ m: Int) {
        for pid in matchedBy[i] { matching[m][pid]?.remove(i) }
        for pid in ownConflicts[i] { holding[m][pid]?.remove(i) }
    }
}

/// A shell glob compiled once: `*`, `?`, `[...]` (ranges, `!`/`^` negation, `]` first is literal), `\` escapes.
struct FleetGlob {
    enum Token {
        case star
        case any
        case char(Character)
        case set([(Character, Character)], negate: Bool)

        func matches(_ c: Character) -> Bool {
            switch self {
            case .star, .any: return true
            case .char(let x): return x == c
            case .set(let ranges, let negate): return ranges.contains { $0.0 <= c && c <= $0.1 } != negate
            }
        }
    }

    let tokens: [Token]
    /// True when the pattern has no special character: it matches only itself.
    let isLiteral: Bool
    /// The literal text every match starts with.
    let literalPrefix: String

    init(_ pattern: String) {
        let p = Array(pattern)
        var tokens: [Token] = []
        var i = 0
        while i < p.count {
            switch p[i] {
            case "*":
                if case .star? = tokens.last {} else { tokens.append(.star) }
            case "?":
                tokens.append(.any)
            case "\\" where i + 1 < p.count:
                i += 1
                tokens.append(.char(p[i]))
            case "[":
                var k = i + 1
                var negate = false
                if k < p.count, p[k] == "!" || p[k] == "^" { negate = true; k += 1 }
                let first = k
                if k < p.count, p[k] == "]" { k += 1 }  // `]` first in a set is a member
                while k < p.count, p[k] != "]" { k += 1 }
                guard k < p.count else {
                    tokens.append(.char("["))  // no closing bracket: a plain `[`
                    break
                }
                let members = Array(p[first..<k])
                var ranges: [(Character, Character)] = []
                var j = 0
                while j < members.count {
                    if j + 2 < members.count, members[j + 1] == "-" {
                        ranges.append((members[j], members[j + 2]))
                        j += 3
                    } else {
                        ranges.append((members[j], members[j]))
                        j += 1
                    }
                }
                tokens.append(.set(ranges, negate: negate))
                i = k
            default:
                tokens.append(.char(p[i]))
            }
            i += 1
        }
        self.tokens = tokens
        var prefix = ""
        var literal = true
        for t in tokens {
            guard case .char(let c) = t else { literal = false; break }
            prefix.append(c)
        }
        self.isLiteral = literal && String(prefix) == pattern
        self.literalPrefix = prefix
    }

    /// True when `name` matches, in time linear in the pattern times the name (one backtracking point: the last `*`).
    func matches(_ name: String) -> Bool {
        let s = Array(name)
        var t = 0, j = 0
        var star = -1, starAt = 0
        while j < s.count {
            if t < tokens.count, case .star = tokens[t] {
                star = t
                starAt = j
                t += 1
            } else if t < tokens.count, tokens[t].matches(s[j]) {
                t += 1
                j += 1
            } else if star >= 0 {
                t = star + 1
                starAt += 1
                j = starAt
            } else {
                return false
            }
        }
        while t < tokens.count, case .star = tokens[t] { t += 1 }
        return t == tokens.count
    }
}
