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
/// next batch, within `limits` and never with two changes to one rrset. Each caller awaits its own result. A batch the
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

    /// A batcher that sends batches with `send`.
    init(limits: BatchLimits, send: @escaping @Sendable ([Change]) async throws -> Void,
         isInvalidBatch: @escaping @Sendable (any Error) -> Bool) {
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
        }
        draining = false
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
