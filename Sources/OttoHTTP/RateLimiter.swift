import Foundation
import Synchronization

/// A token bucket shared by every request to one provider account: at most `burst` requests at once after a quiet
/// spell, and `rate` per second sustained. A `429` with `Retry-After` pauses the whole bucket, so no request to
/// that account goes out before the server said it may.
///
/// Implemented as GCRA (the virtual-scheduling form of a token bucket): each request reserves the next slot, so
/// waiters are served in arrival order and nothing is computed per tick.
public actor RateLimiter {
    /// Sustained requests per second.
    public nonisolated let rate: Double
    /// Requests allowed back to back after a quiet spell.
    public nonisolated let burst: Int
    private let clock = ContinuousClock()
    /// Theoretical arrival time of the next request (GCRA's TAT).
    private var nextSlot: ContinuousClock.Instant
    /// No request goes out before this instant (set by `pause(for:)`).
    private var pausedUntil: ContinuousClock.Instant
    private var waited: Duration = .zero
    private var granted = 0

    /// Creates a bucket allowing `rate` requests per second sustained and bursts of `burst`.
    public init(rate: Double, burst: Int) {
        self.rate = max(rate, 0.001)
        self.burst = max(1, burst)
        let now = ContinuousClock.now
        self.nextSlot = now
        self.pausedUntil = now
    }

    private var interval: Duration { .nanoseconds(Int64((1e9 / rate).rounded())) }

    /// Waits until a request may go out. Throws `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        let now = clock.now
        let tolerance = interval * (burst - 1)
        var start = max(nextSlot, now, pausedUntil)
        nextSlot = start + interval
        start = max(start - tolerance, now, pausedUntil)
        granted += 1
        if start > now {
            waited += start - now
            try await Task.sleep(until: start, clock: clock)
        }
        // A pause that began while this request waited for its slot holds it too.
        while pausedUntil > clock.now {
            let until = pausedUntil
            waited += until - clock.now
            try await Task.sleep(until: until, clock: clock)
        }
    }

    /// Holds every request of this bucket for `duration` from now (a 429's `Retry-After`).
    public func pause(for duration: Duration) {
        let until = clock.now + duration
        if until > pausedUntil { pausedUntil = until }
        if nextSlot < pausedUntil { nextSlot = pausedUntil }
    }

    /// Requests granted so far and the total time they waited for a slot (for progress and benchmarks).
    public func statistics() -> (granted: Int, waited: Duration) { (granted, waited) }

    private static let registry = Mutex<[String: RateLimiter]>([:])

    /// The process-wide bucket for `account` (e.g. `digitalocean:<token hash>`), created with `rate` and `burst` on
    /// first use: two provider instances that use one account share its limit.
    public static func shared(account: String, rate: Double, burst: Int) -> RateLimiter {
        registry.withLock { buckets in
            if let existing = buckets[account] { return existing }
            let bucket = RateLimiter(rate: rate, burst: burst)
            buckets[account] = bucket
            return bucket
        }
    }
}
