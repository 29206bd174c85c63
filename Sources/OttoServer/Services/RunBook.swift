import Foundation
import OttoCore
import OttoEngine
import Synchronization

/// Keeps the runs of a server in memory (the last `capacity`), for `RunService` implementations: `start` hands the
/// work a ``RunRecorder`` and returns the run at once; the work goes on in a task; `run(id:)` shows it.
/// `waitForRunning()` lets a graceful shutdown wait for applies in flight.
public final class RunBook: Sendable {
    private struct Book {
        var runs: [String: RunInfo] = [:]
        var order: [String] = []
        var next = 1
        var tasks: [String: Task<Void, Never>] = [:]
    }
    private let book = Mutex(Book())
    /// How many finished runs are kept.
    public let capacity: Int

    /// Creates an empty book.
    public init(capacity: Int = 200) { self.capacity = capacity }

    /// Starts `work` as a new run of `kind` and returns it (state `running`). The run ends `succeeded` / `failed` /
    /// `interrupted` by the outcome `work` returns, or `failed` with the error it throws.
    public func start(kind: String, id: String? = nil,
                      _ work: @escaping @Sendable (RunRecorder) async throws -> RunOutcome) -> RunInfo {
        let info = book.withLock { b -> RunInfo in
            let runID = id ?? String(b.next)
            b.next += 1
            let info = RunInfo(id: runID, kind: kind)
            b.runs[runID] = info
            b.order.append(runID)
            while b.order.count > capacity, let oldest = b.order.first(where: { b.runs[$0]?.state != .running }) {
                b.order.removeAll { $0 == oldest }
                b.runs[oldest] = nil
            }
            return info
        }
        let recorder = RunRecorder(book: self, id: info.id)
        let task = Task {
            do {
                let outcome = try await work(recorder)
                self.finish(info.id) { run in
                    run.outcome = outcome
                    run.state = outcome.ok ? .succeeded : (outcome.interrupted ? .interrupted : .failed)
                }
            } catch {
                let failure = (error as? OttoError) ?? OttoError("run.failed", "\(error)")
                self.finish(info.id) { run in
                    run.error = failure
                    run.state = .failed
                }
            }
        }
        book.withLock { $0.tasks[info.id] = task }
        return info
    }

    private func finish(_ id: String, _ change: (inout RunInfo) -> Void) {
        book.withLock { b in
            guard var run = b.runs[id] else { return }
            change(&run)
            run.finishedAt = Date()
            b.runs[id] = run
            b.tasks[id] = nil
        }
    }

    /// Adds an event to a running run; `event` makes it from its sequence number.
    func record(_ id: String, _ event: (_ seq: Int) -> RunEvent) {
        book.withLock { b in
            guard var run = b.runs[id] else { return }
            run.events.append(event(run.events.count + 1))
            b.runs[id] = run
        }
    }

    /// The run `id`, if known.
    public func run(id: String) -> RunInfo? { book.withLock { $0.runs[id] } }

    /// Every known run, newest first.
    public var runs: [RunInfo] { book.withLock { b in b.order.reversed().compactMap { b.runs[$0] } } }

    /// Waits until every run in flight has ended.
    public func waitForRunning() async {
        let tasks = book.withLock { Array($0.tasks.values) }
        for task in tasks { await task.value }
    }
}

/// What a run's work reports through: executor events (pass ``handle(_:)`` as the executor's `onEvent`) and messages.
public struct RunRecorder: Sendable {
    let book: RunBook
    /// The run's id.
    public let id: String

    /// Records an executor event.
    public func handle(_ event: ApplyEvent) {
        book.record(id) { seq in RunEvent(event, seq: seq) }
    }

    /// Records a free-form message (`type` e.g. `planned`, `message`).
    public func note(_ message: String, type: String = "message") {
        book.record(id) { seq in RunEvent(seq: seq, at: Date(), type: type, message: message) }
    }
}
