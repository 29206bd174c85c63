import OttoCore

/// A state that remembers which environment it belongs to, so no command of one environment ever plans, applies or
/// serves from another's state (`--state` and `OTTO_STATE` can point anywhere; this is the check that they point
/// right).
public protocol EnvironmentBoundState: Sendable {
    /// Binds the state to `environment` (nil: a project without environments) the first time, and checks the binding
    /// every later time: throws `OttoError` `state.environment` when the state was bound to another environment. A state
    /// used without environments is taken over by the first environment that uses it (that is how a project's existing
    /// state becomes one environment's); an environment's state is never used by another one or without one.
    func bindEnvironment(_ environment: String?) throws
}

/// The message a state bound to another environment gives.
public enum EnvironmentMismatch {
    /// `state.environment`: `stored` is the state's environment, `wanted` the command's.
    public static func error(path: String, stored: String?, wanted: String?) -> OttoError {
        let name = { (e: String?) in e.map { "environment `\($0)`" } ?? "a project without environments" }
        return OttoError("state.environment", "the state \(path) belongs to \(name(stored)), not \(name(wanted)): "
                         + (wanted == nil ? "choose it with --env \(stored ?? "") or OTTO_ENV, or give another --state"
                                          : "give each environment its own state (its file's `state:`, or leave --state and OTTO_STATE out)"))
    }
}
