import Foundation
import OttoCore
import OttoPlan

/// What happened to one resource during an apply; the CLI turns these into progress lines.
public enum ApplyEvent: Sendable {
    /// An action started.
    case started(ResourceAddress, Action)
    /// An action finished; `seconds` is how long it took.
    case finished(ResourceAddress, Action, seconds: Double)
    /// An action failed with the provider's message.
    case failed(ResourceAddress, Action, message: String)
    /// An action was not attempted because `because` failed or was skipped.
    case skipped(ResourceAddress, Action, because: ResourceAddress)
    /// An action was not started because the run was interrupted.
    case interrupted(ResourceAddress, Action)
    /// A handler (e.g. a reload) started.
    case handlerStarted(Handler)
    /// A handler finished; `failure` is its error message when it failed (it stays pending).
    case handlerFinished(Handler, failure: String?)
}

/// How one resource ended.
public enum ApplyOutcome: Sendable, Equatable {
    /// Done.
    case succeeded
    /// The provider (or state store) failed; the message says why.
    case failed(String)
    /// Not attempted because a dependency failed.
    case skipped(because: ResourceAddress)
    /// Not started because of Ctrl-C.
    case interrupted
}

/// The end of an apply: counts per action and every resource's outcome.
public struct ApplySummary: Sendable {
    /// Outcome per address of every actionable change.
    public var outcomes: [ResourceAddress: ApplyOutcome] = [:]
    /// Action per address.
    public var actions: [ResourceAddress: Action] = [:]
    /// True when the run was interrupted.
    public var interrupted = false
    /// How long the apply took.
    public var seconds: Double = 0
    /// Time spent writing state, in seconds.
    public var stateWriteSeconds: Double = 0
    /// CPU time of the state writes, in seconds (wall time above also counts waiting for a core).
    public var stateWriteCPUSeconds: Double = 0
    /// Handlers that ran and succeeded.
    public var handlersRun = 0
    /// Handlers that failed (they stay pending in state and run again next time).
    public var handlersFailed = 0
    /// Handlers not run because the apply was interrupted (they stay pending).
    public var handlersPending = 0
    /// State transactions committed (results that complete together share one).
    public var stateTransactions = 0

    /// Creates an empty summary.
    public init() {}

    /// Succeeded actions of a kind.
    public func count(_ action: Action) -> Int {
        outcomes.filter { $0.value == .succeeded && actions[$0.key] == action }.count
    }
    /// Failed actions.
    public var failed: Int { outcomes.values.filter { if case .failed = $0 { return true } else { return false } }.count }
    /// Skipped actions.
    public var skipped: Int { outcomes.values.filter { if case .skipped = $0 { return true } else { return false } }.count }
    /// Actions not started because of an interrupt.
    public var notStarted: Int { outcomes.values.filter { $0 == .interrupted }.count }
    /// True when everything succeeded.
    public var ok: Bool { failed == 0 && skipped == 0 && !interrupted && handlersFailed == 0 }

    /// `3 created, 1 updated, 0 replaced, 2 deleted, 1 failed, 2 skipped`
    public var line: String {
        var parts = ["\(count(.create)) created", "\(count(.update)) updated", "\(count(.replace)) replaced",
                     "\(count(.delete)) deleted", "\(failed) failed", "\(skipped) skipped"]
        if handlersRun + handlersFailed > 0 { parts.append("\(handlersRun) handlers run") }
        if handlersFailed > 0 { parts.append("\(handlersFailed) handlers failed") }
        if interrupted { parts.append("\(notStarted) not started (interrupted)") }
        if handlersPending > 0 { parts.append("\(handlersPending) handlers still pending") }
        return parts.joined(separator: ", ")
    }
}

/// A flag set from a signal handler: the executor starts nothing new once it is set.
public final class CancellationFlag: Sendable {
    private let storage = Mutex(false)
    /// Creates an unset flag.
    public init() {}
    /// Sets the flag.
    public func cancel() { storage.withLock { $0 = true } }
    /// True once `cancel()` was called.
    public var isCancelled: Bool { storage.withLock { $0 } }
}

import Synchronization
