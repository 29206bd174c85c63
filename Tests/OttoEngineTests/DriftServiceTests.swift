import Foundation
import Logging
import MetricsTestKit
import OttoConfig
import OttoCore
import OttoEngine
import OttoPlan
import OttoState
import OttoTestSupport
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// Scheduled drift correction on the recording provider and a real SQLite state.
@Suite(.serialized) struct DriftServiceTests {
    static let schemas = [KindSchema(kind: "file"), KindSchema(kind: "record")]

    final class Fixture: Sendable {
        let dir: String
        let store: SQLiteStateStore
        let provider = RecordingProvider(schemas: DriftServiceTests.schemas)
        let desired: [Resource] = [
            Resource(address: "file.shop.motd", provider: "rec", attributes: ["content": "hello"]),
            Resource(address: "record.blog.www", provider: "rec", attributes: ["values": .list(["192.0.2.1"])]),
        ]

        init() throws {
            dir = NSTemporaryDirectory() + "otto-drift-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            store = try SQLiteStateStore(path: dir + "/state.db")
        }

        deinit { try? FileManager.default.removeItem(atPath: dir) }

        /// `blog` reports, everything else is corrected.
        func input(policy: @escaping @Sendable (ResourceAddress) -> DriftPolicy = { $0.name.hasPrefix("blog.") ? .report : .correct })
            -> ReconcileInput {
            let provider = self.provider
            return ReconcileInput(apply: ApplyInput(resources: desired, providers: { _ in ["rec": provider] }), policy: policy, store: store)
        }
    }

    @Test func correctsWhatItMayAndOnlyReportsTheRest() async throws {
        let f = try Fixture()
        let first = await Reconciler().run(f.input())
        #expect(first.outcome == .ok)
        #expect(first.items.count == 2 && first.items.allSatisfy { $0.reason == .doesNotExist })
        // The report-only site's new record is not made either: report means change nothing.
        #expect(f.provider.cloud.keys.sorted() == ["file.shop.motd"])

        // Someone changes the file behind otto's back.
        f.provider.tamper("file.shop.motd", ["content": "defaced"])
        let second = await Reconciler().run(f.input())
        #expect(second.outcome == .ok)
        let file = try #require(second.items.first { $0.address == "file.shop.motd" })
        #expect(file.isDrift && file.corrected && file.policy == .correct)
        #expect(f.provider.cloud["file.shop.motd"]?.attributes["content"] == "hello")
        let record = try #require(second.items.first { $0.address == "record.blog.www" })
        #expect(!record.corrected && record.policy == .report)
        // Every run is in the state's history, with its summary.
        let runs = try await f.store.runs(limit: 10)
        #expect(runs.count == 2)
        #expect(runs.first?.summary?.contains("1 corrected") == true)
        #expect(runs.first?.outcome == "ok")
    }

    @Test func aLockedStateSkipsTheRun() async throws {
        let f = try Fixture()
        let lease = try await f.store.lock([.account], command: "otto apply", timeout: .zero)
        let run = await Reconciler().run(f.input())
        #expect(run.outcome == .busy)
        #expect(run.message?.contains("otto apply") == true)
        #expect(f.provider.calls.isEmpty)
        await lease.release()
    }

    @Test func metricsCountDriftFoundAndCorrected() async throws {
        let f = try Fixture()
        let metrics = TestMetrics()
        let driftMetrics = DriftMetrics(factory: metrics)
        _ = await Reconciler().run(f.input { _ in .correct })
        f.provider.tamper("file.shop.motd", ["content": "defaced"])
        f.provider.tamper("record.blog.www", nil)
        let run = await Reconciler().run(f.input { _ in .correct })
        driftMetrics.record(run, consecutiveFailures: 0)
        #expect(run.driftFound == 2 && run.corrected == 2, "\(run.outcome): \(run.message ?? "") \(run.items)")
        #expect(try metrics.expectCounter("otto_drift_found_total").totalValue == 2)
        #expect(try metrics.expectCounter("otto_drift_corrected_total").totalValue == 2)
        #expect(try metrics.expectCounter("otto_runs_total", [("outcome", "ok")]).totalValue == 1)
        #expect(try metrics.expectGauge("otto_last_success_timestamp_seconds").lastValue ?? 0 > 1_700_000_000)
    }

    @Test func failingRunsBackOffExponentiallyAndRecover() async throws {
        let f = try Fixture()
        let waits = Mutex<[Duration]>([])
        let attempts = Mutex(0)
        let history = DriftHistory()
        let service = DriftService(
            interval: .seconds(60), jitter: 0, maxBackoff: .seconds(400), history: history, metrics: DriftMetrics(factory: TestMetrics()),
            logger: Logger(label: "test"),
            load: {
                let n = attempts.withLock { $0 += 1; return $0 }
                if n <= 4 { throw OttoError("provider.down", "the API is down") }
                return f.input()
            },
            sleep: { d in
                let count = waits.withLock { $0.append(d); return $0.count }
                if count >= 6 { throw CancellationError() }
            })
        try await service.run()
        // 4 failures: 120, 240, 400 (capped), 400; then a success: back to the interval.
        #expect(waits.withLock { $0 } == [.seconds(120), .seconds(240), .seconds(400), .seconds(400), .seconds(60), .seconds(60)])
        let recent = await history.recent()
        #expect(recent.count == 6)
        #expect(recent.last?.outcome == .failed && recent.last?.message?.contains("the API is down") == true)
        #expect(recent.first?.outcome == .ok)
    }

    @Test func gracefulShutdownLetsTheRunInFlightFinish() async throws {
        let f = try Fixture()
        let slow = RecordingProvider(schemas: DriftServiceTests.schemas, delay: .milliseconds(300))
        let history = DriftHistory()
        let started = Mutex(0)
        let service = DriftService(
            interval: .seconds(3600), history: history, metrics: DriftMetrics(factory: TestMetrics()), logger: Logger(label: "test"),
            load: {
                started.withLock { $0 += 1 }
                var input = f.input { _ in .correct }
                input.apply.providers = { _ in ["rec": slow] }
                return input
            })
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                // Shut down while the first run's creates are in flight (each takes 300 ms).
                while slow.calls.filter({ $0.op == "create" }).isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        // The run finished its creates and recorded them; no second run started.
        #expect(started.withLock { $0 } == 1)
        #expect(slow.cloud.count == 2)
        #expect(try await f.store.snapshot().records.count == 2)
        #expect(await history.recent().first?.outcome == .ok)
    }
}
