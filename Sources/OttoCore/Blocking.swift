import Dispatch
import Foundation
import Synchronization

/// Runs blocking work (disk, SQLite, YAML parsing, waiting for a child process) on a dispatch thread, never on Swift's
/// cooperative pool, and resumes the caller with its result. The one way otto leaves the pool for such work.
public enum Blocking {
    private static let queue = DispatchQueue(label: "otto.blocking", qos: .userInitiated, attributes: .concurrent)

    /// Runs `body` on a dispatch thread and returns what it returns or throws. Not cancellable: once started, the work
    /// finishes (a state write is never abandoned half-way).
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// `run` for work that cannot fail.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }

    /// `items.map(transform)` with the items spread over every CPU; the results come back in the items' order. The
    /// calling thread works through the items too and returns once all are done: call it from blocking work (inside
    /// `run`), never on the cooperative pool. For CPU-bound, independent items such as parsing files.
    ///
    /// The helpers run on ``run``'s queue (user-initiated), not through `DispatchQueue.concurrentPerform`: on Linux its
    /// helpers run on the default-QoS root queue, which is the queue Swift's cooperative pool runs on, so a long map
    /// took the pool's threads from every task meanwhile (seen in stack dumps of the parallel test run). A helper that
    /// starts late finds nothing left and returns; the caller never waits for one that has not started.
    public static func map<Element: Sendable, T: Sendable>(_ items: [Element], _ transform: @escaping @Sendable (Element) -> T) -> [T] {
        guard items.count > 1 else { return items.map(transform) }
        let job = MapJob(items, transform)
        for _ in 1..<min(items.count, ProcessInfo.processInfo.activeProcessorCount) { queue.async { job.work() } }
        job.work()
        job.finished.wait()
        return job.results()
    }

    /// One `map`: its items, the next index to take, how many are done, and the results, each slot written once.
    private final class MapJob<Element: Sendable, T: Sendable>: @unchecked Sendable {
        let items: [Element]
        let transform: @Sendable (Element) -> T
        let buffer: UnsafeMutableBufferPointer<T?>
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        /// Signalled once, by whoever finishes the last item.
        let finished = DispatchSemaphore(value: 0)

        init(_ items: [Element], _ transform: @escaping @Sendable (Element) -> T) {
            self.items = items
            self.transform = transform
            buffer = .allocate(capacity: items.count)
            buffer.initialize(repeating: nil)
        }

        deinit {
            _ = buffer.deinitialize()
            buffer.deallocate()
        }

        /// Takes items until none is left.
        func work() {
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < items.count else { return }
                buffer[i] = transform(items[i])
                if done.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == items.count { finished.signal() }
            }
        }

        /// The results in the items' order (after `finished`).
        func results() -> [T] { buffer.map { $0! } }
    }
}
