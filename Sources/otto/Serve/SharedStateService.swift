import Logging
import OttoConfig
import OttoCore
import OttoState
import OttoWalker
import ServiceLifecycle

/// For replicas sharing a PostgreSQL state: follows what the others write. API items and walkers written through any
/// replica reach this one by the project's `NOTIFY` (a listening connection of its own, opened again after it broke,
/// then everything is read again), and by a poll every `interval` in case a notification was lost.
struct SharedStateService: Service {
    let store: PostgresStateStore
    let desired: DesiredStateService
    let walks: StoreWalkService
    let interval: Duration
    let logger: Logger

    func run() async {
        let (changes, sink) = AsyncStream.makeStream(of: StateChange.self, bufferingPolicy: .bufferingNewest(16))
        let listener = store.listenForChanges { sink.yield($0) }
        defer { listener.stop() }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        sink.yield(.walkers)
                    }
                    sink.finish()
                }
                group.addTask {
                    for await change in changes {
                        if Task.isCancelled { return }
                        await follow(change)
                    }
                }
                await group.waitForAll()
            }
        }
    }

    /// Reads again what `change` says moved.
    func follow(_ change: StateChange) async {
        if change == .resync { logger.info("listening for the other replicas' writes") }
        if change == .items || change == .resync {
            do { try await desired.reload() } catch {
                logger.warning("cannot read the API items written by other replicas", metadata: ["error": "\(error)"])
            }
        }
        if change == .walkers || change == .resync {
            do {
                let changed = try await walks.followStoredWalkers()
                if !changed.isEmpty { logger.info("walkers made over the API followed", metadata: ["sites": "\(changed.joined(separator: ","))"]) }
            } catch {
                logger.warning("cannot read the walkers made by other replicas", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Walk turns from a shared state (`WalkTurnStore`): a walk runs only on the replica that took its turn.
struct SharedWalkTurns: WalkTurns {
    let store: any WalkTurnStore
    let replica: String
    let logger: Logger

    func take(site: String, every: Duration) async -> WalkTurn {
        do {
            switch try await store.takeWalk(site: site, every: every, replica: replica) {
            case .notYet(let wait): return .notYet(retryIn: wait)
            case .granted(let lease):
                let store = self.store
                return .mine { succeeded in await store.finishWalk(site: site, lease: lease, outcome: succeeded ? "ok" : "failed") }
            }
        } catch {
            logger.warning("cannot take the walk of a site", metadata: ["site": "\(site)", "error": "\(error)"])
            return .notYet(retryIn: min(every, .seconds(5)))
        }
    }
}
