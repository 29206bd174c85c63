import Dispatch

/// Runs blocking work (SQLite, libcurl, libssh2 calls) on a dispatch queue instead of Swift's cooperative pool,
/// so a slow syscall never starves the async tasks that share the pool.
public struct OffPool: Sendable {
    private let queue: DispatchQueue

    /// A serial queue with the given label: work runs one item at a time, in order.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    /// Runs `body` on the queue and resumes with its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            queue.async {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
        }
    }
}
