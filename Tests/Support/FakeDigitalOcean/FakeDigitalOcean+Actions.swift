import Foundation

extension FakeDigitalOcean {
    /// `POST /v2/droplets/{id}/actions`: resize, rename, power_off, power_on, shutdown, reboot, power_cycle, snapshot.
    /// 201 with the action `in-progress`; its effect applies when it completes (`actionSeconds` later, and not before
    /// the backing finished its part). Refused with 422, as DigitalOcean does, while another action on the droplet is
    /// pending, or when the droplet's power state forbids it.
    ///
    /// `snapshot` (`{"type": "snapshot", "name": "..."}`; the name defaults to the droplet's name and the time in
    /// milliseconds, as DigitalOcean names them) makes a private image of type `snapshot` when it completes. The spec
    /// does not require the droplet to be off (DigitalOcean takes live snapshots and advises powering off for
    /// consistency), so the fake allows both and records which it was (`FakeImageSummary.takenWhileActive`).
    func postDropletAction(_ id: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let id = Int(id), let droplet = droplets[id] else { return .notFound }
        guard let body = request.json, let type = body["type"]?.string else {
            return .unprocessable("request payload validation failed: type is required")
        }
        let supported = ["resize", "rename", "power_off", "power_on", "shutdown", "reboot", "power_cycle", "snapshot"]
        let known = supported + ["enable_backups", "disable_backups", "change_backup_policy", "restore", "password_reset",
                                 "rebuild", "change_kernel", "enable_ipv6"]
        guard known.contains(type) else { return .unprocessable("\(type) is not a valid action type") }
        guard supported.contains(type) else { return .unprocessable("the fake does not implement the \(type) action") }
        if droplet.status == "new" || pendingActions.contains(where: { actions[$0]?.dropletID == id }) {
            return .unprocessable("Droplet already has a pending event.")
        }
        let effect: FakeAction.Effect
        switch type {
        case "power_off", "shutdown":
            guard droplet.status == "active" else { return .unprocessable("Droplet is already powered off.") }
            effect = .powerOff
        case "power_on":
            guard droplet.status == "off" else { return .unprocessable("Droplet is already powered on.") }
            effect = .powerOn
        case "reboot", "power_cycle":
            guard droplet.status == "active" || type == "power_cycle" else { return .unprocessable("Droplet is powered off.") }
            effect = .none
        case "resize":
            guard let slug = body["size"]?.string, let size = FakeDigitalOceanCatalog.size(slug) else {
                return .unprocessable("You specified an invalid size for Droplet resize.")
            }
            if let value = body["disk"], !value.isNull, value.bool == nil { return .unprocessable("disk must be a boolean") }
            let disk = body["disk"]?.bool ?? false
            guard droplet.status == "off" else {
                return .unprocessable("Droplet is currently on. Please power it off to run this event.")
            }
            guard slug != droplet.sizeSlug else { return .unprocessable("Droplet is already this size.") }
            // The droplet's disk must fit: a resize without `disk` keeps it, so smaller plans stay possible only until
            // a disk resize.
            guard size.disk >= droplet.disk else {
                return .unprocessable("This size is not available because it has a smaller disk.")
            }
            effect = .resize(size: slug, disk: disk)
        case "rename":
            guard let name = body["name"]?.string, Self.isValidDropletName(name) else {
                return .unprocessable("Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
            }
            effect = .rename(name)
        case "snapshot":
            var name = "\(droplet.name)-\(Int(Date().timeIntervalSince1970 * 1000))"
            if let value = body["name"], !value.isNull {
                guard let text = value.string, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                    return .unprocessable("name must be a non-empty string")
                }
                name = text
            }
            effect = .snapshot(imageID: nextImageID, name: name, live: droplet.status == "active")
            nextImageID += 1
        default:
            return .unprocessable("the fake does not implement the \(type) action")
        }
        let action = startAction(type: type, droplet: droplet, effect: effect)
        if droplet.backed {
            switch effect {
            case .powerOff:
                let graceful = type == "shutdown"
                launchBacking(for: action.id) { try await $0.stop(droplet: id, graceful: graceful); return nil }
            case .powerOn:
                launchBacking(for: action.id) { try await $0.start(droplet: id); return nil }
            case .none:
                launchBacking(for: action.id) { try await $0.reboot(droplet: id); return nil }
            case .snapshot(let imageID, let name, _):
                launchBacking(for: action.id) { try await $0.capture(droplet: id, snapshot: imageID, name: name); return nil }
            case .create, .resize, .rename:
                break
            }
        }
        return .json(201, ["action": action.json])
    }

    /// `GET /v2/actions/{id}` (and `GET /v2/droplets/{droplet_id}/actions/{id}`).
    func getAction(_ id: String, droplet: String?) -> FakeHTTPResponse {
        guard let id = Int(id), let action = actions[id] else { return .notFound }
        if let droplet, Int(droplet) != action.dropletID { return .notFound }
        return .json(200, ["action": action.json])
    }

    /// Records an action in progress on `droplet`.
    @discardableResult
    func startAction(type: String, droplet: FakeDroplet, effect: FakeAction.Effect) -> FakeAction {
        let action = FakeAction(id: nextActionID, type: type, status: "in-progress", startedAt: Date(), completedAt: nil,
                                completesAt: ContinuousClock.now + .milliseconds(Int(actionSeconds * 1000)), dropletID: droplet.id,
                                region: droplet.region, effect: effect)
        nextActionID += 1
        actions[action.id] = action
        pendingActions.append(action.id)
        droplets[droplet.id]?.actionGeneration += 1
        return action
    }

    /// Completes the actions whose time has come and applies their effects.
    func advanceActions() {
        guard !pendingActions.isEmpty else { return }
        let now = ContinuousClock.now
        var still: [Int] = []
        for id in pendingActions {
            guard var action = actions[id] else { continue }
            guard action.completesAt <= now, action.backing != .running else {
                still.append(id)
                continue
            }
            action.completedAt = Date()
            if case .failed(let reason) = action.backing {
                action.status = "errored"
                actions[id] = action
                if case .create = action.effect { droplets[action.dropletID]?.backingError = reason }
                continue
            }
            action.status = "completed"
            actions[id] = action
            guard var droplet = droplets[action.dropletID] else { continue }
            switch action.effect {
            case .create, .powerOn: droplet.status = "active"
            case .powerOff: droplet.status = "off"
            case .resize(let slug, let disk):
                droplet.sizeSlug = slug
                if disk, let size = FakeDigitalOceanCatalog.size(slug) { droplet.disk = size.disk }
            case .rename(let name): droplet.name = name
            case .snapshot(let imageID, let name, let live):
                images[imageID] = FakeImage(
                    id: imageID, name: name, distribution: droplet.image.distribution, slug: nil, type: "snapshot", isPublic: false,
                    regions: [droplet.region], createdAt: Self.timestamp(action.startedAt), minDiskSize: droplet.disk,
                    sizeGigabytes: (Double(droplet.disk) * 0.1 * 100).rounded() / 100, description: "", tags: [],
                    sourceDropletID: droplet.id, takenWhileActive: live)
                droplet.snapshotIDs.append(imageID)
            case .none: break
            }
            droplets[droplet.id] = droplet
        }
        pendingActions = still
    }
}
