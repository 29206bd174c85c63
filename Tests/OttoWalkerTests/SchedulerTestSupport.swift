import Foundation
import OttoCore
import OttoWalker
import Synchronization

/// A clock that moves only when the test says so.
final class ManualWalkClock: WalkClock {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Duration = .zero
        var sleepers: [Int: Sleeper] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }
    private let state = Mutex(State())

    func now() -> Duration { state.withLock { $0.now } }

    /// Sleepers waiting right now.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Duration) async throws {
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, done, cancelled }
                let now: Now = state.withLock { s in
                    if s.cancelled.remove(id) != nil { return .cancelled }
                    if s.now >= deadline { return .done }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .wait
                }
                switch now {
                case .wait: break
                case .done: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { s in
                guard let sleeper = s.sleepers.removeValue(forKey: id) else {
                    s.cancelled.insert(id)
                    return nil as Sleeper?
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline passed.
    func advance(by duration: Duration) {
        let due = state.withLock { s in
            s.now += duration
            let due = s.sleepers.filter { $0.value.deadline <= s.now }
            for id in due.keys { s.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}

/// Walk history in memory.
final class MemoryWalkHistory: WalkHistoryStore {
    private let walks = Mutex<[WalkReport]>([])

    var all: [WalkReport] { walks.withLock { $0 } }

    func recordWalk(_ report: WalkReport, keepLast: Int?) throws -> Int64 {
        walks.withLock { list in
            var stored = report
            stored.id = Int64(list.count + 1)
            list.append(stored)
            if let keepLast {
                let mine = list.filter { $0.site == report.site }
                let drop = Set(mine.dropLast(keepLast).compactMap(\.id))
                list.removeAll { drop.contains($0.id!) }
            }
            return stored.id!
        }
    }
    func recentWalks(site: String?, limit: Int) throws -> [WalkSummary] {
        walks.withLock { $0.filter { site == nil || $0.site == site }.reversed().prefix(limit).map(\.summary) }
    }
    func walkIDs(site: String, limit: Int) throws -> [Int64] {
        walks.withLock { $0.filter { $0.site == site }.reversed().prefix(limit).compactMap(\.id) }
    }
    func lastWalk(site: String) throws -> WalkReport? { walks.withLock { $0.last { $0.site == site } } }
    func walk(id: Int64) throws -> WalkReport? { walks.withLock { $0.first { $0.id == id } } }
    func pruneWalks(keepLast: Int, site: String?) throws -> Int { 0 }
}

/// A fake walk: records each call and, while the gate is closed, blocks until it opens (or the walk is cancelled).
final class WalkProbe: Sendable {
    struct Call: Sendable, Equatable {
        var site: String
        var depth: Int
    }
    private let state = Mutex<(calls: [Call], open: Bool, running: Int, maxRunning: Int, cancelled: Int)>(([], true, 0, 0, 0))

    var calls: [Call] { state.withLock { $0.calls } }
    var running: Int { state.withLock { $0.running } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
    var cancelled: Int { state.withLock { $0.cancelled } }

    func close() { state.withLock { $0.open = false } }
    func open() { state.withLock { $0.open = true } }

    func walk(site: String, configuration: WalkConfiguration) async throws -> WalkReport {
        state.withLock { s in
            s.calls.append(Call(site: site, depth: configuration.depth))
            s.running += 1
            s.maxRunning = max(s.maxRunning, s.running)
        }
        defer { state.withLock { $0.running -= 1 } }
        while !state.withLock({ $0.open }) {
            do { try await Task.sleep(for: .milliseconds(2)) } catch {
                state.withLock { $0.cancelled += 1 }
                throw error
            }
        }
        return WalkReport(site: site, start: configuration.start, startedAt: Date(), finishedAt: Date(), depth: configuration.depth,
                          maxPages: configuration.maxPages, pages: [], broken: [])
    }
}

/// Waits (real time) until `condition` holds; false when it never did. The 30 s limit only ends a wait for
/// something that does not happen: it is far above what a loaded machine adds, and a condition that holds returns at once.
func eventually(_ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return await condition()
}

/// Walk turns kept in memory on the manual clock (what `PostgresStateStore` keeps in its `scopes` table, tested there
/// against a real server): a site is walked by whoever asks first once it is due, and is due again `every` after that.
final class MemoryWalkTurns: WalkTurns {
    let clock: ManualWalkClock
    private let state = Mutex<(due: [String: Duration], walking: Set<String>, finished: [Bool])>(([:], [], []))

    init(clock: ManualWalkClock) { self.clock = clock }

    var finished: [Bool] { state.withLock { $0.finished } }

    func take(site: String, every: Duration) async -> WalkTurn {
        let now = clock.now()
        let wait: Duration? = state.withLock { s in
            if s.walking.contains(site) { return .seconds(1) }
            if let due = s.due[site], due > now { return due - now }
            s.walking.insert(site)
            s.due[site] = now + every
            return nil
        }
        if let wait { return .notYet(retryIn: wait) }
        return .mine { [self] succeeded in done(site: site, succeeded: succeeded) }
    }

    private func done(site: String, succeeded: Bool) {
        state.withLock { s in
            s.walking.remove(site)
            s.finished.append(succeeded)
        }
    }
}
