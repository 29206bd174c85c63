import Foundation
import OttoCore
@testable import OttoProviders
import Testing

/// A change of its own rrset, weighing one record.
private struct TestChange: BatchableChange {
    let id: Int
    var rrsetKey: String { "r\(id)" }
    var weight: (records: Int, characters: Int) { (1, 1) }
}

/// The batches a fake API received, in order.
private actor BatchLog {
    var batches: [[Int]] = []
    func add(_ batch: [Int]) { batches.append(batch) }
}

/// How `ZoneChangeBatcher` groups changes: workers that send one change after another (like the executor's slots)
/// end up in one request per round, and a lone change is never held.
@Suite struct ZoneChangeBatcherTests {
    private static func batcher(_ log: BatchLog, gatherLimit: Duration, busyWindow: Duration) -> ZoneChangeBatcher<TestChange> {
        ZoneChangeBatcher(limits: BatchLimits(changes: 100),
                          send: { batch in
                              await log.add(batch.map(\.id))
                              try await Task.sleep(for: .milliseconds(5))  // the API's answer takes a while
                          },
                          isInvalidBatch: { _ in false }, gatherLimit: gatherLimit, busyWindow: busyWindow)
    }

    @Test("workers that send their next change when the last one is answered share one request per round")
    func workersComingBackShareOneRequest() async throws {
        let log = BatchLog()
        // A generous limit: under load the workers take long to come back, and the test is about grouping, not time.
        let batcher = Self.batcher(log, gatherLimit: .seconds(2), busyWindow: .seconds(10))
        let workers = 16, rounds = 6
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    for round in 0..<rounds {
                        try await batcher.apply(TestChange(id: round * workers + w))
                        try await Task.sleep(for: .milliseconds(1))  // recording the result before the next change
                    }
                }
            }
            try await group.waitForAll()
        }
        let batches = await log.batches
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<workers * rounds))
        // Without gathering, the first change back goes out alone and requests alternate 1 / 15 for the whole run
        // (2 per round); gathered, the rounds after the first go out whole.
        #expect(batches.count <= rounds + 2, "batch sizes: \(batches.map(\.count))")
        #expect(batches.suffix(3).allSatisfy { $0.count == workers }, "batch sizes: \(batches.map(\.count))")
    }

    @Test("a lone change is sent at once, also after a busy spell has ended")
    func loneChangeIsNotHeld() async throws {
        let log = BatchLog()
        let batcher = Self.batcher(log, gatherLimit: .seconds(3), busyWindow: .milliseconds(200))
        let clock = ContinuousClock()
        var took = try await clock.measure { try await batcher.apply(TestChange(id: 0)) }
        #expect(took < .seconds(1.5), "a first lone change took \(took)")
        // A busy spell: several changes in one batch.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1...8 { group.addTask { try await batcher.apply(TestChange(id: i)) } }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .milliseconds(400))  // past the busy window
        took = try await clock.measure { try await batcher.apply(TestChange(id: 9)) }
        #expect(took < .seconds(1.5), "a lone change after a busy spell took \(took)")
        #expect(await log.batches.flatMap { $0 }.sorted() == Array(0...9))
    }
}
