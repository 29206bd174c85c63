import Foundation
import NIOCore
import NIOPosix
import OttoCore

/// What a load run does: which URL, how fast, over how many connections, for how long.
public struct LoadOptions: Sendable {
    /// `http://HOST[:PORT]/PATH[?QUERY]` (plain HTTP/1.1; HOST an address or a name resolved once at the start).
    public var url: String
    /// Requests per second, issued at fixed intervals whatever the answers do (open loop).
    public var rate: Double
    /// Keep-alive connections the requests share (one request at a time on each: HTTP/1.1 without pipelining).
    public var connections: Int
    /// How long requests are issued; nil: until `stop()`.
    public var duration: Duration?
    /// The longest a request may take from being sent (connecting included) to the end of its answer; a request
    /// waiting this long for a free connection is given up as unsent.
    public var timeout: Duration
    /// Called with each second of the timeline once it is over (on the generator's thread: return quickly).
    public var onSecond: (@Sendable (LoadWindow) -> Void)?
    /// Keep every answer's end and latency in the report (`LoadReport.answers`), for analyses finer than a second.
    public var keepAnswers: Bool

    /// Creates options; see the properties.
    public init(url: String, rate: Double = 500, connections: Int = 16, duration: Duration? = nil, timeout: Duration = .seconds(10),
                onSecond: (@Sendable (LoadWindow) -> Void)? = nil, keepAnswers: Bool = false) {
        self.url = url
        self.rate = rate
        self.connections = connections
        self.duration = duration
        self.timeout = timeout
        self.onSecond = onSecond
        self.keepAnswers = keepAnswers
    }
}

/// An open-loop HTTP load generator: requests at a fixed rate over keep-alive connections, counting 2xx, other
/// statuses and connection errors by kind, latency percentiles overall and per second, and which `X-App-Version`
/// answered when (see `LoadReport`).
///
/// It runs on an event loop thread of its own (SwiftNIO), never on the cooperative pool. Start it, let it run for
/// its duration or `stop()` it, then `finished()` returns the report:
/// ```swift
/// let load = try await LoadGenerator.start(LoadOptions(url: "http://127.0.0.1:8080/version", rate: 200))
/// try await Task.sleep(for: .seconds(3))
/// let report = await load.stopAndReport()
/// ```
public final class LoadGenerator: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let engine: LoadEngine

    private init(group: MultiThreadedEventLoopGroup, engine: LoadEngine) {
        self.group = group
        self.engine = engine
    }

    /// Validates `options`, resolves the host (on the generator's own thread) and starts issuing requests.
    public static func start(_ options: LoadOptions) async throws -> LoadGenerator {
        let target = try LoadTarget(url: options.url)
        guard options.rate > 0, options.rate.isFinite else {
            throw OttoError("loadgen.options", "the rate must be a positive number of requests per second, not \(options.rate)")
        }
        guard options.connections > 0 else {
            throw OttoError("loadgen.options", "at least one connection is needed, not \(options.connections)")
        }
        guard options.timeout > .zero else { throw OttoError("loadgen.options", "the request timeout must be positive") }
        if let duration = options.duration, duration <= .zero {
            throw OttoError("loadgen.options", "the duration must be positive")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        do {
            let address = try await loop.submit { try target.socketAddress() }.get()
            let engine = LoadEngine(options: options, target: target, address: address, loop: loop)
            try await loop.submit { engine.begin() }.get()
            return LoadGenerator(group: group, engine: engine)
        } catch {
            try? await group.shutdownGracefully()
            throw OttoError("loadgen.resolve", "cannot resolve \(target.host) of \(options.url)", cause: error)
        }
    }

    /// Stops issuing requests (from any thread); requests already due still get their answer or time out.
    public func stop() {
        engine.loop.execute { [engine] in engine.finishScheduling() }
    }

    /// Waits until the run has ended (its duration passed or `stop()` was called, and every request due has an
    /// outcome), releases its thread and returns the report.
    public func finished() async -> LoadReport {
        let report: LoadReport
        do {
            report = try await engine.done.futureResult.get()
        } catch {
            preconditionFailure("the load engine's promise is only ever succeeded: \(error)")
        }
        try? await group.shutdownGracefully()
        return report
    }

    /// `stop()`, then `finished()`.
    public func stopAndReport() async -> LoadReport {
        stop()
        return await finished()
    }

    /// The report so far, while the run goes on (requests in flight are not in it yet); throws once the run has
    /// ended and its thread is gone (use `finished()`'s report).
    public func snapshot() async throws -> LoadReport {
        try await engine.loop.submit { [engine] in engine.report() }.get()
    }
}

/// Host, port, path and Host header of the URL a run requests.
struct LoadTarget: Sendable {
    var host: String
    var port: Int
    var requestURI: String
    var hostHeader: String

    init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "http",
              let host = components.host, !host.isEmpty else {
            throw OttoError("loadgen.url", "\(url) is not an http:// URL with a host (https is not supported)")
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? 80
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        requestURI = components.percentEncodedQuery.map { path + "?" + $0 } ?? path
        hostHeader = components.port.map { "\(host):\($0)" } ?? host
    }

    /// The address to connect to: the host itself when it is an IP address, else its first resolved address
    /// (getaddrinfo blocks: call this on the generator's event loop thread).
    func socketAddress() throws -> SocketAddress {
        if let address = try? SocketAddress(ipAddress: host, port: port) { return address }
        return try SocketAddress.makeAddressResolvingHost(host, port: port)
    }
}
