import Foundation

/// Many HTTP transfers at once on libcurl's multi interface, driven by one dedicated thread.
///
/// Every `perform` (or `start`) hands its request to the driver thread (never Swift's cooperative pool), which runs
/// all transfers of this instance on one multi handle with `curl_multi_perform` / `curl_multi_poll`, and resumes each
/// caller's continuation (or calls its completion) when its transfer ends. The multi handle's connection cache keeps connections alive between
/// transfers (HTTP/1.1 keep-alive, no pipelining), so sequential requests to one host reuse a connection; libcurl
/// enforces `Configuration.maxHostConnections` per host and `maxTotalConnections` in all, queueing the rest.
/// DNS results are cached per instance, and `Configuration.resolve` pins host names to addresses.
///
/// Cancelling the task that awaits `perform` removes its transfer at once (`Failure.Kind.cancelled`). Releasing the
/// last reference (or `shutdown()`) stops the thread, fails transfers still running as cancelled and frees every
/// libcurl handle.
public final class CurlMulti: Sendable {
    /// The settings every transfer uses.
    public let configuration: Configuration
    private let engine: CurlMultiEngine

    /// Creates the multi handle and starts its driver thread.
    ///
    /// - Throws: `CurlMulti.Failure` (`.transport`) when libcurl cannot create a multi handle (out of memory).
    public init(configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        engine = try CurlMultiEngine(configuration: configuration)
        engine.start()
    }

    deinit {
        engine.stop()
    }

    /// Runs one transfer and returns its response (of any status) or why there was none.
    ///
    /// Safe to call from many tasks at once; the transfers run concurrently, within the connection limits.
    public func perform(_ request: Request) async -> Result<Response, Failure> {
        let engine = self.engine
        let id = engine.register()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                engine.submit(id: id, request: request) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            engine.cancel(id: id)
        }
    }

    /// Starts one transfer and returns at once; `completion` gets its response or failure, called on the driver
    /// thread (keep it short: every other transfer waits meanwhile). No task per transfer: for callers that run
    /// many transfers and collect their results in one place (an `AsyncStream`).
    @discardableResult
    public func start(_ request: Request, completion: @escaping @Sendable (Result<Response, Failure>) -> Void) -> TransferID {
        let id = engine.register()
        engine.submit(id: id, request: request, completion: completion)
        return TransferID(value: id)
    }

    /// Cancels a transfer begun with `start`: its completion gets `.cancelled` (unless it already ended).
    public func cancel(_ id: TransferID) {
        engine.cancel(id: id.value)
    }

    /// Transfers finished and connections opened so far.
    public var statistics: Statistics { engine.statistics }

    /// Stops the driver thread: transfers still running end as `.cancelled`, later ones fail at once.
    /// Also done when the instance is released.
    public func shutdown() {
        engine.stop()
    }
}
