// otto-state-bench: state writes per second against one state URL (bench/state-pg).
//
//   otto-state-bench --url URL [--writers N] [--writes M] [--root DIR] [--batches SIZES]
//
// Opens N stores on URL (N connections: what N processes writing one state do), and has each commit M/N single-resource
// writes, each its own transaction, as fast as it can. Prints one JSON line: {"writers":N,"writes":M,"seconds":S,"per_second":R}.
//
// With `--batches 1,63` each writer commits its records in puts of those sizes in turn (what the executor's group commit
// makes of a 10k-record PowerDNS apply: one PATCH of 1, one of 63), over sites of 1,000 records each, and the line also
// holds the store's own figures: "transactions", "write_seconds" (inside the transactions) and "write_cpu_seconds".
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
let batches = (argument("--batches") ?? "1").split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }

/// The `i`th record of writer `w`: a DNS record as the PowerDNS provider records it, 1,000 to a site.
func record(writer w: Int, _ i: Int) -> ResourceRecord {
    guard batches != [1] else {
        return ResourceRecord(address: ResourceAddress(kind: "dns_record", name: "bench\(w % 4).w\(w)-\(i).A"),
                              provider: "powerdns", providerID: "w\(w)-\(i)",
                              attributes: ["type": "A", "ttl": 300, "values": .list([.string("10.213.0.\(i % 250 + 1)")])],
                              site: "bench\(w % 4)")
    }
    let site = "w\(w)s\(i / 1000)", zone = "\(site).bench.test.", name = "h\(i % 1000).\(zone)"
    return ResourceRecord(address: ResourceAddress(kind: "dns_record", name: "\(site).h\(i % 1000).A"), provider: "powerdns",
                          providerID: "\(zone)|\(name)|A",
                          attributes: ["name": .string(name), "records": .list([.string("10.213.\(i % 1000 / 250).\(i % 250 + 1)")]),
                                       "ttl": 300, "type": "A", "zone": .string(zone)],
                          dependencies: [ResourceAddress(kind: "dns_zone", name: site)], site: site)
}

do {
    var stores: [any StateStore] = []
    for _ in 0..<writers { stores.append(try await Blocking.run { try StateURL.open(url, root: root) }) }
    let perWriter = writes / writers
    let clock = ContinuousClock()
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (w, store) in stores.enumerated() {
            group.addTask {
                var i = 0, turn = 0
                while i < perWriter {
                    let n = min(batches[turn % batches.count], perWriter - i)
                    try await store.put((i..<i + n).map { record(writer: w, $0) }, removing: [])
                    i += n
                    turn += 1
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = clock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = perWriter * writers
    var line = "{\"writers\":\(writers),\"writes\":\(total),\"seconds\":\(seconds),\"per_second\":\(Double(total) / seconds)"
    if batches != [1] {
        let figures = stores.map(\.statistics).reduce(StateWriteStatistics()) {
            StateWriteStatistics(transactions: $0.transactions + $1.transactions, cpuTime: $0.cpuTime + $1.cpuTime,
                                 wallTime: $0.wallTime + $1.wallTime)
        }
        func s(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        line += ",\"transactions\":\(figures.transactions),\"write_seconds\":\(s(figures.wallTime)),\"write_cpu_seconds\":\(s(figures.cpuTime))"
    }
    print(line + "}")
} catch {
    FileHandle.standardError.write(Data("otto-state-bench: \(error)\n".utf8))
    exit(1)
}
