/// A directed graph of resources: an edge `a → b` means `a` depends on `b` (b must exist first).
///
/// Nodes are kept in sorted order and edges as index lists, so ordering a 100k-node graph is linear.
public struct DependencyGraph: Sendable {
    /// Every node, sorted.
    public let nodes: [ResourceAddress]
    /// For a graph built from resources: `declared[i]` is the position in those resources of the first declaration of
    /// `nodes[i]` (empty for a graph built from explicit nodes).
    public let declared: [Int]
    private let index: [ResourceAddress: Int]
    /// `deps[i]` are the nodes node `i` depends on, with where the edge was written.
    private let deps: [[(node: Int, location: SourceLocation?)]]
    private let dependents: [[Int]]

    /// Builds the graph; edges to addresses that are not nodes are ignored (callers report dangling references).
    /// An address declared more than once is one node (`declared` names its first declaration).
    public init(_ resources: [Resource]) {
        // Addresses sorted with their positions (ties by position, so the first declaration leads its repeats), then
        // repeats dropped: equal addresses are neighbours.
        var keyed = resources.indices.map { (address: resources[$0].address, at: $0) }
        keyed.sort { $0.address != $1.address ? $0.address < $1.address : $0.at < $1.at }
        Self.dropRepeats(&keyed) { $0.address == $1.address }
        let nodes = keyed.map(\.address)
        let declared = keyed.map(\.at)
        keyed = []
        var index: [ResourceAddress: Int] = [:]
        index.reserveCapacity(nodes.count)
        for (i, n) in nodes.enumerated() { index[n] = i }
        var deps = [[(node: Int, location: SourceLocation?)]](repeating: [], count: nodes.count)
        var dependents = [[Int]](repeating: [], count: nodes.count)
        for (f, at) in declared.enumerated() {
            for d in resources[at].dependencies {
                guard let t = index[d.address] else { continue }
                if deps[f].contains(where: { $0.node == t }) { continue }
                deps[f].append((t, d.location))
                dependents[t].append(f)
            }
        }
        self.nodes = nodes
        self.declared = declared
        self.index = index
        self.deps = deps
        self.dependents = dependents
    }

    /// Builds the graph from explicit edges `(from, to, where written)`, meaning `from` depends on `to`.
    public init(nodes: [ResourceAddress], edges: [(ResourceAddress, ResourceAddress, SourceLocation?)]) {
        // Sorted, then repeats dropped: equal addresses are neighbours (no set of every node first).
        var sorted = nodes.sorted()
        Self.dropRepeats(&sorted, ==)
        var index: [ResourceAddress: Int] = [:]
        index.reserveCapacity(sorted.count)
        for (i, n) in sorted.enumerated() { index[n] = i }
        var deps = [[(node: Int, location: SourceLocation?)]](repeating: [], count: sorted.count)
        var dependents = [[Int]](repeating: [], count: sorted.count)
        for (from, to, loc) in edges {
            guard let f = index[from], let t = index[to] else { continue }
            if deps[f].contains(where: { $0.node == t }) { continue }
            deps[f].append((t, loc))
            dependents[t].append(f)
        }
        self.nodes = sorted
        self.declared = []
        self.index = index
        self.deps = deps
        self.dependents = dependents
    }

    /// Drops each element of sorted `items` equal (`same`) to the one kept before it, in place: the first of each run
    /// stays.
    private static func dropRepeats<T>(_ items: inout [T], _ same: (T, T) -> Bool) {
        var kept = 0
        for i in items.indices where kept == 0 || !same(items[i], items[kept - 1]) {
            if i != kept { items.swapAt(i, kept) }
            kept += 1
        }
        items.removeLast(items.count - kept)
    }

    /// Each node's position in `nodes`, by address.
    public var positions: [ResourceAddress: Int] { index }

    /// True when `address` is a node.
    public func contains(_ address: ResourceAddress) -> Bool { index[address] != nil }

    /// What `address` depends on directly.
    public func dependencies(of address: ResourceAddress) -> [ResourceAddress] {
        guard let i = index[address] else { return [] }
        return deps[i].map { nodes[$0.node] }
    }

    /// What depends on `address` directly.
    public func dependents(of address: ResourceAddress) -> [ResourceAddress] {
        guard let i = index[address] else { return [] }
        return dependents[i].map { nodes[$0] }
    }

    /// Every edge as `(from, to, where written)`.
    public var edges: [(from: ResourceAddress, to: ResourceAddress, location: SourceLocation?)] {
        var out: [(ResourceAddress, ResourceAddress, SourceLocation?)] = []
        for (f, list) in deps.enumerated() { for d in list { out.append((nodes[f], nodes[d.node], d.location)) } }
        return out
    }

    /// The given nodes plus everything they depend on, transitively.
    public func closure(dependenciesOf start: some Sequence<ResourceAddress>) -> Set<ResourceAddress> {
        walk(from: start) { deps[$0].map(\.node) }
    }

    /// The given nodes plus everything that depends on them, transitively.
    public func closure(dependentsOf start: some Sequence<ResourceAddress>) -> Set<ResourceAddress> {
        walk(from: start) { dependents[$0] }
    }

    private func walk(from start: some Sequence<ResourceAddress>, next: (Int) -> [Int]) -> Set<ResourceAddress> {
        var seen = [Bool](repeating: false, count: nodes.count)
        var stack = start.compactMap { index[$0] }
        var out = Set<ResourceAddress>()
        while let i = stack.popLast() {
            if seen[i] { continue }
            seen[i] = true
            out.insert(nodes[i])
            stack.append(contentsOf: next(i))
        }
        return out
    }

    /// Nodes with every dependency before its dependents; ties keep sorted order. Throws the first cycle found.
    public func topologicalOrder() throws(CycleError) -> [ResourceAddress] {
        var remaining = deps.map(\.count)
        var ready: [Int] = []
        for i in 0..<nodes.count where remaining[i] == 0 { ready.append(i) }
        var order: [ResourceAddress] = []
        order.reserveCapacity(nodes.count)
        var head = 0
        while head < ready.count {
            let i = ready[head]; head += 1
            order.append(nodes[i])
            for d in dependents[i] {
                remaining[d] -= 1
                if remaining[d] == 0 { ready.append(d) }
            }
        }
        if order.count == nodes.count { return order }
        throw findCycle(among: remaining)
    }

    /// Depth-first search restricted to nodes left over by Kahn's algorithm; returns the first cycle.
    private func findCycle(among remaining: [Int]) -> CycleError {
        // 0 = unvisited, 1 = on stack, 2 = done
        var color = [UInt8](repeating: 0, count: nodes.count)
        var path: [Int] = []
        var pathEdge: [SourceLocation?] = []
        for root in 0..<nodes.count where remaining[root] > 0 && color[root] == 0 {
            var stack: [(node: Int, next: Int)] = [(root, 0)]
            color[root] = 1
            path = [root]
            pathEdge = []
            while var top = stack.popLast() {
                if top.next < deps[top.node].count {
                    let edge = deps[top.node][top.next]
                    top.next += 1
                    stack.append(top)
                    if color[edge.node] == 1, let start = path.firstIndex(of: edge.node) {
                        var steps: [CycleError.Step] = []
                        let cyc = Array(path[start...])
                        let locs = Array(pathEdge[start...]) + [edge.location]
                        for (k, n) in cyc.enumerated() { steps.append(.init(address: nodes[n], edgeLocation: locs[k])) }
                        return CycleError(steps: steps)
                    }
                    if color[edge.node] == 0 && remaining[edge.node] > 0 {
                        color[edge.node] = 1
                        path.append(edge.node)
                        pathEdge.append(edge.location)
                        stack.append((edge.node, 0))
                    }
                } else {
                    color[top.node] = 2
                    path.removeLast()
                    if !pathEdge.isEmpty { pathEdge.removeLast() }
                }
            }
        }
        return CycleError(steps: [])
    }
}

/// A dependency cycle: each step depends on the next, and the last on the first.
public struct CycleError: Error, Sendable, CustomStringConvertible {
    /// One node of the cycle and where its edge to the next node was written.
    public struct Step: Sendable, Hashable {
        /// The node.
        public var address: ResourceAddress
        /// Where "this depends on the next one" was written.
        public var edgeLocation: SourceLocation?
    }

    /// The cycle in order.
    public var steps: [Step]

    /// `a → b → a`, then one line per edge with where it was written.
    public var description: String {
        guard let first = steps.first else { return "dependency cycle" }
        var text = "dependency cycle: " + (steps.map(\.address.description) + [first.address.description]).joined(separator: " → ")
        for (i, step) in steps.enumerated() {
            let next = steps[(i + 1) % steps.count].address
            let at = step.edgeLocation.map { "\($0): " } ?? ""
            text += "\n  \(at)\(step.address) depends on \(next)"
        }
        return text
    }

    /// One diagnostic per edge of the cycle, so editors can jump to each.
    public var diagnostics: [Diagnostic] {
        let head = Diagnostic(.error, at: steps.first?.edgeLocation, String(description.split(separator: "\n", maxSplits: 1)[0]))
        return [head] + steps.enumerated().dropFirst().map { i, s in
            Diagnostic(.error, at: s.edgeLocation, "\(s.address) depends on \(steps[(i + 1) % steps.count].address) (part of the cycle)")
        }
    }
}
