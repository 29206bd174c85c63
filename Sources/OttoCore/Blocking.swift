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
}
