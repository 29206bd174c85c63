import Foundation

/// When and how long to wait before trying a request again.
///
/// 429 and 503 are always retried (the server did not process the request), honouring `Retry-After`;
/// other 5xx, timeouts and connection failures only for idempotent requests; other 4xx never.
/// Waits use full-jitter exponential backoff: a random delay in `0...min(maxDelay, baseDelay * 2^retry)`.
public struct RetryPolicy: Sendable, Hashable {
    /// Most attempts in all (1 = no retry).
    public var maxAttempts: Int
    /// Backoff base.
    public var baseDelay: Duration
    /// Backoff ceiling.
    public var maxDelay: Duration
    /// Longest `Retry-After` honoured; longer values are capped to it.
    public var maxRetryAfter: Duration

    /// Creates a policy (defaults: 4 attempts, 0.2 s base, 5 s ceiling, Retry-After capped at 60 s).
    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5),
                maxRetryAfter: Duration = .seconds(60)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// For cloud provider APIs (DigitalOcean, AWS), whose transient failures and throttling are part of normal life:
    /// 6 attempts, 0.25 s base, 8 s ceiling. With one call in five failing, one in 15,000 still fails after all six.
    public static let cloudAPI = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(250), maxDelay: .seconds(8))

    /// Whether a response with `status` should be retried.
    public func shouldRetry(status: Int, idempotent: Bool) -> Bool {
        if status == 429 || status == 503 { return true }
        if status >= 500 { return idempotent }
        return false
    }

    /// The full-jitter backoff before retry number `retry` (0 for the first retry).
    public func backoff(retry: Int) -> Duration {
        let base = baseDelay.seconds * pow(2.0, Double(min(retry, 30)))
        let ceiling = min(maxDelay.seconds, base)
        guard ceiling > 0 else { return .zero }
        return .milliseconds(Int(Double.random(in: 0...ceiling) * 1000))
    }

    /// The wait a `Retry-After` header asks for (delta-seconds or an HTTP-date), capped by `maxRetryAfter`;
    /// nil when the header is absent or unreadable.
    public func retryAfter(_ header: String?, now: Date = Date()) -> Duration? {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else { return nil }
        var seconds: Double
        if let value = Double(header) {
            seconds = value
        } else if let date = RetryPolicy.parseHTTPDate(header) {
            seconds = date.timeIntervalSince(now)
        } else {
            return nil
        }
        seconds = max(0, min(seconds, maxRetryAfter.seconds))
        return .milliseconds(Int((seconds * 1000).rounded(.up)))
    }

    /// Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime).
    static func parseHTTPDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
