import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Rate limits, server errors, hangs and error messages, against the fake DigitalOcean's fault injection.
/// One at a time, as under XCTest: the checks measure waits of a few hundred milliseconds.
@Suite(.serialized) struct DigitalOceanFaultTests {
    @Test func tooManyRequestsWithRetryAfterPausesTheWholeBucket() async throws {
        try await DigitalOceanHarness.run { h in
            _ = try await h.provider.create(DO.zone())
            var faults = FakeDigitalOceanFaults()
            // The window (from now) is long enough for the first request to reach it on a loaded machine, and shorter
            // than Retry-After, so a request the paused bucket holds back finds the server no longer throttling.
            faults.throttleForSeconds = 2
            faults.retryAfterSeconds = 3
            await h.fake.setFaults(faults)
            let start = ContinuousClock.now
            // The first request gets the 429 and pauses the account's bucket for Retry-After (3 s); the second, sent
            // while the bucket is paused, waits for the pause instead of hitting the server (whose window is 2 s).
            async let machines = h.provider.observe(kind: "machine", [DO.request(DO.machine(0))])
            // Sent once the fake has answered the 429, and a moment later, for the provider to pause the bucket.
            while await h.fake.injectedFaults()["429"] == nil { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            let zones = try await h.provider.observe(kind: "dns_zone", [DO.request(DO.zone())])
            let zonesDone = ContinuousClock.now - start
            _ = try await machines
            #expect(zones.count == 1)
            #expect(zonesDone >= .milliseconds(2900), "the second request waited for the paused bucket")
            let throttled = await h.fake.injectedFaults()["429"]
            #expect(throttled == 1, "only the first request met the 429")
            let bucket = RateLimiter.shared(account: DigitalOceanAPI.account(token: h.token), rate: 1000, burst: 1000)
            let waited = await bucket.statistics().waited
            #expect(waited > .milliseconds(500))
        }
    }

    @Test func twentyPercentServerErrorsAndHangsStillConverge() async throws {
        // 20% of calls answered 500 and 20% hanging past the client's timeout, half of each after the call was carried
        // out. Each step is retried the way successive otto runs would (observe with the pending key, then create
        // with the same key), and every run must converge without a duplicate.
        try await DigitalOceanHarness.run(timeout: .milliseconds(700), maxAttempts: 8) { h in
            var faults = FakeDigitalOceanFaults()
            faults.errorRate = 0.2
            faults.hangRate = 0.2
            faults.hangSeconds = 1
            faults.seed = 42
            let provider = h.provider
            let machines = (0..<3).map { provider.derive(DO.machine($0)) }
            let zone = DO.zone()
            let records = [DO.record("www.demo.test.", "A", ["192.0.2.1", "192.0.2.2"]),
                           DO.record("demo.test.", "TXT", ["\"hello\""]),
                           DO.record("demo.test.", "MX", ["10 mail.demo.test."])]
            let key = DO.sshKey(DO.publicKey(9))
            await h.fake.setFaults(faults)

            @Sendable func converge(_ what: String, _ step: () async throws -> Void) async throws {
                var lastError: (any Error)?
                for _ in 0..<6 {
                    do {
                        try await step()
                        return
                    } catch {
                        lastError = error
                    }
                }
                Issue.record("\(what) did not converge in 6 runs: \(lastError.map { String(describing: $0) } ?? "")")
            }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for machine in machines {
                    group.addTask {
                        let pending = PendingCreate.newKey()
                        try await converge("\(machine.address)") {
                            if try await provider.observe(kind: "machine", [DO.request(machine, pendingKey: pending)])[machine.address] != nil { return }
                            _ = try await provider.create(machine, idempotencyKey: pending)
                        }
                    }
                }
                group.addTask {
                    try await converge("ssh key") {
                        if try await provider.observe(kind: "ssh_key", [DO.request(key)])[key.address] != nil { return }
                        _ = try await provider.create(key)
                    }
                }
                group.addTask {
                    try await converge("zone") {
                        if try await provider.observe(kind: "dns_zone", [DO.request(zone)])[zone.address] == nil { _ = try await provider.create(zone) }
                    }
                    for record in records {
                        try await converge("\(record.address)") {
                            let found = try await provider.observe(kind: "dns_record", [DO.request(record)])[record.address]
                            if let found, DO.differences(record, found, schema: provider.testSchema("dns_record")).isEmpty { return }
                            _ = try await provider.create(record)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // An update under the same faults: resize (shutdown, resize, power on) driven by the droplet's state.
            let bigger = provider.derive(DO.machine(0, size: "s-2vcpu-2gb"))
            try await converge("resize") {
                guard let current = try await provider.observe(kind: "machine", [DO.request(bigger)])[bigger.address] else {
                    throw OttoError("test", "machine 0 not found")
                }
                if current.attributes["size"] == bigger.attributes["size"], current.attributes["status"] == "active" { return }
                _ = try await provider.update(bigger, current: current, changed: ["size"])
            }
            let injected = await h.fake.injectedFaults()
            #expect(injected["500", default: 0] + injected["hang", default: 0] > 0, "faults were injected: \(injected)")

            // With the faults off: exactly what was asked for, nothing twice.
            await h.fake.setFaults(FakeDigitalOceanFaults())
            let droplets = await h.fake.dropletSummaries()
            #expect(droplets.map(\.name).sorted() == ["demo-web-0", "demo-web-1", "demo-web-2"], "no duplicate droplet")
            #expect(droplets.first { $0.name == "demo-web-0" }?.size == "s-2vcpu-2gb")
            #expect(Set(droplets.map(\.status)) == ["active"])
            let observed = try await provider.observe(kind: "machine", machines.map { DO.request($0) })
            #expect(observed.count == 3)
            let keys = await h.fake.keySummaries()
            #expect(keys.count == 1)
            let lines = await h.fake.recordLines("demo.test").filter { !$0.contains(" NS ") && !$0.contains(" SOA ") }
            #expect(lines == ["@ 300 MX 10 mail.demo.test", "@ 300 TXT hello", "www 300 A 192.0.2.1", "www 300 A 192.0.2.2"])
        }
    }

    @Test func theTokenNeverAppearsInErrors() async throws {
        try await DigitalOceanHarness.run { h in
            // A wrong token: 401 with DigitalOcean's message and a hint.
            let wrongToken = "dop_v1_wrong_" + UUID().uuidString
            let stranger = DigitalOceanHarness.makeProvider(endpoint: h.server.baseURL, token: wrongToken, client: h.client)
            let unauthorized = await errorText { _ = try await stranger.observe(kind: "machine", [DO.request(DO.machine(0))]) }
            #expect(unauthorized.contains("HTTP 401: Unable to authenticate you"), "\(unauthorized)")
            #expect(unauthorized.contains("token_env / token_file"), "\(unauthorized)")
            #expect(!unauthorized.contains(wrongToken))

            // DigitalOcean's refusal, with its own message and the status.
            let refused = await errorText { _ = try await h.provider.create(DO.machine(0, size: "huge"), idempotencyKey: "0123456789abcdef0123") }
            #expect(refused.contains("DigitalOcean refused to create droplet demo-web-0 (machine.demo.web[0]): HTTP 422: You specified an invalid size"), "\(refused)")

            // A server that has gone away.
            await h.server.stop()
            let unreachable = await errorText { _ = try await h.provider.observe(kind: "dns_zone", [DO.request(DO.zone())]) }
            #expect(unreachable.contains("could not reach DigitalOcean"), "\(unreachable)")
            for text in [unauthorized, refused, unreachable] {
                #expect(!text.contains(h.token), "the token leaked: \(text)")
                #expect(!text.contains("Bearer"), "an Authorization header leaked: \(text)")
            }
        }
    }

    @Test func accountKeyIsAHashOfTheToken() {
        let account = DigitalOceanAPI.account(token: "dop_v1_secret")
        #expect(account.hasPrefix("digitalocean:"))
        #expect(account.count == "digitalocean:".count + 16)
        #expect(!account.contains("secret"))
    }
}
