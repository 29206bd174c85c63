import OttoCore

/// Waits for instances to reach a state (running after a launch, stopped before a resize, terminated), polling every
/// instance anyone waits for with one DescribeInstances per tick (filtered by instance id, 200 ids a call) instead
/// of one call per instance and tick.
///
/// Filters are used rather than `InstanceId.N`: an id EC2 does not know yet (eventual consistency right after
/// RunInstances) is then simply absent instead of failing the whole call.
actor EC2InstanceWaiter {
    private struct Waiter {
        var instanceID: String
        var states: Set<String>
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<EC2Instance, any Error>
        var lastState: String?
    }

    private let client: AWSClient
    private let interval: Duration
    private let clock = ContinuousClock()
    private var waiters: [Int: Waiter] = [:]
    private var nextID = 0
    private var polling = false

    init(client: AWSClient, interval: Duration) {
        self.client = client
        self.interval = interval
    }

    /// Returns the instance once its state is one of `states`.
    ///
    /// - Throws: `OttoError` `provider.aws.wait` when it does not get there within `timeout`, or when it ends up
    ///   terminated while waiting for something else (with EC2's state reason); the last API error when every poll
    ///   failed until the deadline.
    func wait(for instanceID: String, states: Set<String>, timeout: Duration) async throws -> EC2Instance {
        try await withCheckedThrowingContinuation { continuation in
            nextID += 1
            waiters[nextID] = Waiter(instanceID: instanceID, states: states, deadline: clock.now + timeout,
                                     continuation: continuation)
            if !polling {
                polling = true
                Task { await self.poll() }
            }
        }
    }

    private func poll() async {
        var ticks = 0
        while !waiters.isEmpty {
            // 250 ms first, doubling up to the interval: quick transitions are seen quickly, slow ones cost few calls.
            try? await Task.sleep(for: min(interval, .milliseconds(250) * (1 << min(ticks, 16))))
            ticks += 1
            let ids = Array(Set(waiters.values.map(\.instanceID))).sorted()
            var found: [String: EC2Instance] = [:]
            var failure: (any Error)?
            var start = 0
            while start < ids.count {
                let chunk = Array(ids[start..<min(start + 200, ids.count)])
                start += 200
                do {
                    for instance in try await client.describeInstances(filters: [("instance-id", chunk)]) { found[instance.id] = instance }
                } catch {
                    failure = error
                }
            }
            if let refused = failure as? AWSServiceError, (400..<500).contains(refused.status), !refused.isThrottling {
                // EC2 refuses the call itself (credentials, permissions): polling again will not help.
                for waiter in waiters.values { waiter.continuation.resume(throwing: refused) }
                waiters = [:]
                break
            }
            let now = clock.now
            for (key, var waiter) in waiters {
                if let instance = found[waiter.instanceID] {
                    waiter.lastState = instance.state
                    waiters[key] = waiter
                    if waiter.states.contains(instance.state) {
                        waiters[key] = nil
                        waiter.continuation.resume(returning: instance)
                        continue
                    }
                    if instance.state == "terminated" {
                        waiters[key] = nil
                        waiter.continuation.resume(throwing: OttoError(
                            "provider.aws.wait",
                            "instance \(instance.id) was terminated while otto waited for it to be \(waiter.states.sorted().joined(separator: " or "))\(instance.stateReason.map { " (\($0))" } ?? "")"))
                        continue
                    }
                }
                if now >= waiter.deadline {
                    waiters[key] = nil
                    if let failure, waiter.lastState == nil {
                        waiter.continuation.resume(throwing: failure)
                    } else {
                        waiter.continuation.resume(throwing: OttoError(
                            "provider.aws.wait",
                            "instance \(waiter.instanceID) did not become \(waiter.states.sorted().joined(separator: " or ")) in time (last state: \(waiter.lastState ?? "not listed yet")); check it in the EC2 console"))
                    }
                }
            }
        }
        polling = false
    }
}
