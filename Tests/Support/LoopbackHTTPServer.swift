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
    /// The port it listens on.
    public let port: Int
    /// `http://HOST:PORT`.
    public let baseURL: String
    private let task: Task<Void, any Error>

    private init(port: Int, host: String, task: Task<Void, any Error>) {
        self.port = port
        self.baseURL = "http://\(host):\(port)"
        self.task = task
    }

    /// Starts serving on `host`:`port` (0: any free port) and waits until it listens (at most 30 s). `label` names the
    /// server in its log and errors.
    public static func start(label: String, host: String = "127.0.0.1", port: Int = 0, logLevel: Logger.Level = .critical,
                             respond: @escaping @Sendable (Request) async throws -> Response) async throws -> LoopbackHTTPServer {
        let bound = AsyncStream<Int>.makeStream()
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        let responder = CallbackResponder<BasicRequestContext> { request, _ in try await respond(request) }
        let app = Application(responder: responder, configuration: .init(address: .hostname(host, port: port), serverName: nil),
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
        guard let port = first, port > 0 else {
            task.cancel()
            let reason: String
            if case .failure(let error) = await task.result { reason = String(describing: error) } else { reason = "it did not start within 30 s" }
            throw FakeServerError("\(label) could not listen on \(host):\(port): \(reason)")
        }
        return LoopbackHTTPServer(port: port, host: host, task: task)
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
