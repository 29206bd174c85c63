import Synchronization

/// Coalesces concurrent rrset changes for one hosted zone into few ChangeResourceRecordSets calls.
///
/// While a call for the zone is in flight, new changes queue up; when it completes, everything queued goes out as
/// the next batch, within Route53's limits (at most `maxChanges` changes, 1,000 values and 32,000 characters of
/// values, an UPSERT counting twice) and never two changes to one rrset in a batch. Each caller awaits its own
/// result. Route53 applies a batch entirely or not at all, so when it rejects one as invalid (400), the batch is
/// split in halves and retried until the failure lands on the change(s) at fault, with Route53's own message.
actor Route53ChangeBatcher {
    private struct Pending {
        var change: Route53Change
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let zoneID: String
    private let client: AWSClient
    private let maxChanges: Int
    private var queue: [Pending] = []
    private var draining = false

    init(zoneID: String, client: AWSClient, maxChanges: Int = 500) {
        self.zoneID = zoneID
        self.client = client
        self.maxChanges = max(1, maxChanges)
    }

    /// Applies one change as part of the next batch for the zone.
    /// - Throws: `AWSServiceError` / `HTTPError` as the API reported them.
    func apply(_ change: Route53Change) async throws {
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
                let fits = batch.isEmpty
                    || (batch.count < maxChanges && records + weight.records <= 1000 && characters + weight.characters <= 32000)
                if fits, keys.insert(pending.change.recordSet.key).inserted {
                    batch.append(pending)
                    records += weight.records
                    characters += weight.characters
                } else {
                    rest.append(pending)
                }
            }
            queue = rest
            await send(batch[...])
        }
        draining = false
    }

    private func send(_ batch: ArraySlice<Pending>) async {
        do {
            try await client.changeRecordSets(zoneID: zoneID, batch.map(\.change), comment: "otto")
            for pending in batch { pending.continuation.resume() }
        } catch let error as AWSServiceError where batch.count > 1 && error.status == 400 && !error.isThrottling {
            let middle = batch.startIndex + batch.count / 2
            await send(batch[..<middle])
            await send(batch[middle...])
        } catch {
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }
}

/// One batcher per hosted zone.
final class Route53BatcherRegistry: Sendable {
    private let batchers = Mutex<[String: Route53ChangeBatcher]>([:])

    /// The batcher for `zoneID`, created on first use.
    func batcher(for zoneID: String, client: AWSClient) -> Route53ChangeBatcher {
        batchers.withLock { batchers in
            if let existing = batchers[zoneID] { return existing }
            let created = Route53ChangeBatcher(zoneID: zoneID, client: client)
            batchers[zoneID] = created
            return created
        }
    }
}
