/// otto's error: a stable code for scripts, a message a person can act on, and the underlying cause.
public struct OttoError: Error, Sendable, CustomStringConvertible {
    /// Stable, dotted identifier, e.g. `state.locked`, `provider.powerdns.http`.
    public var code: String
    /// What happened and what to do about it.
    public var message: String
    /// The error this one wraps, rendered as text (kept as text so the error stays Sendable).
    public var cause: String?

    /// Creates an error.
    public init(_ code: String, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        if let cause { self.cause = String(describing: cause) } else { self.cause = nil }
    }

    /// Creates an error with a cause already rendered as text.
    public init(_ code: String, _ message: String, causeText: String?) {
        self.code = code
        self.message = message
        self.cause = causeText
    }

    public var description: String {
        if let cause, !cause.isEmpty { return "\(message) (\(cause))" }
        return message
    }
}
