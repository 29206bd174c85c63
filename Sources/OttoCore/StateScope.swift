/// The part of the state that one lock and one serial cover: one site, or what belongs to no single site (an
/// account's SSH key, an image), which has a lock of its own.
///
/// Scopes sort sites by name and the account scope last: an apply that needs several takes their locks in that
/// order, so two applies can never wait for each other in a circle.
public enum StateScope: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Everything one site declares.
    case site(String)
    /// Resources of no single site (`Resource.site` is nil).
    case account
    /// The walks of one site: held while a replica of `otto serve` walks it, so replicas sharing a state never walk one
    /// site at once. It covers no resources (no serial, no apply takes it).
    case walk(String)

    /// The scope of a resource of `site` (nil: account-wide).
    public init(site: String?) {
        self = site.map(StateScope.site) ?? .account
    }

    /// Parses `key`; nil when it is neither `account` nor `site:NAME`.
    public init?(key: String) {
        if key == "account" {
            self = .account
        } else if key.hasPrefix("site:"), key.count > 5 {
            self = .site(String(key.dropFirst(5)))
        } else if key.hasPrefix("walk:"), key.count > 5 {
            self = .walk(String(key.dropFirst(5)))
        } else {
            return nil
        }
    }

    /// How the scope is stored: `site:NAME` or `account`.
    public var key: String {
        switch self {
        case .site(let name): return "site:\(name)"
        case .account: return "account"
        case .walk(let name): return "walk:\(name)"
        }
    }

    /// `site NAME` or `account-wide resources`.
    public var description: String {
        switch self {
        case .site(let name): return "site \(name)"
        case .account: return "account-wide resources"
        case .walk(let name): return "the walks of site \(name)"
        }
    }

    public static func < (a: StateScope, b: StateScope) -> Bool {
        switch (a, b) {
        case (.site(let x), .site(let y)): return x < y
        case (.site, _): return true
        case (.account, .walk): return true
        case (.account, _): return false
        case (.walk(let x), .walk(let y)): return x < y
        case (.walk, _): return false
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let scope = StateScope(key: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not a state scope (site:NAME, account or walk:NAME): \(text)"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(key)
    }
}

extension Set where Element == StateScope {
    /// The distinct scopes of `scopes`. A scope equal to the one before it is skipped without hashing: resources and
    /// changes come in long runs of one site, so a 100k-resource project hashes about one scope per site.
    @inlinable public init(runs scopes: some Sequence<StateScope>) {
        self.init()
        var last: StateScope?
        for scope in scopes where scope != last {
            insert(scope)
            last = scope
        }
    }
}
