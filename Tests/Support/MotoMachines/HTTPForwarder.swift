import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends one HTTP/1.1 request as it is to a server on a fixed host and port, and brings back the whole answer,
/// whatever its status (a proxy passes 4xx and 5xx on): one connection per request (`Connection: close`), on NIO's
/// shared event loops.
struct HTTPForwarder: Sendable {
    /// One answer.
    struct Answer: Sendable {
        var status: Int
        /// The header fields, in order, as the server sent them.
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    /// The server's host (an address) and port.
    var host: String
    var port: Int
    /// The longest a request may take, connection included.
    var timeout: Duration = .seconds(120)

    /// The forwarder for `endpoint` (`http://127.0.0.1:PORT`).
    init(endpoint: String) throws {
        guard let url = URL(string: endpoint), url.scheme == "http", let host = url.host, let port = url.port else {
            throw FakeServerError("\(endpoint) is not an http://HOST:PORT endpoint")
        }
        self.host = host
        self.port = port
    }

    /// Sends `method` `uri` (path and query) with `headers` and `body`. Hop-by-hop fields (`Connection`,
    /// `Keep-Alive`, `Transfer-Encoding`, `Content-Length`) are replaced by this request's own.
    func send(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8]) async throws -> Answer {
        try await withThrowingTaskGroup(of: Answer?.self) { group in
            group.addTask { try await exchange(method: method, uri: uri, headers: headers, body: body) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let answer = try await group.next() ?? nil else {
                throw FakeServerError("\(method) \(uri) to \(host):\(port) got no answer within \(timeout)")
            }
            return answer
        }
    }

    private static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"]

    private func exchange(method: String, uri: String, headers: [(name: String, value: String)], body: [UInt8]) async throws -> Answer {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var fields = HTTPHeaders()
            for (name, value) in headers where !Self.hopByHop.contains(name.lowercased()) { fields.add(name: name, value: value) }
            fields.add(name: "Content-Length", value: String(body.count))
            fields.add(name: "Connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: NIOHTTP1.HTTPMethod(rawValue: method), uri: uri, headers: fields)
            try await outbound.write(.head(head))
            if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
            try await outbound.write(.end(nil))
            var status = 0
            var answerHeaders: [(name: String, value: String)] = []
            var data: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    answerHeaders = response.headers.map { ($0.name, $0.value) }
                case .body(let buffer):
                    data += buffer.readableBytesView
                case .end:
                    return Answer(status: status, headers: answerHeaders, body: data)
                }
            }
            throw FakeServerError("\(host):\(port) closed the connection before the end of its answer to \(method) \(uri)")
        }
    }
}
