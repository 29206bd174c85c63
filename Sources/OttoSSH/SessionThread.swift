import Foundation
import Synchronization

/// The dedicated thread of one SSH session: every libssh2 call of that session runs here, one at a time, so the
/// session is never touched by two threads and never blocks Swift's cooperative pool. Jobs are queued from any
/// thread; while idle the thread sends keepalives.
final class SessionThread: @unchecked Sendable {  // `connection` is touched only on the thread; the queue is behind `condition`
    private let condition = NSCondition()
    private var jobs: [@Sendable (SessionThread) -> Void] = []
    private var stopping = false
    private let openFlag = Atomic<Bool>(false)
    /// How long the thread may sit idle before it sends a keepalive.
    private let idleInterval: TimeInterval

    /// The connection, once `connect` succeeded; thread-confined.
    var connection: Connection?

    init(name: String, idleInterval: TimeInterval = Connection.keepaliveSeconds) {
        self.idleInterval = idleInterval
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Whether the connection is up (set on the thread, read anywhere).
    var isOpen: Bool {
        get { openFlag.load(ordering: .acquiring) }
        set { openFlag.store(newValue, ordering: .releasing) }
    }

    /// Runs `body` on the thread and returns its result; fails with `closedError` once the thread stopped.
    func perform<T: Sendable>(closedError: SSHError, _ body: @escaping @Sendable (SessionThread) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = enqueue { thread in continuation.resume(with: Result { try body(thread) }) }
            if !accepted { continuation.resume(throwing: closedError) }
        }
    }

    /// Queues `job`; false when the thread has stopped.
    @discardableResult
    func enqueue(_ job: @escaping @Sendable (SessionThread) -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Asks the thread to end after the jobs queued so far (it drops the connection first). Call on the thread.
    func stopAfterQueue() {
        condition.lock()
        stopping = true
        condition.unlock()
    }

    /// Queues a stop: the connection is shut down on the thread, then the thread ends.
    func shutdown() {
        enqueue { thread in
            thread.connection?.disconnect()
            thread.connection = nil
            thread.isOpen = false
            thread.stopAfterQueue()
        }
    }

    private func run() {
        while true {
            condition.lock()
            var timedOut = false
            while jobs.isEmpty && !stopping && !timedOut {
                timedOut = !condition.wait(until: Date(timeIntervalSinceNow: idleInterval))
            }
            if jobs.isEmpty {
                let done = stopping
                condition.unlock()
                if done { break }
                connection?.keepaliveIfDue()
                continue
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(self)
        }
        connection?.disconnect()
        connection = nil
        isOpen = false
    }
}
