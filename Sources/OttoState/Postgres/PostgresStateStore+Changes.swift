import Dispatch
import Foundation
import OttoCore
import PostgresNIO
import Synchronization

/// What another process changed in a project's shared state: the payload of the project's `NOTIFY`.
public enum StateChange: String, Sendable {
    /// Desired-state items written over the API.
    case items
    /// Walkers made or removed over the API.
    case walkers
    /// Anything may have changed: the listener (re)connected, and notifications sent meanwhile were lost.
    case resync
}

extension PostgresStateStore {
    /// The project's notification channel: its schema's name (`otto_NAME`).
    var changeChannel: String { location.schema }

    /// Tells every listener of the project about `change` when the transaction of `session` commits (PostgreSQL
    /// delivers a notification only then, and not at all when it rolls back).
    func notify(_ session: PostgresSession, _ change: StateChange) throws {
        try session.query("SELECT pg_notify(\(changeChannel), \(change.rawValue))")
    }

    /// Starts listening for the project's changes on a connection of its own; `handler` is told each one (on an event
    /// loop: keep it short), and `.resync` after every reconnection. Stop it with `PostgresChangeListener.stop()`.
    public func listenForChanges(checkEvery interval: Duration = .seconds(1),
                                 _ handler: @escaping @Sendable (StateChange) -> Void) -> PostgresChangeListener {
        PostgresChangeListener(location: location, channel: changeChannel, interval: interval, handler: handler)
    }
}

/// `LISTEN` on one dedicated connection (postgres-nio delivers notifications only on a single `PostgresConnection`, never
/// through a pool). A timer on the connection's queue checks it every `interval` with a trivial query: a connection that
/// broke (a server restart, a cut network: the query's deadline) is opened again, listens again, and the handler is told
/// `.resync`, since notifications sent meanwhile are lost.
public final class PostgresChangeListener: Sendable {
    let link: PostgresLink
    let channel: String
    let handler: @Sendable (StateChange) -> Void
    /// The connection that listens now (its number in `link.opened`: an object's address may be reused by the next
    /// connection), nil before the first.
    private let listening = Mutex<Int?>(nil)
    /// Connections that listened so far.
    let listens = Atomic<Int>(0)
    /// `nonisolated(unsafe)`: a dispatch source may be used from any thread.
    nonisolated(unsafe) private let timer: any DispatchSourceTimer

    init(location: PostgresLocation, channel: String, interval: Duration, handler: @escaping @Sendable (StateChange) -> Void) {
        self.channel = channel
        self.handler = handler
        link = PostgresLink(location: location, role: "listen", parameters: [], queryTimeout: max(interval * 2, .seconds(2)))
        timer = DispatchSource.makeTimerSource(queue: link.queue)
        let milliseconds = Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
        timer.schedule(deadline: .now(), repeating: .milliseconds(max(10, milliseconds)), leeway: .milliseconds(10))
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
    }

    deinit {
        timer.cancel()
    }

    /// Stops listening and closes the connection.
    public func stop() {
        timer.cancel()
        link.queue.async { [link] in link.drop() }
    }

    /// Times the listener started listening on a new connection (1 after the first connection).
    public var connections: Int { listens.load(ordering: .relaxed) }

    /// On the link's queue: listens on the current connection, or checks that it still answers.
    private func check() {
        do {
            let session = try link.syncOnQueue { $0 }
            let id = link.opened.load(ordering: .relaxed)
            if listening.withLock({ $0 }) == id {
                try session.query("SELECT 1")
                return
            }
            let handler = self.handler
            session.connection.addListener(channel: channel) { _, notification in
                handler(StateChange(rawValue: notification.payload) ?? .resync)
            }
            let quoted = "\"" + channel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            try session.query(PostgresQuery(unsafeSQL: "LISTEN \(quoted)"))
            listening.withLock { $0 = id }
            if listens.add(1, ordering: .relaxed).oldValue > 0 { handler(.resync) }
        } catch {
            // The server is away or the connection broke: the next check opens a new one.
            link.drop()
        }
    }
}
