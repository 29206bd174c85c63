import OttoHTTP

/// Coalesces concurrent rrset changes for one zone into few PATCH requests.
///
/// While a PATCH for the zone is in flight, new changes queue up; when it completes, everything queued goes
/// out as the next PATCH (at most `maxBatch` rrsets, never two changes to the same rrset in one PATCH).
/// Each caller awaits its own result. When PowerDNS rejects a batch as invalid (400/422), the batch is split
/// in halves and retried until the failure lands on the change(s) at fault, with PowerDNS's own message.
actor PowerDNSZoneBatcher {
    private struct Pending {
        var change: PowerDNSModel.RRSet
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let zone: String
    private let api: PowerDNSAPI
    private let maxBatch: Int
    private var queue: [Pending] = []
    private var draining = false

    init(zone: String, api: PowerDNSAPI, maxBatch: Int = 1000) {
        self.zone = zone
        self.api = api
        self.maxBatch = max(1, maxBatch)
    }

    /// Applies one rrset change (REPLACE or DELETE) as part of the next PATCH for the zone.
    func apply(_ change: PowerDNSModel.RRSet) async throws {
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
            for pending in queue {
                if batch.count < maxBatch, keys.insert(pending.change.key).inserted {
                    batch.append(pending)
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
            try await api.patch(zone: zone, batch.map(\.change))
            for pending in batch { pending.continuation.resume() }
        } catch let error as HTTPError where batch.count > 1 && (error.status == 400 || error.status == 422) {
            let middle = batch.startIndex + batch.count / 2
            await send(batch[..<middle])
            await send(batch[middle...])
        } catch {
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }
}
