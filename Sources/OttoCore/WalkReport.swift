import Foundation

/// The result of one site walk: every URL requested, and the broken links with the pages they were found on.
///
/// Produced by `OttoWalker`, stored by a `WalkHistoryStore`, served over HTTP and printed by `otto walk`; it lives
/// here so all of them share one Codable type. JSON keys are the property names; dates use the encoder's strategy.
public struct WalkReport: Sendable, Codable, Hashable {
    /// The id the history store gave it; nil before it was stored.
    public var id: Int64?
    /// The site's name (`site:`).
    public var site: String
    /// The start URL.
    public var start: String
    /// When the walk started.
    public var startedAt: Date
    /// When it ended.
    public var finishedAt: Date
    /// The link depth it was bounded by (the start page is depth 0).
    public var depth: Int
    /// The most URLs it would request.
    public var maxPages: Int
    /// Every URL requested, in the order the requests finished (the start URL first).
    public var pages: [WalkPage]
    /// Broken links (4xx, 5xx, timeouts, DNS failures, refused connections, redirect loops), by URL.
    public var broken: [WalkBrokenLink]
    /// True when `maxPages` stopped the walk while links were left to check.
    public var truncated: Bool
    /// True when the walk was cancelled before it ended (the pages are those finished by then).
    public var interrupted: Bool
    /// HTTP requests made (each redirect hop and each HEAD retried as GET counts).
    public var requests: Int
    /// TCP connections opened (the rest of the requests reused kept-alive ones).
    public var connections: Int
    /// The host pins used (`host:port:address`, like curl's `--resolve`).
    public var resolve: [String]

    /// Creates a report.
    public init(id: Int64? = nil, site: String, start: String, startedAt: Date, finishedAt: Date, depth: Int, maxPages: Int,
                pages: [WalkPage], broken: [WalkBrokenLink], truncated: Bool = false, interrupted: Bool = false,
                requests: Int = 0, connections: Int = 0, resolve: [String] = []) {
        self.id = id
        self.site = site
        self.start = start
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.depth = depth
        self.maxPages = maxPages
        self.pages = pages
        self.broken = broken
        self.truncated = truncated
        self.interrupted = interrupted
        self.requests = requests
        self.connections = connections
        self.resolve = resolve
    }

    /// Wall time of the walk in seconds.
    public var seconds: Double { finishedAt.timeIntervalSince(startedAt) }

    /// The report without its pages.
    public var summary: WalkSummary {
        WalkSummary(id: id, site: site, start: start, startedAt: startedAt, finishedAt: finishedAt, pageCount: pages.count,
                    brokenCount: broken.count, broken: broken, truncated: truncated, interrupted: interrupted)
    }
}

/// One URL the walk requested.
public struct WalkPage: Sendable, Codable, Hashable {
    /// How the walker treated a URL.
    public enum Kind: String, Sendable, Codable, Hashable {
        /// A page of the site (or an allowed host): fetched with GET, its links followed when it is HTML.
        case page
        /// An image, script or stylesheet of the site: checked with HEAD (GET when HEAD is refused).
        case resource
        /// A link to another host: checked with HEAD (GET when HEAD is refused), never followed.
        case external
    }

    /// The URL as linked (absolute, without fragment).
    public var url: String
    /// Link hops from the start URL.
    public var depth: Int
    /// How it was treated.
    public var kind: Kind
    /// The method of the last request (`GET` or `HEAD`).
    public var method: String
    /// The final status (after redirects); nil when there was no response.
    public var status: Int?
    /// Milliseconds for all its requests together (redirect hops included).
    public var timeMs: Double
    /// Body bytes (or `Content-Length` when the body was not read).
    public var size: Int
    /// The final response's `Content-Type`, when there was one.
    public var contentType: String?
    /// Each redirect hop, in order.
    public var redirects: [WalkRedirect]
    /// Links found on it (absolute, without fragments, de-duplicated, in document order); empty unless it is an
    /// HTML page of the site whose links were read.
    public var links: [String]
    /// Why there was no (final) response, when there was none.
    public var error: WalkError?

    /// Creates a page record.
    public init(url: String, depth: Int, kind: Kind, method: String, status: Int?, timeMs: Double, size: Int,
                contentType: String? = nil, redirects: [WalkRedirect] = [], links: [String] = [], error: WalkError? = nil) {
        self.url = url
        self.depth = depth
        self.kind = kind
        self.method = method
        self.status = status
        self.timeMs = timeMs
        self.size = size
        self.contentType = contentType
        self.redirects = redirects
        self.links = links
        self.error = error
    }

    /// True for a 4xx or 5xx final status, or no response at all.
    public var isBroken: Bool { error != nil || (status ?? 0) >= 400 }

    /// Where the redirects ended, when there were any.
    public var finalURL: String? { redirects.last?.location }
}

/// One redirect hop.
public struct WalkRedirect: Sendable, Codable, Hashable {
    /// The URL requested.
    public var url: String
    /// Its 3xx status.
    public var status: Int
    /// Where it pointed (absolute).
    public var location: String

    /// Creates a hop.
    public init(url: String, status: Int, location: String) {
        self.url = url
        self.status = status
        self.location = location
    }
}

/// Why a URL had no usable response.
public struct WalkError: Sendable, Codable, Hashable, CustomStringConvertible {
    /// `dns`, `refused`, `connect`, `timeout`, `tls`, `transport`, `invalid-url`, `redirects` (too many or a loop)
    /// or `cancelled`.
    public var code: String
    /// What happened, e.g. libcurl's `Could not resolve host: shop.test`.
    public var message: String

    /// Creates an error.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message.isEmpty ? code : "\(code): \(message)" }
}

/// A link that does not work, with every page it was found on.
public struct WalkBrokenLink: Sendable, Codable, Hashable {
    /// The link (absolute, without fragment).
    public var url: String
    /// The final status, when there was a response.
    public var status: Int?
    /// Why there was no response, when there was none.
    public var error: WalkError?
    /// The pages linking to it, sorted; empty for the start URL.
    public var foundOn: [String]

    /// Creates a broken link.
    public init(url: String, status: Int?, error: WalkError?, foundOn: [String]) {
        self.url = url
        self.status = status
        self.error = error
        self.foundOn = foundOn
    }

    /// `404`, or the error's code and message.
    public var reason: String {
        if let status { return String(status) }
        return error?.description ?? "broken"
    }
}

/// A walk without its pages (lists of recent walks).
public struct WalkSummary: Sendable, Codable, Hashable {
    /// The walk's id in the history.
    public var id: Int64?
    /// The site.
    public var site: String
    /// The start URL.
    public var start: String
    /// When it started.
    public var startedAt: Date
    /// When it ended.
    public var finishedAt: Date
    /// URLs requested.
    public var pageCount: Int
    /// Broken links found.
    public var brokenCount: Int
    /// The broken links.
    public var broken: [WalkBrokenLink]
    /// `maxPages` stopped it early.
    public var truncated: Bool
    /// It was cancelled before it ended.
    public var interrupted: Bool

    /// Creates a summary.
    public init(id: Int64?, site: String, start: String, startedAt: Date, finishedAt: Date, pageCount: Int, brokenCount: Int,
                broken: [WalkBrokenLink], truncated: Bool, interrupted: Bool) {
        self.id = id
        self.site = site
        self.start = start
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.pageCount = pageCount
        self.brokenCount = brokenCount
        self.broken = broken
        self.truncated = truncated
        self.interrupted = interrupted
    }
}
