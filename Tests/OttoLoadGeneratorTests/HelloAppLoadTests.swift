import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// The load generator (Tests/Support/LoadGenerator.swift) against the test app `examples/apps/hello`, both on
/// loopback: the counts add up, versions and statuses land in the right seconds, connection errors are counted by
/// kind, and the app's switches (fail after, slow requests, graceful and ignored SIGTERM) do what they say.
/// Serialized: each test runs a python server and a few hundred requests per second on a 2-core machine.
@Suite(.tags(.loadGenerator), .serialized) struct HelloAppLoadTests {
    /// Every request due has exactly one outcome.
    func expectCountsAddUp(_ report: LoadReport, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(report.ok + report.non2xx + report.errors + report.unsent == report.scheduled, "\(report.summary)",
                sourceLocation: sourceLocation)
        #expect(report.timeline.map { $0.ok + $0.non2xx + $0.errors + $0.unsent }.reduce(0, +) == report.scheduled,
                sourceLocation: sourceLocation)
        #expect(report.statuses.values.reduce(0, +) == report.ok + report.non2xx, sourceLocation: sourceLocation)
        #expect(report.errorKinds.values.reduce(0, +) == report.errors, sourceLocation: sourceLocation)
        #expect(report.versions.values.map(\.count).reduce(0, +) == report.ok + report.non2xx, sourceLocation: sourceLocation)
        #expect(report.latencyMs.count == report.ok + report.non2xx, sourceLocation: sourceLocation)
    }

    @Test func steadyLoadIsAll2xxFromTheServedVersion() async throws {
        let app = try await HelloApp.start(version: "1.4.2")
        defer { Task { await app.stop() } }
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/version", rate: 200, connections: 8,
                                                               duration: .seconds(3))).finished()
        expectCountsAddUp(report)
        #expect(report.scheduled == 600)
        #expect(report.ok == 600, "\(report.summary)")
        #expect(report.statuses == [200: 600])
        #expect(report.errors == 0 && report.non2xx == 0 && report.unsent == 0)
        #expect(Set(report.versions.keys) == ["1.4.2"])
        #expect(report.timeline.count >= 3)
        #expect(report.timeline.prefix(3).allSatisfy { $0.versions.keys.sorted() == ["1.4.2"] && $0.ok > 0 })
        #expect(report.latencyMs.p50 > 0 && report.latencyMs.p50 <= report.latencyMs.p90 && report.latencyMs.p90 <= report.latencyMs.p99
                && report.latencyMs.p99 <= report.latencyMs.max)
        // The JSON printed by otto-loadgen reads back as the same report and has the keys docs/loadgen.md names.
        #expect(try LoadReport.decode(report.json()) == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["url", "rate", "connections", "timeout_s", "started_unix", "elapsed_s", "scheduled", "sent", "ok",
                                     "non_2xx", "errors", "unsent", "max_queued", "achieved_rate", "statuses", "error_kinds",
                                     "latency_ms", "versions", "timeline"])
        let version = try #require((object["versions"] as? [String: Any])?["1.4.2"] as? [String: Any])
        #expect(Set(version.keys) == ["count", "first_s", "last_s"])
        let second = try #require((object["timeline"] as? [[String: Any]])?.first)
        #expect(Set(second.keys) == ["second", "ok", "non_2xx", "errors", "unsent", "statuses", "error_kinds", "versions", "latency_ms"])
        #expect((second["statuses"] as? [String: Int])?["200"] != nil)
    }

    @Test func keptAnswersAreEveryAnswerInOrderWithTheSameLatencies() async throws {
        let app = try await HelloApp.start(version: "1.4.3")
        defer { Task { await app.stop() } }
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/version", rate: 200, connections: 8,
                                                               duration: .seconds(2), keepAnswers: true)).finished()
        let answers = try #require(report.answers)
        #expect(answers.count == report.ok + report.non2xx && answers.count == 400, "\(report.summary)")
        #expect(zip(answers, answers.dropFirst()).allSatisfy { $0.endMs <= $1.endMs })
        #expect(answers.allSatisfy { $0.latencyMs > 0 && $0.endMs <= report.elapsedSeconds * 1000 + 1 && $0.version == "1.4.3" })
        // the same latencies as the summary: its p99 and max are among them
        let latencies = answers.map(\.latencyMs).sorted()
        #expect(latencies.last == report.latencyMs.max)
        #expect(latencies[Int((0.99 * Double(latencies.count)).rounded(.up)) - 1] == report.latencyMs.p99)
        // in JSON each is a triple [end_ms, latency_ms, version], and reads back the same
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect((object["answers"] as? [[Any]])?.first?.count == 3)
        #expect(try LoadReport.decode(report.json()) == report)
    }

    @Test func failAfterTurnsAnswersInto500sAfterASecond() async throws {
        let app = try await HelloApp.start(version: "2.0.0", arguments: ["--fail-after", "1"])
        defer { Task { await app.stop() } }
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/version", rate: 200, connections: 8,
                                                               duration: .seconds(3))).finished()
        expectCountsAddUp(report)
        #expect(report.errors == 0 && report.unsent == 0, "\(report.summary)")
        #expect(report.ok > 0 && report.non2xx > 0, "\(report.summary)")
        #expect(report.statuses[500] == report.non2xx)
        // The timeline shows when: the app fails from 1 s after it started listening, and the generator started a
        // little after that, so 2xx answers end and 500s begin within the first two seconds; from then on only 500s.
        let firstFailing = try #require(report.timeline.first { $0.non2xx > 0 })
        let lastOK = try #require(report.timeline.last { $0.ok > 0 })
        #expect(firstFailing.second <= 1 && lastOK.second <= 1, "\(report.timeline)")
        #expect(report.timeline.count >= 3)
        #expect(report.timeline.dropFirst(2).allSatisfy { $0.ok == 0 && $0.statuses.keys.sorted() == [500] }, "\(report.timeline)")
        #expect(report.versions.keys.sorted() == ["2.0.0"])
    }

    @Test func killingTheServerMidRunCountsConnectionErrors() async throws {
        let app = try await HelloApp.start()
        defer { Task { await app.stop() } }
        let load = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/version", rate: 200, connections: 8,
                                                             timeout: .seconds(2)))
        try await Task.sleep(for: .milliseconds(1500))
        await app.stop(SIGKILL)
        try await Task.sleep(for: .seconds(1))
        let report = await load.stopAndReport()
        expectCountsAddUp(report)
        #expect(report.ok > 0, "\(report.summary)")
        #expect(report.non2xx == 0)
        // After the kill every new connection is refused; requests on connections open at the kill end reset or closed.
        #expect(report.errors(.refused) > 50, "\(report.summary)")
        #expect(Set(report.errorKinds.keys).isSubset(of: [.refused, .reset, .closed]), "\(report.summary)")
        let lastOK = try #require(report.timeline.last { $0.ok > 0 })
        let firstError = try #require(report.timeline.first { $0.errors > 0 })
        #expect(lastOK.second <= firstError.second)
    }

    @Test func slowRequestsComplete() async throws {
        let app = try await HelloApp.start()
        defer { Task { await app.stop() } }
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/slow?s=2", rate: 5, connections: 8,
                                                               duration: .seconds(1), timeout: .seconds(10))).finished()
        expectCountsAddUp(report)
        #expect(report.ok == 5, "\(report.summary)")
        #expect(report.latencyMs.p50 >= 2000 && report.latencyMs.max < 6000, "\(report.summary)")
    }

    @Test func sigtermFinishesTheRequestInFlightThenExits() async throws {
        let app = try await HelloApp.start()
        defer { Task { await app.stop() } }
        // One request of 4 s at the start of the run; SIGTERM 2 s into it.
        let load = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/slow?s=4", rate: 1, connections: 1,
                                                             duration: .milliseconds(500), timeout: .seconds(15)))
        try await Task.sleep(for: .seconds(2))
        let signalled = ContinuousClock.now
        app.process.kill(SIGTERM)
        // It stops accepting at once, while the slow request is still being answered.
        var refused = false
        for _ in 0..<40 where !refused {
            try await Task.sleep(for: .milliseconds(50))
            refused = !app.acceptsConnections
        }
        #expect(refused, "the app still accepted connections 2 s after SIGTERM")
        let status = await app.process.waitForExit()
        let exitedAfter = ContinuousClock.now - signalled
        let report = await load.finished()
        #expect(report.scheduled == 1 && report.ok == 1, "\(report.summary)\n\(app.log())")
        #expect(status == 0, "\(app.log())")
        #expect(exitedAfter >= .milliseconds(1500), "exited \(exitedAfter) after SIGTERM, before the slow request's end")
        #expect(app.log().contains("stopping gracefully"))
    }

    @Test func ignoreSigtermKeepsItRunningUntilSIGKILL() async throws {
        let app = try await HelloApp.start(arguments: ["--ignore-sigterm"])
        defer { Task { await app.stop() } }
        app.process.kill(SIGTERM)
        try await Task.sleep(for: .seconds(1))
        #expect(app.process.isRunning)
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/healthz", rate: 20, connections: 2,
                                                               duration: .milliseconds(500))).finished()
        #expect(report.ok == report.scheduled && report.ok > 0, "\(report.summary)")
        app.process.kill(SIGKILL)
        #expect(await app.process.waitForExit() == 128 + SIGKILL)
    }

    @Test func failingHealthAnswers503() async throws {
        let app = try await HelloApp.start(arguments: ["--fail-health"])
        defer { Task { await app.stop() } }
        let report = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/healthz", rate: 20, connections: 2,
                                                               duration: .milliseconds(500))).finished()
        expectCountsAddUp(report)
        #expect(report.statuses == [503: report.scheduled], "\(report.summary)")
    }

    @Test func slowStartIsRefusedThenServes() async throws {
        let app = try await HelloApp.start(version: "3.1.0", arguments: ["--slow-start", "1"], waitUntilListening: false)
        defer { Task { await app.stop() } }
        let load = try await LoadGenerator.start(LoadOptions(url: app.baseURL + "/version", rate: 50, connections: 4))
        try await app.waitUntilListening()
        try await Task.sleep(for: .milliseconds(500))
        let report = await load.stopAndReport()
        expectCountsAddUp(report)
        #expect(report.errors(.refused) > 0 && report.errors == report.errors(.refused), "\(report.summary)")
        #expect(report.ok > 0 && report.non2xx == 0, "\(report.summary)")
        #expect(report.versions.keys.sorted() == ["3.1.0"])
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let silent = try SilentListener()
        let report = try await LoadGenerator.start(LoadOptions(url: "http://127.0.0.1:\(silent.port)/", rate: 20, connections: 4,
                                                               duration: .milliseconds(200), timeout: .milliseconds(300))).finished()
        expectCountsAddUp(report)
        #expect(report.scheduled == 4)
        #expect(report.errors(.timeout) == 4, "\(report.summary)")
        withExtendedLifetime(silent) {}
    }

    @Test func hooksLogALine() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-hooks-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = dir + "/hooks.log"
        var environment = ProcessInfo.processInfo.environment
        environment["HELLO_HOOK_LOG"] = log
        environment["APP_VERSION"] = "9.9.9"
        for hook in ["before-start", "after-start", "before-stop"] {
            let result = try await runProcess([HelloApp.bundle + "/hooks/" + hook], environment: environment)
            #expect(result.status == 0, "\(hook): \(result.stderr)")
        }
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(zip(lines, ["before-start", "after-start", "before-stop"]).allSatisfy { $0.contains(" \($1) version=9.9.9 ") })
        environment["HELLO_HOOK_FAIL"] = "before-stop"
        #expect(try await runProcess([HelloApp.bundle + "/hooks/before-stop"], environment: environment).status == 1)
    }
}
