import Dispatch

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

    /// `items.map(transform)` with the items spread over every CPU (`DispatchQueue.concurrentPerform`); the results
    /// come back in the items' order. It blocks the calling thread until all are done: call it from blocking work
    /// (inside `run`), never on the cooperative pool. For CPU-bound, independent items such as parsing files.
    public static func map<Element: Sendable, T: Sendable>(_ items: [Element], _ transform: @Sendable (Element) -> T) -> [T] {
        guard items.count > 1 else { return items.map(transform) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: items.count)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        let slots = Slots(results)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in
            slots.buffer[i] = transform(items[i])  // each index is written by one iteration only
        }
        return results.map { $0! }
    }

    /// The result slots of `map`, shared by its iterations (each writes only its own index).
    private struct Slots<T>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<T?>
        init(_ buffer: UnsafeMutableBufferPointer<T?>) { self.buffer = buffer }
    }
}
