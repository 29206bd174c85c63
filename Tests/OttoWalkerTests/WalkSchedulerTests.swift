import Foundation
import OttoCore
import OttoWalker
import Testing

/// The scheduler on a manual clock with a fake walk and in-memory history.
@Suite struct WalkSchedulerTests {
    let clock = ManualWalkClock()
    let probe = WalkProbe()
    let history = MemoryWalkHistory()

    func scheduler(maxConcurrentWalks: Int = 4, keepWalks: Int = 50) -> WalkScheduler {
        let probe = self.probe
        return WalkScheduler(history: history, keepWalks: keepWalks, maxConcurrentWalks: maxConcurrentWalks, clock: clock,
                             walk: { site, configuration in try await probe.walk(site: site, configuration: configuration) })
    }

    func config(_ depth: Int = 3) -> WalkConfiguration { WalkConfiguration(start: "http://shop.test/", depth: depth) }

    /// Waits until the scheduler sleeps on the clock (it has looked at everything due now).
    func settled(_ s: WalkScheduler) async -> Bool {
        await eventually {
            let running = await s.scheduled().filter(\.running).count
            return clock.sleeping > 0 && probe.running == running
        }
    }

    @Test func walksOnTheIntervalAndRecordsEachWalk() async throws {
        let s = scheduler(keepWalks: 2)
        try await s.schedule(site: "shop", every: .seconds(60), configuration: config())
        let runner = Task { await s.run() }
        #expect(await eventually { history.all.count == 1 })
        #expect(await settled(s))
        clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(50))
        #expect(probe.calls.count == 1)
        clock.advance(by: .seconds(1))
        #expect(await eventually { history.all.count == 2 })
        #expect(await settled(s))
        clock.advance(by: .seconds(60))
        #expect(await eventually { probe.calls.count == 3 })
        #expect(await eventually { await s.scheduled().first?.runs == 3 })
        #expect(history.all.map(\.id) == [2, 3])   // keepWalks: the newest 2 per site
        let entry = try #require(await s.scheduled().first)
        #expect(entry.site == "shop" && entry.lastWalkID == 3 && entry.every == .seconds(60) && entry.lastError == nil)
        await s.shutdown()
        await runner.value
    }

    @Test func schedulersTakingTurnsWalkEachSiteOncePerInterval() async throws {
        let turns = MemoryWalkTurns(clock: clock)
        let probe = self.probe
        let replicas = (0..<2).map { _ in
            WalkScheduler(history: history, clock: clock, turns: turns,
                          walk: { site, configuration in try await probe.walk(site: site, configuration: configuration) })
        }
        for s in replicas { try await s.schedule(site: "shop", every: .seconds(60), configuration: config()) }
        let runners = replicas.map { s in Task { await s.run() } }
        #expect(await eventually { history.all.count == 1 && turns.finished == [true] })
        for s in replicas { #expect(await settled(s)) }
        // The replica that lost the turn waits for the site to fall due again, and does not walk before.
        clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(50))
        #expect(probe.calls.count == 1)
        clock.advance(by: .seconds(1))
        #expect(await eventually { history.all.count == 2 && turns.finished == [true, true] })
        for s in replicas { #expect(await settled(s)) }
        clock.advance(by: .seconds(60))
        #expect(await eventually { history.all.count == 3 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(probe.calls.count == 3 && probe.maxRunning == 1)
        // Both ran walks between them; a skipped turn counts as no run.
        var runs: [Int] = []
        for s in replicas { runs.append(await s.scheduled().first?.runs ?? 0) }
        #expect(runs.reduce(0, +) == 3, "\(runs)")
        for s in replicas { await s.shutdown() }
        for r in runners { await r.value }
    }

    @Test func neverRunsTwoWalksOfOneSite() async throws {
        let s = scheduler()
        probe.close()
        try await s.schedule(site: "shop", every: .seconds(10), configuration: config())
        let runner = Task { await s.run() }
        #expect(await eventually { probe.running == 1 })
        // Due again twice over, and asked to walk now: still one walk.
        clock.advance(by: .seconds(25))
        #expect(await s.walkNow(site: "shop"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(probe.calls.count == 1 && probe.maxRunning == 1)
        // Once it ends, the walk asked for starts at once.
        probe.open()
        #expect(await eventually { probe.calls.count == 2 })
        #expect(probe.maxRunning == 1)
        await s.shutdown()
        await runner.value
    }

    @Test func replaceAppliesAfterTheRunningWalkAndRemoveCancelsIt() async throws {
        let s = scheduler()
        probe.close()
        try await s.schedule(site: "shop", every: .seconds(300), configuration: config(3))
        let runner = Task { await s.run() }
        #expect(await eventually { probe.running == 1 })
        // Replaced while walking: the walk finishes (and is stored), then one with the new settings starts.
        try await s.schedule(site: "shop", every: .seconds(60), configuration: config(5), source: "api")
        try await Task.sleep(for: .milliseconds(30))
        #expect(probe.calls == [.init(site: "shop", depth: 3)])
        probe.open()
        #expect(await eventually { probe.calls.count == 2 })
        #expect(probe.calls.last == .init(site: "shop", depth: 5))
        #expect(await eventually { history.all.count == 2 })
        #expect(await s.scheduled().first?.source == "api")
        #expect(await s.scheduled().first?.every == .seconds(60))

        // Removed while walking: the walk is cancelled and not stored; re-adding waits for it to end.
        #expect(await settled(s))
        probe.close()
        clock.advance(by: .seconds(60))
        #expect(await eventually { probe.running == 1 })
        #expect(await s.remove(site: "shop"))
        #expect(await s.remove(site: "shop") == false)
        #expect(await s.scheduled().isEmpty)
        #expect(await eventually { probe.cancelled == 1 && probe.running == 0 })
        try await s.schedule(site: "shop", every: .seconds(60), configuration: config(1))
        #expect(await eventually { probe.calls.count == 4 })
        #expect(probe.maxRunning == 1)
        probe.open()
        #expect(await eventually { history.all.count == 3 })
        #expect(history.all.map { $0.depth } == [3, 5, 1])
        await s.shutdown()
        await runner.value
    }

    @Test func limitsWalksAtOnceAcrossSites() async throws {
        let s = scheduler(maxConcurrentWalks: 2)
        probe.close()
        for site in ["a", "b", "c"] { try await s.schedule(site: site, every: .seconds(60), configuration: config()) }
        let runner = Task { await s.run() }
        #expect(await eventually { probe.running == 2 })
        try await Task.sleep(for: .milliseconds(30))
        #expect(probe.calls.map(\.site) == ["a", "b"])
        probe.open()
        #expect(await eventually { probe.calls.count == 3 })
        #expect(probe.maxRunning == 2)
        await s.shutdown()
        await runner.value
    }

    @Test func shutdownFinishesOrCancelsWalksInFlight() async throws {
        let s = scheduler()
        probe.close()
        try await s.schedule(site: "shop", every: .seconds(60), configuration: config())
        let runner = Task { await s.run() }
        #expect(await eventually { probe.running == 1 })
        // Graceful: shutdown waits for the walk, which is stored.
        let stopping = Task { await s.shutdown() }
        try await Task.sleep(for: .milliseconds(30))
        #expect(history.all.isEmpty)
        probe.open()
        await stopping.value
        await runner.value
        #expect(history.all.count == 1)
        await #expect(throws: OttoError.self) { try await s.schedule(site: "blog", every: .seconds(60), configuration: config()) }

        // Cancelling: the walk in flight is cancelled and not stored.
        let s2 = scheduler()
        probe.close()
        try await s2.schedule(site: "blog", every: .seconds(60), configuration: config())
        let runner2 = Task { await s2.run() }
        #expect(await eventually { probe.running == 1 })
        await s2.shutdown(cancelInFlight: true)
        await runner2.value
        #expect(probe.cancelled == 1)
        #expect(history.all.count == 1)

        // Cancelling the task that runs the scheduler does the same.
        let s3 = scheduler()
        try await s3.schedule(site: "news", every: .seconds(60), configuration: config())
        let runner3 = Task { await s3.run() }
        #expect(await eventually { probe.running == 1 })
        runner3.cancel()
        await runner3.value
        #expect(probe.cancelled == 2)
    }

    @Test func rejectsBadSchedulesAndRecordsWalkErrors() async throws {
        let s = WalkScheduler(history: history, clock: clock, walk: { site, _ in
            throw OttoError("walk.start", "cannot walk \(site)", causeText: nil)
        })
        await #expect(throws: OttoError.self) { try await s.schedule(site: "x", every: .zero, configuration: config()) }
        await #expect(throws: OttoError.self) {
            try await s.schedule(site: "x", every: .seconds(1), configuration: WalkConfiguration(start: "shop.test"))
        }
        try await s.schedule(site: "x", every: .seconds(1), configuration: config())
        let runner = Task { await s.run() }
        #expect(await eventually { await s.scheduled().first?.lastError == "cannot walk x" })
        #expect(history.all.isEmpty)
        await s.shutdown()
        await runner.value
    }
}
