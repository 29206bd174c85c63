import OttoCore
import OttoPlan

/// The dependency graph of a plan's actionable changes, as the executor walks it: which changes are ready (every
/// prerequisite finished), queued per provider so that each provider's concurrency limit and the global parallelism
/// hold, and which dependents a failure skips. Pure bookkeeping: no I/O, no tasks.
struct ReadyGraph {
    private struct Node {
        let change: ResourceChange
        var prerequisites = 0
        var dependents: [Int] = []
    }

    private var nodes: [Node]
    private var ready: [String: [Int]] = [:]
    private var readyHead: [String: Int] = [:]
    private var providerOrder: [String] = []
    private var runningPer: [String: Int] = [:]
    /// Changes running now.
    private(set) var running = 0
    /// How each change ended, by index; nil while pending or running.
    private(set) var outcomes: [ApplyOutcome?]

    /// Builds the graph: creates and updates wait for what they depend on; deletes go before what they depended on.
    init(_ changes: [ResourceChange]) {
        nodes = changes.map { Node(change: $0) }
        outcomes = Array(repeating: nil, count: nodes.count)
        var index: [ResourceAddress: Int] = [:]
        for (i, n) in nodes.enumerated() { index[n.change.address] = i }
        for i in nodes.indices {
            let c = nodes[i].change
            for dep in c.dependencies {
                guard let j = index[dep] else { continue }
                if c.action == .delete {
                    // I depend on `dep`: if both go, I go first, so `dep` waits for me.
                    if nodes[j].change.action == .delete { nodes[j].prerequisites += 1; nodes[i].dependents.append(j) }
                } else if nodes[j].change.action != .delete {
                    nodes[i].prerequisites += 1; nodes[j].dependents.append(i)
                }
            }
        }
        for i in nodes.indices where nodes[i].prerequisites == 0 { enqueue(i) }
    }

    /// Number of changes.
    var count: Int { nodes.count }

    /// The change at `i`.
    func change(_ i: Int) -> ResourceChange { nodes[i].change }

    private mutating func enqueue(_ i: Int) {
        let p = nodes[i].change.provider
        if ready[p] == nil { ready[p] = []; readyHead[p] = 0; providerOrder.append(p) }
        ready[p]!.append(i)
    }

    /// Starts the ready changes that may start now, in a fair round over the providers: at most `parallelism` running
    /// in all, and at most `limit(provider)` per provider; none once `stop()` says so (asked before each one). `launch`
    /// is called with each one as it is taken (so a launch can make `stop()` true for the next); it counts as running
    /// until `succeeded` or `failed`.
    mutating func start(parallelism: Int, limit: (String) -> Int, stop: () -> Bool, launch: (Int, ResourceChange) -> Void) {
        var progressed = true
        while progressed && running < parallelism {
            progressed = false
            for p in providerOrder where running < parallelism {
                let cap = max(1, limit(p))
                while !stop(), running < parallelism, (runningPer[p] ?? 0) < cap, readyHead[p]! < ready[p]!.count {
                    let i = ready[p]![readyHead[p]!]
                    readyHead[p]! += 1
                    guard outcomes[i] == nil else { continue }
                    running += 1
                    runningPer[p, default: 0] += 1
                    progressed = true
                    launch(i, nodes[i].change)
                }
            }
        }
    }

    /// Records that change `i` succeeded; its dependents whose prerequisites are all done become ready.
    mutating func succeeded(_ i: Int) {
        finish(i, .succeeded)
        for j in nodes[i].dependents {
            nodes[j].prerequisites -= 1
            if nodes[j].prerequisites == 0 && outcomes[j] == nil { enqueue(j) }
        }
    }

    /// Records that change `i` failed; returns every change that depended on it, directly or not, now skipped.
    mutating func failed(_ i: Int, message: String) -> [Int] {
        finish(i, .failed(message))
        let root = nodes[i].change.address
        var skipped: [Int] = []
        var stack = nodes[i].dependents
        while let j = stack.popLast() {
            guard outcomes[j] == nil else { continue }
            outcomes[j] = .skipped(because: root)
            skipped.append(j)
            stack.append(contentsOf: nodes[j].dependents)
        }
        return skipped
    }

    private mutating func finish(_ i: Int, _ outcome: ApplyOutcome) {
        running -= 1
        runningPer[nodes[i].change.provider, default: 1] -= 1
        outcomes[i] = outcome
    }
}
