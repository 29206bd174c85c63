import Foundation
import OttoCore
import OttoHTTP

/// Walks a site: crawls from its start URL within the configured bounds and reports every URL requested and every
/// broken link with the pages it was found on (see `WalkConfiguration` for what is requested how).
///
/// Each walk has its own `CurlMulti` (one driver thread, a connection cache shared by all its requests, the walk's
/// host pins), freed when the walk ends. The crawl goes breadth first, one depth level at a time: all URLs of a level
/// are requested concurrently (per-host and total limits), then the links of that level's pages are read in the
/// order the pages were found. So every URL is reached at its shortest depth, and with the same site the same walk
/// requests the same URLs and reports the same results whatever order the responses come in.
public struct SiteWalker: Sendable {
    /// Creates a walker.
    public init() {}

    /// Walks `site` per `configuration`.
    ///
    /// Cancelling the calling task stops the walk: requests in flight are abandoned and the report (marked
    /// `interrupted`) holds what finished.
    ///
    /// - Throws: `OttoError` `walk.start` when the start URL is not an absolute http(s) URL, `walk.http` when
    ///   libcurl cannot be set up. Broken links are results, never errors.
    public func walk(site: String, configuration: WalkConfiguration) async throws -> WalkReport {
        guard let start = WalkURL(configuration.start) else {
            throw OttoError("walk.start", "the walk of site \(site) cannot start from `\(configuration.start)`: it is not an absolute http or https URL",
                            causeText: nil)
        }
        let multi: CurlMulti
        do {
            multi = try CurlMulti(configuration: CurlMulti.Configuration(
                maxTotalConnections: configuration.totalConcurrency, maxHostConnections: configuration.perHostConcurrency,
                connectTimeout: configuration.connectTimeout, timeout: configuration.timeout, resolve: configuration.resolve,
                userAgent: configuration.userAgent))
        } catch {
            throw OttoError("walk.http", "cannot set up HTTP for the walk of site \(site)", cause: error)
        }
        defer { multi.shutdown() }
        let crawl = Crawl(site: site, configuration: configuration, start: start, multi: multi)
        return await crawl.run()
    }
}

/// One walk in progress. Used only by the task running `SiteWalker.walk` (the requests' tasks get Sendable values).
final class Crawl {
    /// A URL to request, and what became of it.
    struct Node {
        var url: WalkURL
        var depth: Int
        var kind: WalkPage.Kind
        var foundOn: Set<Int> = []
        var started = false
        var done = false
        var fellBackToGet = false
        var visited: Set<String> = []
        var redirects: [WalkRedirect] = []
        var method = "GET"
        var timeMs = 0.0
        var status: Int?
        var size = 0
        var contentType: String?
        var error: WalkError?
        var extracted: [ExtractedLink]?
    }

    /// One request, handed to a child task.
    struct Job: Sendable {
        var node: Int
        var url: WalkURL
        var request: CurlMulti.Request
        var parse: Bool
    }

    /// A finished request (body dropped), with the links of the page when it was parsed.
    struct Outcome: Sendable {
        var job: Job
        var result: Result<CurlMulti.Response, CurlMulti.Failure>
        var links: [ExtractedLink]?
    }

    static let htmlTypes = ["text/html", "application/xhtml+xml"]

    let site: String
    let configuration: WalkConfiguration
    let start: WalkURL
    let multi: CurlMulti
    let siteHosts: Set<String>
    var nodes: [Node] = []
    var byURL: [String: Int] = [:]
    var truncated = false
    var interrupted = false
    var requests = 0

    init(site: String, configuration: WalkConfiguration, start: WalkURL, multi: CurlMulti) {
        self.site = site
        self.configuration = configuration
        self.start = start
        self.multi = multi
        siteHosts = Set([start.host] + configuration.allow)
    }

    func run() async -> WalkReport {
        let startedAt = Date()
        nodes.append(Node(url: start, depth: 0, kind: .page))
        byURL[start.description] = 0
        var wave = [0]
        var depth = 0
        while !wave.isEmpty {
            await request(wave)
            if interrupted || depth == configuration.depth { break }
            var next: [Int] = []
            for index in wave {
                guard let links = nodes[index].extracted else { continue }
                for link in links { discover(link, on: index, depth: depth + 1, into: &next) }
            }
            wave = next
            depth += 1
        }
        return report(startedAt: startedAt)
    }

    // MARK: Discovery

    func isSite(_ host: String) -> Bool { siteHosts.contains(host) }

    /// Records that `link` appears on page `page`; creates its node (requested in the next level) the first time.
    func discover(_ link: ExtractedLink, on page: Int, depth: Int, into next: inout [Int]) {
        let key = link.url.description
        if let existing = byURL[key] {
            if existing != page { nodes[existing].foundOn.insert(page) }
            if link.role == .page, nodes[existing].kind == .resource, !nodes[existing].started { nodes[existing].kind = .page }
            return
        }
        let site = isSite(link.url.host)
        guard site || configuration.checkExternal else { return }
        guard nodes.count < configuration.maxPages else {
            truncated = true
            return
        }
        let kind: WalkPage.Kind = site ? (link.role == .page ? .page : .resource) : .external
        var node = Node(url: link.url, depth: depth, kind: kind)
        node.foundOn.insert(page)
        byURL[key] = nodes.count
        next.append(nodes.count)
        nodes.append(node)
    }

    // MARK: Requests

    /// The request for node `index` at `url` (its own URL, or a redirect target).
    func job(_ index: Int, url: WalkURL, forceGet: Bool = false) -> Job {
        let node = nodes[index]
        // A page of the site is fetched with GET (its time and size are a visitor's), and read for links while it is
        // shallower than the depth limit; a redirect off the site turns the rest of the chain into a check.
        if node.kind == .page, isSite(url.host) {
            let parse = node.depth < configuration.depth
            return Job(node: index, url: url, request: CurlMulti.Request(
                method: .get, url: url.description,
                body: parse ? .keepIf(contentTypes: Self.htmlTypes, max: configuration.maxPageBytes) : .drain), parse: parse)
        }
        if forceGet {
            return Job(node: index, url: url, request: CurlMulti.Request(method: .get, url: url.description, body: .discard), parse: false)
        }
        return Job(node: index, url: url, request: CurlMulti.Request(method: .head, url: url.description, body: .discard), parse: false)
    }

    /// Requests every node of one level, within the per-host and total limits, following redirects and HEAD→GET
    /// fallbacks as further requests of the same node.
    ///
    /// Transfers are started with `CurlMulti.start` and their results collected from one stream here: no task per
    /// request, and the driver thread wakes this task once for a batch of results rather than a task per result.
    /// HTML is parsed here as results arrive (only pages above the depth limit are parsed).
    func request(_ level: [Int]) async {
        var queues: [String: [Job]] = [:]
        var heads: [String: Int] = [:]
        var inFlight: [String: Int] = [:]
        var hosts: [String] = []
        var total = 0
        let perHost = configuration.perHostConcurrency
        let totalLimit = configuration.totalConcurrency
        let (results, sink) = AsyncStream.makeStream(of: Outcome.self)

        func enqueue(_ job: Job) {
            let host = job.url.hostAndPort
            if queues[host] == nil {
                queues[host] = []
                heads[host] = 0
                inFlight[host] = 0
                hosts.append(host)
            }
            queues[host]!.append(job)
        }
        func launch() {
            guard total < totalLimit else { return }
            for host in hosts {
                while total < totalLimit, inFlight[host]! < perHost, heads[host]! < queues[host]!.count {
                    let job = queues[host]![heads[host]!]
                    heads[host]! += 1
                    inFlight[host]! += 1
                    total += 1
                    multi.start(job.request) { result in sink.yield(Outcome(job: job, result: result, links: nil)) }
                }
                if total >= totalLimit { return }
            }
        }
        for index in level {
            nodes[index].started = true
            nodes[index].visited.insert(nodes[index].url.description)
            enqueue(job(index, url: nodes[index].url))
        }
        launch()
        await withTaskCancellationHandler {
            var iterator = results.makeAsyncIterator()
            while total > 0, var outcome = await iterator.next() {
                let host = outcome.job.url.hostAndPort
                inFlight[host]! -= 1
                total -= 1
                Self.parse(&outcome)
                if let next = handle(outcome) { enqueue(next) }
                launch()
            }
        } onCancel: {
            sink.finish()  // the loop ends; the walk's CurlMulti is shut down with the walk, ending what is in flight
        }
        if total > 0 || Task.isCancelled { interrupted = true }
    }

    /// Reads the links of a page that was asked to be parsed and came back as a 2xx with a body, and drops the body.
    static func parse(_ outcome: inout Outcome) {
        guard case .success(var response) = outcome.result else { return }
        if outcome.job.parse, (200..<300).contains(response.status), !response.body.isEmpty {
            outcome.links = LinkExtractor.links(in: response.body, documentURL: outcome.job.url)
        }
        response.body = []
        outcome.result = .success(response)
    }

    /// Takes one finished request into its node; returns the node's next request (a redirect hop, or GET after a
    /// refused HEAD), or nil when the node is done.
    func handle(_ outcome: Outcome) -> Job? {
        let index = outcome.job.node
        requests += 1
        switch outcome.result {
        case .failure(let failure):
            if failure.kind == .cancelled {
                interrupted = true
                return nil
            }
            nodes[index].error = WalkError(code: failure.kind.rawValue, message: failure.message)
            nodes[index].method = outcome.job.request.method.rawValue
            nodes[index].done = true
            return nil
        case .success(let response):
            nodes[index].timeMs += Double(response.time.components.seconds) * 1000 + Double(response.time.components.attoseconds) / 1e15
            if (300..<400).contains(response.status), let location = response.location, let target = WalkURL(location) {
                nodes[index].redirects.append(WalkRedirect(url: outcome.job.url.description, status: response.status, location: target.description))
                if nodes[index].redirects.count > configuration.maxRedirects {
                    return finish(index, outcome, response, error: WalkError(
                        code: "redirects", message: "more than \(configuration.maxRedirects) redirects"))
                }
                guard nodes[index].visited.insert(target.description).inserted else {
                    let chain = ([nodes[index].url.description] + nodes[index].redirects.map(\.location)).joined(separator: " → ")
                    return finish(index, outcome, response, error: WalkError(code: "redirects", message: "redirect loop: \(chain)"))
                }
                return job(index, url: target)
            }
            if outcome.job.request.method == .head, response.status >= 400, !nodes[index].fellBackToGet {
                // Some servers refuse HEAD (405, 501) or answer it wrongly: the verdict comes from a GET.
                nodes[index].fellBackToGet = true
                return job(index, url: outcome.job.url, forceGet: true)
            }
            return finish(index, outcome, response, error: nil)
        }
    }

    private func finish(_ index: Int, _ outcome: Outcome, _ response: CurlMulti.Response, error: WalkError?) -> Job? {
        nodes[index].status = response.status
        nodes[index].size = response.size
        nodes[index].contentType = response.contentType
        nodes[index].method = outcome.job.request.method.rawValue
        nodes[index].error = error
        nodes[index].extracted = outcome.links
        nodes[index].done = true
        return nil
    }

    // MARK: Report

    func report(startedAt: Date) -> WalkReport {
        var pages: [WalkPage] = []
        var broken: [WalkBrokenLink] = []
        pages.reserveCapacity(nodes.count)
        for node in nodes where node.done {
            let page = WalkPage(url: node.url.description, depth: node.depth, kind: node.kind, method: node.method, status: node.status,
                                timeMs: (node.timeMs * 1000).rounded() / 1000, size: node.size, contentType: node.contentType,
                                redirects: node.redirects, links: node.extracted?.map(\.url.description) ?? [], error: node.error)
            pages.append(page)
            if page.isBroken {
                broken.append(WalkBrokenLink(url: page.url, status: node.error == nil ? node.status : nil, error: node.error,
                                             foundOn: node.foundOn.map { nodes[$0].url.description }.sorted()))
            }
        }
        broken.sort { $0.url < $1.url }
        return WalkReport(site: site, start: start.description, startedAt: startedAt, finishedAt: Date(), depth: configuration.depth,
                          maxPages: configuration.maxPages, pages: pages, broken: broken, truncated: truncated, interrupted: interrupted,
                          requests: requests, connections: multi.statistics.connections,
                          resolve: configuration.resolve.map(\.description))
    }
}
