import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// An HTTP/1.1 server on a loopback port with Hummingbird, in this process, answering every request with one
/// callback: what the in-process stand-ins (the fake DigitalOcean, the moto proxy) serve with.
///
/// `start` binds (port 0: the kernel picks a free one, no race) and returns once the server listens; `stop()` ends
/// it, dropping calls still hanging.
public final class LoopbackHTTPServer: Sendable {
    /// The port it listens on (0 on a unix socket).
    public let port: Int
    /// `http://HOST:PORT`, or `unix://PATH` on a unix socket.
    public let baseURL: String
    private let task: Task<Void, any Error>

    private init(port: Int, baseURL: String, task: Task<Void, any Error>) {
        self.port = port
        self.baseURL = baseURL
        self.task = task
    }

    /// Starts serving on `host`:`port` (0: any free port) and waits until it listens (at most 30 s). `label` names the
    /// server in its log and errors.
    public static func start(label: String, host: String = "127.0.0.1", port: Int = 0, logLevel: Logger.Level = .critical,
                             respond: @escaping @Sendable (Request) async throws -> Response) async throws -> LoopbackHTTPServer {
        let (bound, task) = try await launch(label: label, address: .hostname(host, port: port), logLevel: logLevel,
                                             respond: respond)
        guard let bound, bound > 0 else {
            let reason = await failure(of: task)
            throw FakeServerError("\(label) could not listen on \(host):\(port): \(reason)")
        }
        return LoopbackHTTPServer(port: bound, baseURL: "http://\(host):\(bound)", task: task)
    }

    /// Starts serving on the unix socket at `path` (an existing file there is removed first) and waits until it
    /// listens (at most 30 s). `port` is 0 and `baseURL` is `unix://PATH`; clients talk HTTP over the socket
    /// (`curl --unix-socket PATH http://localhost/...`).
    public static func start(label: String, unixSocket path: String, logLevel: Logger.Level = .critical,
                             respond: @escaping @Sendable (Request) async throws -> Response) async throws -> LoopbackHTTPServer {
        try? FileManager.default.removeItem(atPath: path)
        let (bound, task) = try await launch(label: label, address: .unixDomainSocket(path: path), logLevel: logLevel,
                                             respond: respond)
        guard bound != nil else {
            let reason = await failure(of: task)
            throw FakeServerError("\(label) could not listen on the unix socket \(path): \(reason)")
        }
        return LoopbackHTTPServer(port: 0, baseURL: "unix://" + path, task: task)
    }

    /// Runs the application at `address`; returns the bound port (-1 for a unix socket) once it listens, or nil when
    /// it did not within 30 s, and the task running it.
    private static func launch(label: String, address: BindAddress, logLevel: Logger.Level,
                               respond: @escaping @Sendable (Request) async throws -> Response) async throws -> (Int?, Task<Void, any Error>) {
        let bound = AsyncStream<Int>.makeStream()
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        let responder = CallbackResponder<BasicRequestContext> { request, _ in try await respond(request) }
        let app = Application(responder: responder, configuration: .init(address: address, serverName: nil),
                              onServerRunning: { channel in
                                  bound.continuation.yield(channel.localAddress?.port ?? -1)
                                  bound.continuation.finish()
                              }, logger: logger)
        let task = Task {
            defer { bound.continuation.finish() }
            try await app.run()
        }
        let first = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await value in bound.stream { return value }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            let value = try await group.next() ?? nil
            group.cancelAll()
            return value
        }
        if first == nil { task.cancel() }
        return (first, task)
    }

    /// Why a server task ended (or that it did not start in time).
    private static func failure(of task: Task<Void, any Error>) async -> String {
        task.cancel()
        if case .failure(let error) = await task.result { return String(describing: error) }
        return "it did not start within 30 s"
    }

    /// Stops the server (calls in flight are cut off) and waits until it is down.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Blocks until the server ends (a standalone binary runs until killed).
    public func wait() async {
        _ = await task.result
    }
}
