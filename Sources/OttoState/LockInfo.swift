import Foundation
import OttoCore

/// Who holds the lock of one scope of the state.
public struct LockInfo: Sendable, Codable, Hashable {
    /// The lock's id (a UUID), to be given to `otto force-unlock`.
    public var id: String
    /// What it locks: a site, or the account-wide resources.
    public var scope: StateScope
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
    public init(id: String, scope: StateScope, pid: Int32, host: String, user: String, command: String, since: Date) {
        self.id = id
        self.scope = scope
        self.pid = pid
        self.host = host
        self.user = user
        self.command = command
        self.since = since
    }
}

/// A scope of the state is locked by another process; says who.
public struct StateLockedError: Error, Sendable, CustomStringConvertible {
    /// Stable error code.
    public let code = "state.locked"
    /// The current holder.
    public var holder: LockInfo
    /// True when the row names a process of this host that no longer exists, although the lock is held: another
    /// process took the lock and has not written its row yet.
    public var holderIsGone: Bool
    /// How long the caller waited for the lock (`--lock-timeout`); zero when it did not wait.
    public var waited: Duration

    /// Creates the error.
    public init(holder: LockInfo, holderIsGone: Bool, waited: Duration = .zero) {
        self.holder = holder
        self.holderIsGone = holderIsGone
        self.waited = waited
    }

    /// The same error as an `OttoError` (code `state.locked`), for callers that handle only that type.
    public var asOttoError: OttoError { OttoError(code, description, causeText: nil) }

    public var description: String {
        let since = holder.since.formatted(.iso8601)
        let what = holder.scope == .account ? "the state's account-wide resources are" : "\(holder.scope) is"
        var text = "\(what) locked by `\(holder.command)` (pid \(holder.pid) on host \(holder.host), user \(holder.user), "
            + "since \(since), lock id \(holder.id))"
        if waited > .zero {
            let seconds = Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
            text += "; waited \((seconds * 10).rounded() / 10) s for it"
        }
        if holderIsGone {
            return text + "; that process is gone, but another otto has just taken the lock: try again in a moment"
        }
        return text + "; wait for it to finish, or pass --lock-timeout DURATION to wait for it"
    }
}
