/// The time source `WalkScheduler` runs on, injected so tests can drive it by hand.
public protocol WalkClock: Sendable {
    /// Time since the clock's own origin.
    func now() -> Duration
    /// Returns once `now()` has reached `deadline`; throws `CancellationError` when the calling task is cancelled first.
    func sleep(until deadline: Duration) async throws
}

/// The real clock: monotonic time (`ContinuousClock`) since the clock was created.
public struct ContinuousWalkClock: WalkClock {
    private let origin: ContinuousClock.Instant

    /// Creates a clock whose origin is now.
    public init() { origin = ContinuousClock.now }

    /// Monotonic time since the clock was created.
    public func now() -> Duration { ContinuousClock.now - origin }

    /// `Task.sleep` until `deadline` on the continuous clock.
    public func sleep(until deadline: Duration) async throws {
        try await Task.sleep(until: origin + deadline, clock: .continuous)
    }
}
