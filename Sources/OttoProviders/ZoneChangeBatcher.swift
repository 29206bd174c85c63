import Synchronization

/// One rrset change a DNS API takes in batches (a PowerDNS PATCH, a Route53 ChangeResourceRecordSets).
protocol BatchableChange: Sendable {
    /// The rrset it changes: one batch never holds two changes of one rrset.
    var rrsetKey: String { get }
    /// What it counts for against a batch's value and character limits.
    var weight: (records: Int, characters: Int) { get }
}

/// The most one batch may hold.
struct BatchLimits: Sendable {
    /// Changes per batch.
    var changes: Int
    /// Values (records) per batch.
    var records: Int = .max
    /// Characters of values per batch.
    var characters: Int = .max
}

/// Coalesces concurrent rrset changes for one zone into few API calls.
///
/// While a call for the zone is in flight, new changes queue up; when it completes, everything queued goes out as the
/// next batch (while the zone is busy, after a short wait for the last batch's callers to send their next changes), within `limits` and never with two changes to one rrset. Each caller awaits its own result. A batch the
/// API rejects as invalid (`isInvalidBatch`: it applies a batch entirely or not at all) is split in halves and sent
/// again until the failure lands on the change(s) at fault, with the API's own message.
actor ZoneChangeBatcher<Change: BatchableChange> {
    private struct Pending {
        var change: Change
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let limits: BatchLimits
    private let send: @Sendable ([Change]) async throws -> Void
    private let isInvalidBatch: @Sendable (any Error) -> Bool
    private var queue: [Pending] = []
    private var draining = false
    /// The size of the last batch sent and when its answer came.
    private var last: (size: Int, at: ContinuousClock.Instant)?
    /// A batch answered this recently means the zone is busy.
    private let busyWindow: Duration
    /// The longest a batch waits for the changes on their way.
    private let gatherLimit: Duration
    /// How often a waiting batch looks at the queue.
    static var gatherStep: Duration { .microseconds(250) }

    /// A batcher that sends batches with `send`.
    /// While the zone is busy (a batch answered within `busyWindow`), a batch waits up to `gatherLimit` for the callers
    /// of the last one to send their next changes.
    init(limits: BatchLimits, send: @escaping @Sendable ([Change]) async throws -> Void,
         isInvalidBatch: @escaping @Sendable (any Error) -> Bool,
         gatherLimit: Duration = .milliseconds(5), busyWindow: Duration = .milliseconds(50)) {
        self.gatherLimit = gatherLimit
        self.busyWindow = busyWindow
        self.limits = BatchLimits(changes: max(1, limits.changes), records: limits.records, characters: limits.characters)
        self.send = send
        self.isInvalidBatch = isInvalidBatch
    }

    /// Applies one change as part of the next batch for the zone; throws what the API answered for its batch.
    func apply(_ change: Change) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.append(Pending(change: change, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queue.isEmpty {
            await gather()
            var batch: [Pending] = []
            var rest: [Pending] = []
            var keys = Set<String>()
            var records = 0
            var characters = 0
            for pending in queue {
                let weight = pending.change.weight
                let fits = batch.isEmpty || (batch.count < limits.changes && records + weight.records <= limits.records
                                             && characters + weight.characters <= limits.characters)
                if fits, keys.insert(pending.change.rrsetKey).inserted {
                    batch.append(pending)
                    records += weight.records
                    characters += weight.characters
                } else {
                    rest.append(pending)
                }
            }
            queue = rest
            await deliver(batch[...])
            last = (batch.count, ContinuousClock.now)
        }
        draining = false
    }

    /// While the zone is busy (a batch of several changes was answered moments ago), waits a little for its callers'
    /// next changes before sending fewer than that batch held: otherwise the first change to come back goes out alone,
    /// the rest in the next request, and requests alternate between one change and all the others for the whole apply.
    /// A lone change (nothing sent lately) is not held; no batch waits longer than `gatherLimit`.
    private func gather() async {
        guard let last, last.size > 1, ContinuousClock.now - last.at < busyWindow else { return }
        let deadline = ContinuousClock.now + gatherLimit
        while queue.count < min(last.size, limits.changes) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: Self.gatherStep)
        }
    }

    private func deliver(_ batch: ArraySlice<Pending>) async {
        do {
            try await send(batch.map(\.change))
            for pending in batch { pending.continuation.resume() }
        } catch where batch.count > 1 && isInvalidBatch(error) {
            let middle = batch.startIndex + batch.count / 2
            await deliver(batch[..<middle])
            await deliver(batch[middle...])
        } catch {
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }
}

/// One batcher per zone, made on first use.
final class ZoneBatchers<Change: BatchableChange>: Sendable {
    private let batchers = Mutex<[String: ZoneChangeBatcher<Change>]>([:])

    /// The batcher for `zone`, made by `make` the first time.
    func batcher(for zone: String, make: () -> ZoneChangeBatcher<Change>) -> ZoneChangeBatcher<Change> {
        batchers.withLock { batchers in
            if let existing = batchers[zone] { return existing }
            let created = make()
            batchers[zone] = created
            return created
        }
    }
}
