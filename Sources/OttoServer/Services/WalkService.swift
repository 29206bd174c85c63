import Foundation
import OttoCore

/// Site walks for `/site/walk`, provided by the CLI from the walker (OttoWalker, its history in the state database and
/// its WalkScheduler). The server checks names, YAML ownership and `?params=` before calling it.
public protocol WalkService: Sendable {
    /// The most recent walks of every site, newest first.
    func recentWalks(limit: Int) async throws -> [WalkSummary]

    /// The walks kept for `site`, newest first.
    func walks(site: String) async throws -> [WalkSummary]

    /// One walk with its pages and broken links; nil when there is no such walk.
    func walk(site: String, id: String) async throws -> WalkReport?

    /// The walkers scheduled for `site` (from YAML and from the API).
    func walkers(site: String) async throws -> [WalkerInfo]

    /// Schedules walks of `site` with `spec` over the API (replacing earlier API walkers of the site). Returns the walker.
    func schedule(site: String, spec: WalkSpec) async throws -> WalkerInfo

    /// Removes the API walkers of `site`; returns how many there were.
    func unschedule(site: String) async throws -> Int
}

/// One walk, without its pages: `{"id", "site", "started_at", "finished_at", "pages", "broken", "seconds"}`.
public struct WalkSummary: Sendable {
    /// Walk id.
    public var id: String
    /// Site name.
    public var site: String
    /// When it started.
    public var startedAt: Date
    /// When it ended (nil while running).
    public var finishedAt: Date?
    /// Pages fetched.
    public var pages: Int
    /// Broken links found.
    public var broken: Int
    /// Wall time.
    public var seconds: Double

    /// Creates a summary.
    public init(id: String, site: String, startedAt: Date, finishedAt: Date?, pages: Int, broken: Int, seconds: Double) {
        self.id = id
        self.site = site
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.pages = pages
        self.broken = broken
        self.seconds = seconds
    }

    /// The summary's JSON.
    public var json: JSON {
        .object([("id", .string(id)), ("site", .string(site)), ("started_at", .date(startedAt)), ("finished_at", .date(finishedAt)),
                 ("pages", .int(pages)), ("broken", .int(broken)), ("seconds", .double(seconds))])
    }
}

/// One page of a walk: `{"url", "status", "ms", "bytes", "redirects", "links", "error"}` (status 0 when the request
/// failed; then `error` says why).
public struct WalkPage: Sendable {
    /// The URL fetched.
    public var url: String
    /// HTTP status (0 when there was none).
    public var status: Int
    /// Milliseconds taken.
    public var milliseconds: Double
    /// Body size.
    public var bytes: Int
    /// Redirects followed, in order.
    public var redirects: [String]
    /// Outgoing links found on the page.
    public var links: [String]
    /// Timeout, DNS failure, ...
    public var error: String?

    /// Creates a page.
    public init(url: String, status: Int, milliseconds: Double, bytes: Int, redirects: [String] = [], links: [String] = [],
                error: String? = nil) {
        self.url = url
        self.status = status
        self.milliseconds = milliseconds
        self.bytes = bytes
        self.redirects = redirects
        self.links = links
        self.error = error
    }

    /// The page's JSON.
    public var json: JSON {
        .object([("url", .string(url)), ("status", .int(status)), ("ms", .double(milliseconds)), ("bytes", .int(bytes)),
                 ("redirects", .strings(redirects)), ("links", .strings(links)), ("error", .string(error))])
    }
}

/// A broken link and the pages it was found on: `{"url", "status", "error", "found_on"}`.
public struct BrokenLink: Sendable {
    /// The link.
    public var url: String
    /// Its status (0 when the request failed).
    public var status: Int
    /// Why it failed, when there was no status.
    public var error: String?
    /// Pages linking to it.
    public var foundOn: [String]

    /// Creates a broken link.
    public init(url: String, status: Int, error: String? = nil, foundOn: [String]) {
        self.url = url
        self.status = status
        self.error = error
        self.foundOn = foundOn
    }

    /// The link's JSON.
    public var json: JSON {
        .object([("url", .string(url)), ("status", .int(status)), ("error", .string(error)), ("found_on", .strings(foundOn))])
    }
}

/// A walk with its pages: the summary's fields, with `"pages"` the list of pages (not their count), plus `"broken_links"`.
public struct WalkReport: Sendable {
    /// The summary.
    public var summary: WalkSummary
    /// Every page fetched.
    public var pages: [WalkPage]
    /// Broken links.
    public var brokenLinks: [BrokenLink]

    /// Creates a report.
    public init(summary: WalkSummary, pages: [WalkPage], brokenLinks: [BrokenLink]) {
        self.summary = summary
        self.pages = pages
        self.brokenLinks = brokenLinks
    }

    /// The report's JSON.
    public var json: JSON {
        guard case .object(let fields) = summary.json else { return .null }
        return .object(fields.map { $0.0 == "pages" ? ("pages", .array(pages.map(\.json))) : $0 }
                       + [("broken_links", .array(brokenLinks.map(\.json)))])
    }
}

/// A scheduled walker: `{"site", "source", "every", "depth", "max_pages", "allow", "start", "location"}`.
public struct WalkerInfo: Sendable {
    /// Site name.
    public var site: String
    /// `yaml` (the site's `walk:`) or `api` (`PUT /site/walk/{site}`).
    public var source: String
    /// The settings.
    public var spec: WalkSpec

    /// Creates a walker.
    public init(site: String, source: String, spec: WalkSpec) {
        self.site = site
        self.source = source
        self.spec = spec
    }

    /// The walker's JSON.
    public var json: JSON {
        .object([("site", .string(site)), ("source", .string(source)), ("every", .string(spec.every.description)),
                 ("depth", .int(spec.depth)), ("max_pages", .int(spec.maxPages)), ("allow", .strings(spec.allow)),
                 ("start", .string(spec.start)), ("location", .string(spec.location.description))])
    }
}
