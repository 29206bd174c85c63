import OttoCore
import OttoHTTP

extension DigitalOceanProvider {
    /// How one droplet action went.
    enum ActionOutcome: Equatable {
        /// It ran to completion.
        case completed
        /// DigitalOcean reports it errored.
        case errored
        /// Its answer was lost, or the droplet was busy or already in that state: read the droplet again and decide.
        case retry
    }

    /// Polls `GET /v2/actions/ID` every `pollInterval` until the action is no longer in progress (at most
    /// `actionTimeout`); returns its final status. Transient failures of a poll are polled through.
    func followAction(_ id: Int, doing action: String) async throws -> String {
        let deadline = ContinuousClock.now + actionTimeout
        var polls = 0
        while true {
            do {
                let status = try await api.get(DigitalOceanModel.ActionEnvelope.self, "/v2/actions/\(id)").action.status
                if status == "completed" || status == "errored" { return status }
            } catch where DigitalOceanAPI.isAmbiguous(error) {
                // The poll itself failed after its retries: poll again until the deadline.
            } catch {
                throw api.wrap(error, doing: "follow action \(id) to \(action)")
            }
            guard ContinuousClock.now < deadline else {
                throw OttoError("provider.digitalocean.timeout",
                                "DigitalOcean action \(id) did not finish within \(actionTimeout) (\(action)); run otto again to pick up where it stopped")
            }
            try await pause(after: polls)
            polls += 1
        }
    }

    /// Waits for a droplet's action; an errored create deletes the broken droplet (so the next run makes a new one).
    func waitForAction(_ id: Int, droplet: Int, doing action: String, deleteOnError: Bool) async throws {
        guard try await followAction(id, doing: action) == "errored" else { return }
        if deleteOnError { _ = try? await api.send(.delete, "/v2/droplets/\(droplet)", idempotent: true) }
        throw OttoError("provider.digitalocean.action_errored",
                        "DigitalOcean could not \(action): its action \(id) errored\(deleteOnError ? " (droplet \(droplet) deleted)" : "")")
    }

    /// POSTs one action (not idempotent: never retried blindly) and follows it.
    func runAction(_ droplet: Int, _ body: DigitalOceanModel.DropletAction, doing action: String) async throws -> ActionOutcome {
        let started: DigitalOceanModel.Action
        do {
            let response = try await api.send(.post, "/v2/droplets/\(droplet)/actions", body: body, idempotent: false)
            started = try DigitalOceanAPI.decode(DigitalOceanModel.ActionEnvelope.self, from: response).action
        } catch where DigitalOceanAPI.isAmbiguous(error) {
            return .retry
        } catch let error as HTTPError where error.status == 422 && Self.isBusyOrDone(error.message) {
            try await pause()
            return .retry
        } catch {
            throw api.wrap(error, doing: action)
        }
        return try await followAction(started.id, doing: action) == "completed" ? .completed : .errored
    }

    /// A 422 that means "not now" or "already so" rather than "never": a pending event, or the power state asked for.
    static func isBusyOrDone(_ message: String) -> Bool {
        let text = message.lowercased()
        return text.contains("pending event") || text.contains("already powered") || text.contains("already this size")
            || text.contains("currently on") || text.contains("is locked")
    }

    /// Resizes droplet `id` to `size` (CPU and memory; the disk is left, so the resize stays reversible): shut it down
    /// (power off when the shutdown errors), resize, power on. Driven by the droplet's state, read before each step,
    /// so a step whose answer was lost is never repeated blindly.
    func resize(_ id: Int, to size: String, address: ResourceAddress) async throws {
        let action = "resize droplet \(id) to \(size) (\(address))"
        let deadline = ContinuousClock.now + actionTimeout
        for _ in 0..<60 {
            guard ContinuousClock.now < deadline else { break }
            guard let droplet = try await Self.fetchDroplet(id, api: api) else {
                throw OttoError("provider.digitalocean.gone", "\(address): droplet \(id) no longer exists; it cannot be resized")
            }
            switch (droplet.sizeSlug == size, droplet.status) {
            case (true, "active"):
                return
            case (true, "off"):
                _ = try await runAction(id, .init(type: "power_on"), doing: "power on droplet \(id) after its resize (\(address))")
            case (false, "active"):
                if try await runAction(id, .init(type: "shutdown"), doing: "shut down droplet \(id) to resize it (\(address))") == .errored {
                    _ = try await runAction(id, .init(type: "power_off"), doing: "power off droplet \(id) to resize it (\(address))")
                }
            case (false, "off"):
                if try await runAction(id, .init(type: "resize", size: size, disk: false), doing: action) == .errored {
                    throw OttoError("provider.digitalocean.action_errored", "DigitalOcean could not \(action): the resize action errored")
                }
            default:
                try await pause()  // new, or a state otto does not act on: wait
            }
        }
        throw OttoError("provider.digitalocean.timeout", "could not \(action) within \(actionTimeout); run otto again to finish it")
    }

    /// Brings droplet `id` to `active`: waits while it is new (still being created), powers it on when it is off.
    func powerOn(_ id: Int, address: ResourceAddress) async throws {
        let action = "power on droplet \(id) (\(address))"
        let deadline = ContinuousClock.now + actionTimeout
        var polls = 0
        while ContinuousClock.now < deadline {
            guard let droplet = try await Self.fetchDroplet(id, api: api) else {
                throw OttoError("provider.digitalocean.gone", "\(address): droplet \(id) no longer exists; it cannot be powered on")
            }
            switch droplet.status {
            case "active":
                return
            case "off":
                if try await runAction(id, .init(type: "power_on"), doing: action) == .errored {
                    throw OttoError("provider.digitalocean.action_errored", "DigitalOcean could not \(action): the power_on action errored")
                }
            case "new":
                try await pause(after: polls)
                polls += 1
            default:
                throw OttoError("provider.digitalocean.state", "\(address): droplet \(id) is \(droplet.status); otto powers on only droplets that are off or new")
            }
        }
        throw OttoError("provider.digitalocean.timeout", "could not \(action) within \(actionTimeout); run otto again to finish it")
    }

    /// Renames droplet `id` (the rename action), unless it already has that name.
    func rename(_ id: Int, to name: String, address: ResourceAddress) async throws {
        let action = "rename droplet \(id) to \(name) (\(address))"
        let deadline = ContinuousClock.now + actionTimeout
        for _ in 0..<30 {
            guard ContinuousClock.now < deadline else { break }
            guard let droplet = try await Self.fetchDroplet(id, api: api) else {
                throw OttoError("provider.digitalocean.gone", "\(address): droplet \(id) no longer exists; it cannot be renamed")
            }
            if droplet.name == name { return }
            if droplet.status == "new" {
                try await pause()
                continue
            }
            if try await runAction(id, .init(type: "rename", name: name), doing: action) == .errored {
                throw OttoError("provider.digitalocean.action_errored", "DigitalOcean could not \(action): the rename action errored")
            }
        }
        throw OttoError("provider.digitalocean.timeout", "could not \(action) within \(actionTimeout); run otto again to finish it")
    }
}
