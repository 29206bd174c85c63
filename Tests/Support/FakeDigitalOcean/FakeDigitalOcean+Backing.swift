import Foundation

/// The fake's side of a `FakeDropletBacking`: what it asks of the machines behind droplets and when.
///
/// - `POST /v2/droplets` boots a machine (`boot`); the create action completes once it is up and no sooner than
///   `actionSeconds`, and then the droplet is `active` with the machine's address as its public (and private) IPv4.
///   When the boot fails the action is `errored`, the droplet stays `new`, and the reason is kept
///   (`FakeDropletSummary.backingError`, `GET /_fake/state`).
/// - `power_off`, `shutdown`, `power_on`, `reboot`, `power_cycle` stop / start the machine, `snapshot` captures it
///   (`capture`); each action completes when that is done, or errors when it failed.
/// - Deleting a droplet destroys its machine, deleting a snapshot forgets its capture, both in the background;
///   `settleBacking()` waits for them and `backingFailures()` lists what failed.
/// - Before answering a `/v2` request, a backed droplet without an action in progress takes the status of its
///   machine: `active` when it runs, `off` when it does not (a guest that powered itself off is `off`).
///
/// Droplets seeded with `seedDroplets` have no machine, even with a backing.
extension FakeDigitalOcean {
    /// Runs `work` on the backing for action `actionID`, which stays in progress until it is done. What `work` returns
    /// (a booted machine's address) becomes the droplet's.
    func launchBacking(for actionID: Int, _ work: @escaping @Sendable (any FakeDropletBacking) async throws -> FakeDropletAddress?) {
        guard let backing else { return }
        actions[actionID]?.backing = .running
        let token = nextBackingToken
        nextBackingToken += 1
        backingTasks[token] = Task {
            let outcome: Result<FakeDropletAddress?, BackingFailure>
            do {
                outcome = .success(try await work(backing))
            } catch {
                outcome = .failure(BackingFailure(reason: String(describing: error)))
            }
            self.backingFinished(actionID: actionID, token: token, outcome)
        }
    }

    /// Runs `work` on the backing outside any action (destroying a machine, forgetting a snapshot); a failure is
    /// logged as `what: reason` for `backingFailures()`.
    func launchBackingChore(_ what: String, _ work: @escaping @Sendable (any FakeDropletBacking) async throws -> Void) {
        guard let backing else { return }
        let token = nextBackingToken
        nextBackingToken += 1
        backingTasks[token] = Task {
            var failure: String?
            do { try await work(backing) } catch { failure = "\(what): \(error)" }
            self.choreFinished(token: token, failure: failure)
        }
    }

    private func choreFinished(token: Int, failure: String?) {
        backingTasks.removeValue(forKey: token)
        if let failure { backingFailureLog.append(failure) }
    }

    private func backingFinished(actionID: Int, token: Int, _ outcome: Result<FakeDropletAddress?, BackingFailure>) {
        backingTasks.removeValue(forKey: token)
        guard var action = actions[actionID] else { return }
        switch outcome {
        case .success(let address):
            action.backing = .done
            if let address, var droplet = droplets[action.dropletID] {
                droplet.backedAddress = address
                droplets[droplet.id] = droplet
            }
            // A snapshot whose droplet was deleted while it was taken never becomes an image: drop its capture.
            if case .snapshot(let imageID, _, _) = action.effect, !pendingActions.contains(actionID) {
                launchBackingChore("forget snapshot \(imageID) of deleted droplet \(action.dropletID)") { try await $0.deleteImage(snapshot: imageID) }
            }
        case .failure(let failure):
            action.backing = .failed(failure.reason)
        }
        actions[actionID] = action
        advanceActions()
    }

    /// Gives each backed droplet without an action in progress the status of its machine.
    func syncWithBacking() async {
        guard let backing else { return }
        let busy = Set(pendingActions.compactMap { actions[$0]?.dropletID })
        let candidates = droplets.values.filter { $0.backed && $0.status != "new" && !busy.contains($0.id) }
            .map { (id: $0.id, generation: $0.actionGeneration) }
        guard !candidates.isEmpty else { return }
        var running: [(id: Int, generation: Int, running: Bool)] = []
        for candidate in candidates {
            if let state = await backing.isRunning(droplet: candidate.id) { running.append((candidate.id, candidate.generation, state)) }
        }
        // Other requests ran meanwhile: apply only to droplets no action touched since.
        for entry in running {
            guard var droplet = droplets[entry.id], droplet.actionGeneration == entry.generation, droplet.status != "new",
                  !pendingActions.contains(where: { actions[$0]?.dropletID == entry.id }) else { continue }
            droplet.status = entry.running ? "active" : "off"
            droplets[entry.id] = droplet
        }
    }

    /// Waits until no backing work is in flight (boots, power changes, captures, destroys), then applies what it
    /// finished. Call it before checking what is left on the host.
    public func settleBacking() async {
        while let (_, task) = backingTasks.first {
            await task.value
        }
        advanceActions()
    }

    /// Backing work outside actions that failed, as `what: reason` lines (empty when all went well). Failed actions
    /// are `errored` instead, with the reason in `FakeDropletSummary.backingError` for creates.
    public func backingFailures() -> [String] { backingFailureLog }

    /// Takes the status of backed droplets from their machines now (what every `/v2` request does first), then
    /// completes the actions whose time has come: for `dropletSummaries()` after a change behind the fake's back.
    public func refreshFromBacking() async {
        await syncWithBacking()
        advanceActions()
    }
}

/// Why backing work failed, as text (the fake records and reports it).
struct BackingFailure: Error {
    var reason: String
}
