import Foundation
import OttoConfig
import OttoCore
import OttoServer
import OttoState
import OttoWalker
import ServiceLifecycle

/// `/site/walk` on the real walker: history from the state database, walkers from the `WalkScheduler` that
/// `otto serve` runs (the sites' `walk:` settings, and walkers scheduled over HTTP).
struct StoreWalkService: OttoServer.WalkService {
    let store: any OttoCore.WalkHistoryStore
    /// Where walkers made over HTTP are kept (they are scheduled again when `otto serve` starts).
    let walkers: (any WalkerStore)?
    let scheduler: WalkScheduler
    let global: GlobalOptions

    func recentWalks(limit: Int) async throws -> [OttoServer.WalkSummary] {
        let store = self.store
        return try await Blocking.run { try store.recentWalks(site: nil, limit: limit) }.map(Self.summary)
    }

    func walks(site: String) async throws -> [OttoServer.WalkSummary] {
        let store = self.store
        return try await Blocking.run { try store.recentWalks(site: site, limit: WalkHistory.defaultKeep) }.map(Self.summary)
    }

    func walk(site: String, id: String) async throws -> OttoServer.WalkReport? {
        guard let number = Int64(id) else { return nil }
        let store = self.store
        guard let report = try await Blocking.run({ try store.walk(id: number) }), report.site == site else { return nil }
        let pages = report.pages.map { p in
            OttoServer.WalkPage(url: p.url, status: p.status ?? 0, milliseconds: p.timeMs, bytes: p.size,
                                redirects: p.redirects.map(\.location), links: p.links, error: p.error?.description)
        }
        let broken = report.broken.map { b in
            OttoServer.BrokenLink(url: b.url, status: b.status ?? 0, error: b.error?.description, foundOn: b.foundOn)
        }
        return OttoServer.WalkReport(summary: Self.summary(report.summary), pages: pages, brokenLinks: broken)
    }

    func walkers(site: String) async throws -> [WalkerInfo] {
        await scheduler.scheduled().filter { $0.site == site }.map(Self.info)
    }

    func schedule(site: String, spec: WalkSpec) async throws -> WalkerInfo {
        // The site's pins come from the state before each walk (WalkSetup.scheduledWalk); the spec sets the rest.
        let configuration = WalkConfiguration(start: spec.start, depth: spec.depth, maxPages: spec.maxPages, allow: spec.allow)
        try await scheduler.schedule(site: site, every: spec.every.duration, configuration: configuration, source: "api")
        if let walkers { try await Blocking.run { try walkers.storeWalker(site: site, spec) } }
        return WalkerInfo(site: site, source: "api", spec: spec)
    }

    func unschedule(site: String) async throws -> Int {
        if let walkers { try await Blocking.run { try walkers.removeStoredWalker(site: site) } }
        return await scheduler.remove(site: site) ? 1 : 0
    }

    /// Schedules the walkers stored by earlier runs of `otto serve` (made over HTTP); returns their sites.
    func restoreStoredWalkers() async throws -> [String] {
        guard let walkers else { return [] }
        let stored = try await Blocking.run { try walkers.storedWalkers() }
        for (site, spec) in stored.sorted(by: { $0.key < $1.key }) {
            let configuration = WalkConfiguration(start: spec.start, depth: spec.depth, maxPages: spec.maxPages, allow: spec.allow)
            try await scheduler.schedule(site: site, every: spec.every.duration, configuration: configuration, source: "api")
        }
        return stored.keys.sorted()
    }

    /// Brings the walkers made over HTTP in line with the stored ones (another replica made, changed or removed some):
    /// returns the sites it changed.
    func followStoredWalkers() async throws -> [String] {
        guard let walkers else { return [] }
        let stored = try await Blocking.run { try walkers.storedWalkers() }
        let current = Dictionary(await scheduler.scheduled().map { ($0.site, $0) }, uniquingKeysWith: { a, _ in a })
        var changed: [String] = []
        for (site, spec) in stored.sorted(by: { $0.key < $1.key }) {
            let configuration = WalkConfiguration(start: spec.start, depth: spec.depth, maxPages: spec.maxPages, allow: spec.allow)
            if let now = current[site], now.source == "api", now.every == spec.every.duration,
               now.configuration.start == configuration.start, now.configuration.depth == configuration.depth,
               now.configuration.maxPages == configuration.maxPages, now.configuration.allow == configuration.allow {
                continue
            }
            try await scheduler.schedule(site: site, every: spec.every.duration, configuration: configuration, source: "api")
            changed.append(site)
        }
        for (site, walk) in current.sorted(by: { $0.key < $1.key }) where walk.source == "api" && stored[site] == nil {
            await scheduler.remove(site: site)
            changed.append(site)
        }
        return changed
    }

    static func summary(_ s: OttoCore.WalkSummary) -> OttoServer.WalkSummary {
        OttoServer.WalkSummary(id: s.id.map(String.init) ?? "", site: s.site, startedAt: s.startedAt, finishedAt: s.finishedAt,
                               pages: s.pageCount, broken: s.brokenCount, seconds: s.finishedAt.timeIntervalSince(s.startedAt))
    }

    static func info(_ w: ScheduledWalk) -> WalkerInfo {
        let seconds = max(1, Int(w.every.components.seconds))
        let spec = WalkSpec(every: ConfigDuration(parsing: "\(seconds)s")!, depth: w.configuration.depth, maxPages: w.configuration.maxPages,
                            allow: w.configuration.allow, start: w.configuration.start,
                            location: SourceLocation(file: w.source == "api" ? "api:/site/walk/\(w.site)" : "sites/", line: 1, column: 1))
        return WalkerInfo(site: w.site, source: w.source == "api" ? "api" : "yaml", spec: spec)
    }
}

/// Runs the walk scheduler as a service of `otto serve`: on graceful shutdown, walks in flight finish and are recorded.
struct WalkSchedulerService: Service {
    let scheduler: WalkScheduler

    func run() async {
        await withGracefulShutdownHandler {
            await scheduler.run()
        } onGracefulShutdown: {
            Task { await scheduler.shutdown() }
        }
    }
}
