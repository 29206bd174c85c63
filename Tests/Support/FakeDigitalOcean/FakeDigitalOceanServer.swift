import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Serves a `FakeDigitalOcean` over HTTP/1.1 on a loopback port (`LoopbackHTTPServer`), in this process.
///
/// `start()` binds (port 0: the kernel picks a free one, no race) and returns once the server listens; `stop()` ends
/// it, dropping calls still hanging. Faults that lose an answer are carried out here: `drop` sends the status line and
/// headers, then closes the connection before the body; `hang` waits, then drops.
public final class FakeDigitalOceanServer: Sendable {
    /// The fake behind the server (its state, faults and counts).
    public let fake: FakeDigitalOcean
    /// The port it listens on.
    public let port: Int
    /// `http://127.0.0.1:PORT`, the provider's `endpoint`.
    public let baseURL: String
    private let server: LoopbackHTTPServer

    private init(fake: FakeDigitalOcean, server: LoopbackHTTPServer) {
        self.fake = fake
        self.port = server.port
        self.baseURL = server.baseURL
        self.server = server
    }

    /// Starts serving `fake` on `host`:`port` (0: any free port) and waits until it listens (at most 30 s).
    public static func start(_ fake: FakeDigitalOcean = FakeDigitalOcean(), host: String = "127.0.0.1", port: Int = 0,
                             logLevel: Logger.Level = .critical) async throws -> FakeDigitalOceanServer {
        let server = try await LoopbackHTTPServer.start(label: "otto-fake-do", host: host, port: port, logLevel: logLevel) { request in
            try await Self.respond(to: request, fake: fake)
        }
        return FakeDigitalOceanServer(fake: fake, server: server)
    }

    /// Stops the server (calls in flight are cut off) and waits until it is down.
    public func stop() async {
        await server.stop()
    }

    /// Blocks until the server ends (the standalone binary runs until killed).
    public func wait() async {
        await server.wait()
    }

    private static func respond(to request: Request, fake: FakeDigitalOcean) async throws -> Response {
        let answer = await fake.handle(try await FakeHTTPRequest.reading(request))
        let fields = HTTPFields(fakeHeaders: answer.headers)
        let buffer = ByteBuffer(bytes: answer.body)
        switch answer.delivery {
        case .normal:
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: buffer))
        case .drop:
            return dropped(status: answer.status, headers: fields, length: answer.body.count)
        case .hang(let seconds):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return dropped(status: answer.status, headers: fields, length: answer.body.count)
        }
    }

    /// A response whose body never comes: the status line and headers go out, then the connection is closed.
    private static func dropped(status: Int, headers: HTTPFields, length: Int) -> Response {
        Response(status: .init(code: status), headers: headers, body: ResponseBody(contentLength: max(1, length)) { _ in
            throw FakeServerError("answer dropped on purpose (fault injection)")
        })
    }
}

/// The fake server could not do what was asked.
public struct FakeServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    init(_ description: String) { self.description = description }
}
