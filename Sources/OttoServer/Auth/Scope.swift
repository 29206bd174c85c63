/// What a token may do. `write` implies `read`.
public enum Scope: String, Sendable, Hashable, CaseIterable, Comparable {
    /// GET routes.
    case read
    /// Routes that change desired state or start runs (POST, PUT, DELETE), and everything `read` allows.
    case write

    /// True when a token with this scope may use a route that needs `needed`.
    public func allows(_ needed: Scope) -> Bool { self >= needed }

    public static func < (a: Scope, b: Scope) -> Bool { a == .read && b == .write }
}
