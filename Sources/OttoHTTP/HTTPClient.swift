import Foundation
import Synchronization

/// Settings of an `HTTPClient`.
public struct HTTPClientConfiguration: Sendable, Hashable {
    /// Longest wait for a connection to be established.
    public var connectTimeout: Duration
    /// Longest time one attempt may take in all (a request's own `timeout` overrides it).
    public var timeout: Duration
    /// Retry policy.
    public var retry: RetryPolicy
    /// Most transfers at once (one dedicated thread and one pooled easy handle each).
    public var maxConcurrentTransfers: Int

    /// Creates settings (defaults: 5 s connect, 30 s total, default retries, 8 transfers at once).
    public init(connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(30), retry: RetryPolicy = RetryPolicy(),
                maxConcurrentTransfers: Int = 8) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.retry = retry
        self.maxConcurrentTransfers = max(1, maxConcurrentTransfers)
    }
}

/// An HTTP client on libcurl's easy interface.
///
/// Connection reuse: a pool of curl easy handles, handed out most-recently-used first; each handle keeps its
/// connections alive between transfers (keep-alive), so sequential requests to one server share one connection.
/// Blocking `curl_easy_perform` runs on `maxConcurrentTransfers` dedicated threads, never on Swift's cooperative
/// pool; callers await it through a continuation. Failed attempts are retried per `RetryPolicy`.
public final class HTTPClient: Sendable {
    /// The settings this client uses.
    public let configuration: HTTPClientConfiguration
    private let threads: BlockingThreadPool
    private let handles = CurlEasyPool()
    private let counts = Mutex<[String: Int]>([:])

    /// HTTP exchanges sent so far (every attempt, retries included), by request label; unlabelled ones under "".
    public var requestCounts: [String: Int] { counts.withLock { $0 } }

    /// Creates a client and starts its transfer threads.
    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        _ = curlGlobalInit
        self.configuration = configuration
        self.threads = BlockingThreadPool(threads: configuration.maxConcurrentTransfers, name: "otto-http")
    }

    deinit {
        threads.shutdown()
    }

    /// Sends `request`, retrying per the policy, and returns a response with a status below 400.
    ///
    /// - Throws: `HTTPError` (`http.status` with the server's message for a 4xx/5xx that was not or no longer
    ///   retried; `http.timeout`, `http.connect`, `http.transport`, `http.request` when there was no response),
    ///   or `CancellationError` when the task is cancelled while waiting to retry.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let policy = request.retry ?? configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            let delay: Duration
            if let limiter = request.limiter { try await limiter.acquire() }
            counts.withLock { $0[request.label ?? "", default: 0] += 1 }
            let outgoing = request.signer.map { $0.sign(request, at: Date()) } ?? request
            switch await transfer(outgoing) {
            case .success(let response):
                if response.status < 400 { return response }
                guard attempt < policy.maxAttempts, policy.shouldRetry(status: response.status, idempotent: request.idempotent) else {
                    throw HTTPError(code: "http.status", status: response.status, method: request.method.rawValue, url: request.url,
                                    message: HTTPError.serverMessage(from: response.body), attempts: attempt)
                }
                if let asked = policy.retryAfter(response.header("retry-after")) {
                    // The server throttles the whole account: hold every request of the bucket, not just this one.
                    if response.status == 429, let limiter = request.limiter { await limiter.pause(for: asked) }
                    delay = asked
                } else {
                    delay = policy.backoff(retry: attempt - 1)
                }
            case .failure(let failure):
                guard attempt < policy.maxAttempts, failure.retryable, request.idempotent else {
                    throw HTTPError(code: failure.code, method: request.method.rawValue, url: request.url,
                                    message: failure.message, attempts: attempt)
                }
                delay = policy.backoff(retry: attempt - 1)
            }
            try await Task.sleep(for: delay)
        }
    }

    /// One attempt, run on a transfer thread.
    private func transfer(_ request: HTTPRequest) async -> Result<HTTPResponse, TransportFailure> {
        let connectTimeout = configuration.connectTimeout
        let timeout = request.timeout ?? configuration.timeout
        let handles = self.handles
        return await withCheckedContinuation { continuation in
            threads.submit {
                guard let easy = handles.checkOut() else {
                    continuation.resume(returning: .failure(TransportFailure(code: "http.request", message: "libcurl could not create a handle", retryable: false)))
                    return
                }
                let result = easy.perform(request, connectTimeout: connectTimeout, timeout: timeout)
                handles.checkIn(easy)
                continuation.resume(returning: result)
            }
        }
    }
}
