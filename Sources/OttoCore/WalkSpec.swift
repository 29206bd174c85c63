/// `walk:`: a scheduled crawl of the site.
public struct WalkSpec: Sendable, Hashable {
    /// How often (default 5m).
    public var every: ConfigDuration
    /// Link depth (default 3).
    public var depth: Int
    /// Most pages per walk (default 1000).
    public var maxPages: Int
    /// Other hosts the walker may follow.
    public var allow: [String]
    /// Start URL (default `http://<domain>/`).
    public var start: String
    /// Where it is declared.
    public var location: SourceLocation

    /// Creates walk settings (the configuration reader checks them; callers outside it pass checked values).
    public init(every: ConfigDuration, depth: Int, maxPages: Int, allow: [String], start: String, location: SourceLocation) {
        self.every = every
        self.depth = depth
        self.maxPages = maxPages
        self.allow = allow
        self.start = start
        self.location = location
    }
}
