import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoHTTP
import OttoState
import OttoWalker

/// `otto walk SITE`: one walk of a site now, printed as a table and recorded in the state's walk history.
struct Walk: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk a site now: request its pages and links, print them and the broken links, record the walk.",
        discussion: """
            Uses the site's `walk:` settings (depth, max_pages, allow, start; start defaults to http://DOMAIN/). \
            Pages of the site are fetched and their links followed up to the depth; images, scripts and links to \
            other hosts are checked with HEAD. Broken links are 4xx and 5xx answers, timeouts, DNS failures and \
            refused connections, each with the pages it was found on.

            Where otto's state knows the site's address (the zone's A records, else the load balancer or web \
            machine), requests go there without DNS, so a site can be walked before its domain resolves; \
            --system-dns turns that off and --resolve HOST:PORT:ADDRESS pins by hand.

            The walk is recorded in the state (the newest 50 per site are kept).

            Exit status: 0 when no link is broken; 1 when the walk found broken links, or could not run.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The site to walk (its `site:` name).") var site: String
    @Flag(name: .long, help: "Print the walk as JSON instead of a table.") var json = false
    @Option(name: .long, help: "Link depth from the start page (default: the site's walk.depth, else 3).") var depth: Int?
    @Option(name: .customLong("max-pages"), help: "Most URLs to request (default: the site's walk.max_pages, else 1000).") var maxPages: Int?
    @Option(name: .customLong("per-host"), help: "Requests at once per host (default 8).") var perHost: Int?
    @Option(name: .long, help: "Seconds allowed per request (default 15).") var timeout: Double?
    @Option(name: .long, help: "Pin HOST:PORT:ADDRESS like curl --resolve (repeatable); wins over pins from otto's state.")
    var resolve: [String] = []
    @Flag(name: .customLong("system-dns"), help: "Resolve every host with the system resolver; no pins from otto's state.")
    var systemDNS = false

    func validate() throws {
        if let depth, depth < 0 { throw ValidationError("--depth must be 0 or more") }
        if let maxPages, maxPages < 1 { throw ValidationError("--max-pages must be at least 1") }
        if let perHost, perHost < 1 { throw ValidationError("--per-host must be at least 1") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        for r in resolve where ResolveEntry(parsing: r) == nil {
            throw ValidationError("--resolve \(r): expected HOST:PORT:ADDRESS (e.g. shop.test:80:127.0.0.1)")
        }
    }

    func run() async throws {
        let report: WalkReport
        let pins: [WalkSetup.Pin]
        do {
            let ctx = try await ProjectContext.open(global)
            guard let site = ctx.project.sites.first(where: { $0.name == self.site }) else {
                let known = ctx.project.sites.map(\.name).sorted()
                throw OttoError("walk.site", "there is no site `\(self.site)` in sites/"
                                + (known.isEmpty ? "" : " (sites: \(known.joined(separator: ", ")))"))
            }
            guard let history = ctx.store as? any WalkHistoryStore else {
                throw OttoError("walk.history", "this state store cannot keep walk history")
            }
            let state = systemDNS ? [:] : try await ctx.store.snapshot().records
            let setup = WalkSetup.configuration(for: site, state: state, pinFromState: !systemDNS,
                                                manualPins: resolve.compactMap(ResolveEntry.init(parsing:)))
            var configuration = setup.configuration
            if let depth { configuration.depth = depth }
            if let maxPages { configuration.maxPages = maxPages }
            if let perHost { configuration.perHostConcurrency = perHost }
            if let timeout { configuration.timeout = .milliseconds(Int64(timeout * 1000)) }
            pins = setup.pins
            var walked = try await SiteWalker().walk(site: site.name, configuration: configuration)
            walked.id = try history.recordWalk(walked, keepLast: WalkHistory.defaultKeep)
            report = walked
        } catch {
            throw fail(error)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            Terminal.out(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else {
            Terminal.out(WalkRenderer.render(report, pins: pins))
        }
        if !report.broken.isEmpty { throw ExitCode.failure }
    }
}
