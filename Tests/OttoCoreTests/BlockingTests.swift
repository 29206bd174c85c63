import Foundation
import OttoCore
import Testing

/// `Blocking.map`: the parallel map that project loading and plan rendering use.
@Suite struct BlockingTests {
    @Test func mapKeepsTheItemsOrderWhateverFinishesFirst() async {
        let items = Array(0..<2_000)
        // Early items take longest, so they finish last when the work is spread over threads.
        let mapped = await Blocking.run {
            Blocking.map(items) { i -> String in
                if i < 8 { usleep(20_000) }
                return "item \(i)"
            }
        }
        #expect(mapped == items.map { "item \($0)" })
    }

    @Test func mapOfNoneOrOneItemIsThePlainMap() {
        #expect(Blocking.map([Int]()) { $0 * 2 } == [])
        #expect(Blocking.map([21]) { $0 * 2 } == [42])
    }

    @Test func mapUsesMoreThanOneThreadWhenThereAreSeveralCPUs() async {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { return }
        let threads = await Blocking.run {
            // 64 × 20 ms: long enough for a pool thread to join even when the pool is busy with other tests'
            // blocking work (with 64 × 5 ms, a loaded machine once ran every item on the calling thread).
            Blocking.map(Array(0..<64)) { _ -> String in
                usleep(20_000)
                return "\(pthread_self())"
            }
        }
        #expect(Set(threads).count > 1)
    }
}
