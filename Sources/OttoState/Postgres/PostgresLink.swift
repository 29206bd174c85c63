import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import OttoCore
import PostgresNIO
import Synchronization

/// One PostgreSQL connection of the state store, used by one caller at a time on a serial dispatch queue of its own (as
/// GRDB's `DatabaseQueue` does for SQLite): the blocking waits for the server's answers happen on that queue's thread,
/// never on Swift's cooperative pool nor on NIO's event loops. The connection is opened on first use and opened again
/// after it broke (a server restart, a network cut); every query has a client-side deadline, after which the connection
/// is closed, so a cut-off server cannot hang a caller.
///
/// Sendable: the connection is touched only on `queue` (inside `sync`/`async`); the `Mutex` makes that checkable.
final class PostgresLink: Sendable {
    /// Where to connect.
    let location: PostgresLocation
    /// What this connection is for (`data`, `locks`), in `application_name` and errors.
    let role: String
    /// Runtime parameters sent at start-up (`search_path`, `idle_session_timeout`, …).
    let parameters: [(String, String)]
    /// The client-side deadline of one query.
    let queryTimeout: TimeAmount
    let queue: DispatchQueue
    private let connection = Mutex<PostgresConnection?>(nil)
    /// Called on `queue` after a new connection was opened (not for the first one), with it.
    let reconnected = Mutex<(@Sendable (PostgresSession) throws -> Void)?>(nil)
    /// Connections opened so far.
    let opened = Atomic<Int>(0)

    static let logger = Logger(label: "otto.state.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(location: PostgresLocation, role: String, parameters: [(String, String)], queryTimeout: Duration) {
        self.location = location
        self.role = role
        self.parameters = parameters
        self.queryTimeout = .nanoseconds(Int64(queryTimeout.components.seconds) * 1_000_000_000
                                         + queryTimeout.components.attoseconds / 1_000_000_000)
        queue = DispatchQueue(label: "otto.state.postgres.\(role)")
    }

    deinit {
        // Not waited for (the last reference may go on any thread, an event loop's among them); the completion keeps the
        // connection alive until it is closed, as postgres-nio requires.
        if let open = connection.withLock({ $0 }) { (open.close() as EventLoopFuture<Void>).whenComplete { _ in _ = open } }
    }

    /// Runs `body` with the connection on the link's queue, blocking the caller: only from blocking code (a dispatch
    /// thread), never on the cooperative pool.
    func sync<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        try queue.sync { try body(try openSession()) }
    }

    /// Runs `body` with the connection on the link's queue; the caller is suspended meanwhile.
    func async<T: Sendable>(_ body: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(try self.openSession()) })
            }
        }
    }

    /// The open connection, opening one when there is none or it closed. On the queue only.
    func openSession() throws -> PostgresSession {
        dispatchPrecondition(condition: .onQueue(queue))
        if let open = connection.withLock({ $0 }), !open.isClosed {
            return PostgresSession(connection: open, link: self)
        }
        if let old = connection.withLock({ $0 }) { _ = try? (old.close() as EventLoopFuture<Void>).wait() }
        connection.withLock { $0 = nil }
        var config: PostgresConnection.Configuration
        if let socket = location.socketDirectory {
            config = .init(unixSocketPath: (socket as NSString).appendingPathComponent(".s.PGSQL.\(location.port)"),
                           username: location.user, password: location.password, database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer, .require:
                do {
                    let context = try NIOSSLContext(configuration: .makeClientConfiguration())
                    tls = location.tls == .require ? .require(context) : .prefer(context)
                } catch {
                    throw OttoError("state.open", "cannot set up TLS for \(location)", cause: error)
                }
            }
            config = .init(host: location.host ?? "localhost", port: location.port, username: location.user,
                           password: location.password, database: location.database, tls: tls)
        }
        config.options.connectTimeout = queryTimeout
        config.options.additionalStartupParameters = [("application_name", "otto \(role) pid \(ProcessIdentity.pid)")] + parameters
        let first = opened.add(1, ordering: .relaxed).oldValue == 0
        let open: PostgresConnection
        do {
            open = try PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.any(), configuration: config,
                                                  id: opened.load(ordering: .relaxed), logger: Self.logger).wait()
        } catch {
            throw OttoError("state.connect", "cannot connect to the state database \(location): \(Self.reason(error)); "
                            + "check that the server runs and the URL, user and password are right", causeText: nil)
        }
        connection.withLock { $0 = open }
        let session = PostgresSession(connection: open, link: self)
        if !first, let hook = reconnected.withLock({ $0 }) { try hook(session) }
        return session
    }

    /// Closes the connection now (a lost lock session, a deadline, a broken connection): the next use opens a new one.
    func drop() {
        if let open = connection.withLock({ old in defer { old = nil }; return old }) {
            (open.close() as EventLoopFuture<Void>).whenComplete { _ in _ = open }
        }
    }

    /// What the server or the network said, without the SQL or its arguments (they may hold secrets).
    static func reason(_ error: any Error) -> String {
        if let otto = error as? OttoError { return otto.message }
        guard let psql = error as? PSQLError else { return String(describing: error) }
        if let info = psql.serverInfo, let message = info[.message] {
            let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let detail = info[.detail].map { ": \($0)" } ?? ""
            return message + detail + state
        }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }

    /// The server's SQLSTATE of `error`, if it is a server error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

/// A query got no answer within the link's deadline (a server cut off, a lock waited for too long): its connection was closed.
struct PostgresDeadline: Error, CustomStringConvertible {
    let seconds: Double
    var description: String { "no answer from the server within \(seconds) s; the connection was closed" }
}

/// The connection closed while a query waited for its answer (the server restarted or ended the session).
struct PostgresConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the connection to the server closed before it answered" }
}

/// The connection of a `PostgresLink` while its queue runs one caller: blocking queries with the link's deadline.
struct PostgresSession {
    let connection: PostgresConnection
    let link: PostgresLink

    /// Runs `query` and returns its rows; a connection-level failure or the deadline closes the connection. The deadline
    /// fails the wait itself (it does not depend on the driver noticing the closed connection).
    @discardableResult
    func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        let open = connection
        let answer = open.eventLoop.makePromise(of: [PostgresRow].self)
        open.query(query, logger: PostgresLink.logger).map(\.rows).cascade(to: answer)
        let limit = link.queryTimeout
        let deadline = NIODeadline.now() + limit
        // Every 100 ms: past the deadline, or the connection closed under a query the driver did not fail (seen after a
        // server restart: the wait went on to the deadline, and every caller queued behind it), fail the wait now.
        let timer = open.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { task in
            if open.isClosed {
                answer.fail(PostgresConnectionClosed())
                task.cancel()
            } else if NIODeadline.now() >= deadline {
                answer.fail(PostgresDeadline(seconds: Double(limit.nanoseconds) / 1e9))
                (open.close() as EventLoopFuture<Void>).whenComplete { _ in _ = open }
                task.cancel()
            }
        }
        defer { timer.cancel() }
        do {
            return try answer.futureResult.wait()
        } catch {
            if (error as? PSQLError)?.code != .server { link.drop() }
            throw error
        }
    }

    /// Runs SQL text without arguments: schema statements, several separated by `;` (each is sent on its own: the
    /// extended protocol takes one statement at a time).
    func execute(_ sql: String) throws {
        for statement in Self.statements(sql) { try query(PostgresQuery(unsafeSQL: statement)) }
    }

    /// `sql` cut at each `;` that is outside quotes (`'…'`, `"…"`), dollar quotes (`$$…$$`, `$tag$…$tag$`) and
    /// comments (`--…`, `/*…*/`); empty statements are dropped.
    static func statements(_ sql: String) -> [String] {
        let text = Array(sql.unicodeScalars)
        var out: [String] = []
        var start = 0
        var i = 0
        func flush(_ end: Int) {
            let piece = String(String.UnicodeScalarView(text[start..<end])).trimmingCharacters(in: .whitespacesAndNewlines)
            if !piece.isEmpty && !piece.split(separator: "\n").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }) {
                out.append(piece)
            }
        }
        while i < text.count {
            let c = text[i]
            if c == "-", i + 1 < text.count, text[i + 1] == "-" {
                while i < text.count, text[i] != "\n" { i += 1 }
            } else if c == "/", i + 1 < text.count, text[i + 1] == "*" {
                i += 2
                while i + 1 < text.count, !(text[i] == "*" && text[i + 1] == "/") { i += 1 }
                i += 2
            } else if c == "'" || c == "\"" {
                i += 1
                while i < text.count, text[i] != c { i += 1 }
                i += 1
            } else if c == "$" {
                var j = i + 1
                while j < text.count, text[j] == "_" || text[j].properties.isAlphabetic || ("0"..."9").contains(text[j]) { j += 1 }
                if j < text.count, text[j] == "$" {
                    let tag = Array(text[i...j])
                    var k = j + 1
                    while k + tag.count <= text.count, Array(text[k..<(k + tag.count)]) != tag { k += 1 }
                    i = min(text.count, k + tag.count)
                } else {
                    i = j
                }
            } else if c == ";" {
                flush(i)
                i += 1
                start = i
            } else {
                i += 1
            }
        }
        flush(text.count)
        return out
    }

    /// Runs `body` in one transaction (`begin`, then `COMMIT`, or `ROLLBACK` when it throws) on this session, or on a
    /// new one when this one turns out broken at `begin` (a server restart since the last use: nothing ran yet, so a
    /// retry is safe). `body` gets the session the transaction runs on.
    func transaction<T>(_ begin: String = "BEGIN", _ body: (PostgresSession) throws -> T) throws -> T {
        var session = self
        do {
            try session.execute(begin)
        } catch where (error as? PSQLError)?.code != .server {
            session = try link.openSession()
            try session.execute(begin)
        }
        do {
            let result = try body(session)
            try session.execute("COMMIT")
            return result
        } catch {
            if !session.connection.isClosed { _ = try? session.execute("ROLLBACK") }
            throw error
        }
    }
}

extension PostgresLink {
    /// Runs `body` with the connection, already on the link's queue (a timer of the queue).
    func syncOnQueue<T>(_ body: (PostgresSession) throws -> T) throws -> T {
        dispatchPrecondition(condition: .onQueue(queue))
        return try body(try openSession())
    }
}
