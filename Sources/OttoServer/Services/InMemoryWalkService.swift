import Foundation
import OttoCore
import Synchronization

/// A `WalkService` that keeps API walkers and walk reports in memory and walks nothing itself: the stand-in until the
/// real walker is connected (`otto serve` before the lead wires OttoWalker), and the tests' double.
public final class InMemoryWalkService: WalkService {
    private struct Contents {
        var walkers: [String: WalkerInfo] = [:]
        var reports: [WalkReport] = []
    }
    private let contents = Mutex(Contents())

    /// Creates an empty service.
    public init() {}

    /// Adds a finished walk (tests).
    public func add(_ report: WalkReport) { contents.withLock { $0.reports.append(report) } }

    public func recentWalks(limit: Int) async throws -> [WalkSummary] {
        contents.withLock { c in Array(c.reports.map(\.summary).sorted { $0.startedAt > $1.startedAt }.prefix(limit)) }
    }

    public func walks(site: String) async throws -> [WalkSummary] {
        contents.withLock { c in c.reports.map(\.summary).filter { $0.site == site }.sorted { $0.startedAt > $1.startedAt } }
    }

    public func walk(site: String, id: String) async throws -> WalkReport? {
        contents.withLock { c in c.reports.first { $0.summary.site == site && $0.summary.id == id } }
    }

    public func walkers(site: String) async throws -> [WalkerInfo] {
        contents.withLock { c in c.walkers[site].map { [$0] } ?? [] }
    }

    public func schedule(site: String, spec: WalkSpec) async throws -> WalkerInfo {
        let walker = WalkerInfo(site: site, source: "api", spec: spec)
        contents.withLock { $0.walkers[site] = walker }
        return walker
    }

    public func unschedule(site: String) async throws -> Int {
        contents.withLock { $0.walkers.removeValue(forKey: site) == nil ? 0 : 1 }
    }
}
