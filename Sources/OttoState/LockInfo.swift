import Foundation
import OttoCore

/// Who holds the state lock.
public struct LockInfo: Sendable, Codable, Hashable {
    /// The lock's id (a UUID), to be given to `otto force-unlock`.
    public var id: String
    /// Process id of the holder.
    public var pid: Int32
    /// Host name of the holder.
    public var host: String
    /// User name of the holder.
    public var user: String
    /// The command that holds it, e.g. `otto apply`.
    public var command: String
    /// When it was taken.
    public var since: Date

    /// Creates a lock description.
    public init(id: String, pid: Int32, host: String, user: String, command: String, since: Date) {
        self.id = id
        self.pid = pid
        self.host = host
        self.user = user
        self.command = command
        self.since = since
    }
}

/// The state is locked by someone else; says who, and how to break a stale lock.
public struct StateLockedError: Error, Sendable, CustomStringConvertible {
    /// Stable error code.
    public let code = "state.locked"
    /// The current holder.
    public var holder: LockInfo
    /// True when the holder is on this host and its process no longer exists.
    public var holderIsGone: Bool

    /// Creates the error.
    public init(holder: LockInfo, holderIsGone: Bool) {
        self.holder = holder
        self.holderIsGone = holderIsGone
    }

    /// The same error as an `OttoError` (code `state.locked`), for callers that handle only that type.
    public var asOttoError: OttoError { OttoError(code, description, causeText: nil) }

    public var description: String {
        let since = holder.since.formatted(.iso8601)
        let who = "state is locked by `\(holder.command)` (pid \(holder.pid) on host \(holder.host), user \(holder.user), "
            + "since \(since), lock id \(holder.id))"
        if holderIsGone {
            return who + "; that process is no longer running, so the lock is stale: run `otto force-unlock \(holder.id)`"
        }
        return who + "; if that process is gone, run `otto force-unlock \(holder.id)`"
    }
}
