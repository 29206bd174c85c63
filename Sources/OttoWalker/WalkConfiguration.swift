import OttoHTTP

/// What one walk crawls and how hard.
///
/// Depth: the start URL is depth 0 and a link found on a depth-d page is depth d+1. Every URL up to `depth` is
/// requested: pages of the site (the start URL's host, and the `allow` hosts) with GET, their links read when they
/// are HTML and shallower than `depth`; images, scripts and stylesheets of the site with HEAD (GET when the server
/// refuses HEAD or answers it with an error); links to other hosts the same way, never followed (unless
/// `checkExternal` is off: then they are not requested at all). At most `maxPages` URLs are requested.
public struct WalkConfiguration: Sendable, Hashable {
    /// The absolute http(s) URL the walk starts from.
    public var start: String
    /// Link hops from the start URL (0: the start URL only).
    public var depth: Int
    /// Most URLs requested.
    public var maxPages: Int
    /// Other hosts whose pages are followed as if they were the site's (lower case).
    public var allow: [String]
    /// Host pins (curl's `--resolve`): e.g. the site's domain to the load balancer's address from otto's state.
    public var resolve: [ResolveEntry]
    /// Most requests at once to one host and port.
    public var perHostConcurrency: Int
    /// Most requests at once in all.
    public var totalConcurrency: Int
    /// Longest wait for a connection (DNS included).
    public var connectTimeout: Duration
    /// Longest time for one request.
    public var timeout: Duration
    /// Whether links to other hosts are checked (HEAD) at all.
    public var checkExternal: Bool
    /// Most redirects followed from one link; more is reported as a broken link (`redirects`).
    public var maxRedirects: Int
    /// Most bytes of one HTML page read (links past it are not seen).
    public var maxPageBytes: Int
    /// The `User-Agent` header.
    public var userAgent: String

    /// Creates a configuration (defaults: depth 3, 1,000 pages, 8 requests per host and 32 in all, 5 s connect
    /// timeout, 15 s per request, external links checked, 10 redirects, 8 MiB per page).
    public init(start: String, depth: Int = 3, maxPages: Int = 1000, allow: [String] = [], resolve: [ResolveEntry] = [],
                perHostConcurrency: Int = 8, totalConcurrency: Int = 32, connectTimeout: Duration = .seconds(5),
                timeout: Duration = .seconds(15), checkExternal: Bool = true, maxRedirects: Int = 10,
                maxPageBytes: Int = 8 << 20, userAgent: String = "otto-walker") {
        self.start = start
        self.depth = max(0, depth)
        self.maxPages = max(1, maxPages)
        self.allow = allow.map { $0.lowercased() }
        self.resolve = resolve
        self.perHostConcurrency = max(1, perHostConcurrency)
        self.totalConcurrency = max(1, totalConcurrency)
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.checkExternal = checkExternal
        self.maxRedirects = max(0, maxRedirects)
        self.maxPageBytes = max(1024, maxPageBytes)
        self.userAgent = userAgent
    }
}
