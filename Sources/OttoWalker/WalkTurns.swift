/// Whose turn it is to walk a site, asked by `WalkScheduler` before each walk: replicas of `otto serve` sharing one state
/// keep the same walkers, and take turns so that one of them walks each site per interval.
public protocol WalkTurns: Sendable {
    /// Whether this process walks `site` now (its walker runs every `every`). Failures (the state cannot be reached)
    /// are answered `.notYet`: no walk runs without a turn.
    func take(site: String, every: Duration) async -> WalkTurn
}

/// The answer of `WalkTurns.take`.
public enum WalkTurn: Sendable {
    /// Walk now; call `finish` (with whether the walk succeeded) when it ended.
    case mine(finish: @Sendable (_ succeeded: Bool) async -> Void)
    /// Someone else walks it this time: ask again after this long.
    case notYet(retryIn: Duration)
}
