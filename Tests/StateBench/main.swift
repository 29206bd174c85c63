// otto-state-bench: state writes per second against one state URL (bench/state-pg).
//
//   otto-state-bench --url URL [--writers N] [--writes M] [--root DIR]
//
// Opens N stores on URL (N connections: what N processes writing one state do), and has each commit M/N single-resource
// writes, each its own transaction, as fast as it can. Prints one JSON line: {"writers":N,"writes":M,"seconds":S,"per_second":R}.
import Foundation
import OttoCore
import OttoState

func argument(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

guard let url = argument("--url") else {
    FileHandle.standardError.write(Data("usage: otto-state-bench --url URL [--writers N] [--writes M] [--root DIR]\n".utf8))
    exit(2)
}
let writers = max(1, Int(argument("--writers") ?? "1") ?? 1)
let writes = max(writers, Int(argument("--writes") ?? "2000") ?? 2000)
let root = argument("--root") ?? FileManager.default.currentDirectoryPath

do {
    var stores: [any StateStore] = []
    for _ in 0..<writers { stores.append(try await Blocking.run { try StateURL.open(url, root: root) }) }
    let perWriter = writes / writers
    let clock = ContinuousClock()
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (w, store) in stores.enumerated() {
            group.addTask {
                for i in 0..<perWriter {
                    let record = ResourceRecord(address: ResourceAddress(kind: "dns_record", name: "bench\(w % 4).w\(w)-\(i).A"),
                                                provider: "powerdns", providerID: "w\(w)-\(i)",
                                                attributes: ["type": "A", "ttl": 300, "values": .list([.string("10.213.0.\(i % 250 + 1)")])],
                                                site: "bench\(w % 4)")
                    try await store.put(record)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = clock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = perWriter * writers
    print("{\"writers\":\(writers),\"writes\":\(total),\"seconds\":\(seconds),\"per_second\":\(Double(total) / seconds)}")
} catch {
    FileHandle.standardError.write(Data("otto-state-bench: \(error)\n".utf8))
    exit(1)
}
