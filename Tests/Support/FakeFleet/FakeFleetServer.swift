import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Serves a `FakeFleet` over HTTP/1.1 in this process (`LoopbackHTTPServer`): on a loopback port, or on a unix socket
/// the way fleetd listened on `/var/run/fleet.sock`. Several servers may serve one fake.
public final class FakeFleetServer: Sendable {
    /// The fake behind the server.
    public let fake: FakeFleet
    /// `http://127.0.0.1:PORT` (the provider's `endpoint`), or `unix://PATH` for a unix socket.
    public let baseURL: String
    /// The unix socket's path, when it listens on one.
    public let socketPath: String?
    private let server: LoopbackHTTPServer

    private init(fake: FakeFleet, server: LoopbackHTTPServer, socketPath: String?) {
        self.fake = fake
        self.baseURL = server.baseURL
        self.socketPath = socketPath
        self.server = server
    }

    /// Starts serving `fake` on `host`:`port` (0: any free port) and waits until it listens.
    public static func start(_ fake: FakeFleet, host: String = "127.0.0.1", port: Int = 0,
                             logLevel: Logger.Level = .critical) async throws -> FakeFleetServer {
        let server = try await LoopbackHTTPServer.start(label: "otto-fake-fleet", host: host, port: port, logLevel: logLevel) { request in
            try await Self.respond(to: request, fake: fake)
        }
        return FakeFleetServer(fake: fake, server: server, socketPath: nil)
    }

    /// Starts serving `fake` on the unix socket `path` (made world-writable, as fleetd's was for its group) and waits
    /// until it listens.
    public static func start(_ fake: FakeFleet, unixSocket path: String, logLevel: Logger.Level = .critical) async throws -> FakeFleetServer {
        let server = try await LoopbackHTTPServer.start(label: "otto-fake-fleet", unixSocket: path, logLevel: logLevel) { request in
            try await Self.respond(to: request, fake: fake)
        }
        chmod(path, 0o666)
        return FakeFleetServer(fake: fake, server: server, socketPath: path)
    }

    /// Stops the server and waits until it is down (a unix socket file is removed).
    public func stop() async {
        await server.stop()
        if let socketPath { try? FileManager.default.removeItem(atPath: socketPath) }
    }

    private static func respond(to request: Request, fake: FakeFleet) async throws -> Response {
        let answer = await fake.handle(try await FakeHTTPRequest.reading(request))
        var fields = HTTPFields(fakeHeaders: answer.headers)
        fields[.server] = "fleetd/otto-fake"
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
