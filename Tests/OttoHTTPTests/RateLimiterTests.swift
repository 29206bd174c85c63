import Foundation
import Testing
@testable import OttoHTTP

@Suite struct RateLimiterTests {
    private let clock = ContinuousClock()

    @Test func burstGoesOutAtOnceThenTheRateHolds() async throws {
        let bucket = RateLimiter(rate: 50, burst: 5)
        let start = clock.now
        for _ in 0..<5 { try await bucket.acquire() }
        // The burst never waits (whatever the machine's load, which only makes the test slower).
        #expect(await bucket.statistics().waited == .zero)
        // 10 more at 50/s cannot go out in less than about 200 ms.
        for _ in 0..<10 { try await bucket.acquire() }
        #expect(clock.now - start >= .milliseconds(180))
        #expect(await bucket.statistics().granted == 15)
    }

    @Test func concurrentWaitersShareTheRate() async throws {
        let bucket = RateLimiter(rate: 100, burst: 1)
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { try await bucket.acquire() } }
            try await group.waitForAll()
        }
        // 20 requests, one every 10 ms after the first.
        #expect(clock.now - start >= .milliseconds(180))
    }

    @Test func pauseHoldsEveryRequestOfTheBucket() async throws {
        let bucket = RateLimiter(rate: 1000, burst: 100)
        await bucket.pause(for: .milliseconds(300))
        let start = clock.now
        try await bucket.acquire()
        #expect(clock.now - start >= .milliseconds(290))
    }

    @Test func sharedBucketIsOnePerAccount() {
        let a = RateLimiter.shared(account: "test:shared-a", rate: 1, burst: 1)
        let b = RateLimiter.shared(account: "test:shared-a", rate: 99, burst: 99)
        let c = RateLimiter.shared(account: "test:shared-c", rate: 1, burst: 1)
        #expect(a === b)
        #expect(a !== c)
        #expect(b.rate == 1)
    }

    @Test func a429PausesTheWholeBucketAndCountsEveryAttempt() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: HTTPClientTests.fastRetry))
        let bucket = RateLimiter(rate: 1000, burst: 100)
        let base = server.baseURL
        let start = clock.now
        // The first attempt gets 429 with Retry-After: 1; a second request sent meanwhile waits for the pause too.
        async let first = client.send(HTTPRequest(url: base + "/retry-after/limited/1", limiter: bucket, label: "do"))
        // Sent once the server has answered the 429 (not after a fixed delay, which a loaded machine can outrun), and
        // a moment later, for the client to pause the bucket.
        let probe = HTTPClient()
        while Int(try await probe.send(HTTPRequest(url: base + "/hits/retry-after/limited/1")).text) ?? 0 < 1 {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: .milliseconds(100))
        let second = try await client.send(HTTPRequest(url: base + "/echo", limiter: bucket, label: "do"))
        let secondAt = clock.now - start
        #expect(second.status == 200)
        #expect(try await first.status == 200)
        #expect(secondAt >= .milliseconds(950))
        #expect(client.requestCounts["do"] == 3)
    }
}
