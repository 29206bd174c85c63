/// What `otto serve` does when a scheduled refresh finds what exists differing from the configuration (a site's
/// `drift:`; the configuration reader produces it, the engine's drift service acts on it).
public enum DriftPolicy: String, Sendable, Hashable, CaseIterable, Codable {
    /// Apply the plan that puts it back (the default).
    case correct
    /// Record and show it, change nothing.
    case report
}
