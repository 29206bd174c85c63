import OttoCore
import OttoHTTP

private typealias H = AttributeName.Host
private typealias M = AttributeName.Machine

extension DigitalOceanProvider {
    /// The tag carrying a create's idempotency key.
    static func keyTag(_ key: String) -> String { "otto-key-\(key)" }

    // MARK: - Observe

    /// One paginated list of the droplets tagged `tag` (200 per page); each request is matched by providerID, else by
    /// its pending key's tag, else by name. A providerID missing from the list costs one GET (404: gone).
    func observeMachines(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let listed: [DigitalOceanModel.Droplet]
        do {
            listed = try await api.list(DigitalOceanModel.Droplet.self, "/v2/droplets", key: "droplets", query: [("tag_name", tag)])
        } catch {
            throw api.wrap(error, doing: "list the droplets tagged \(tag)")
        }
        var byID: [Int: DigitalOceanModel.Droplet] = [:]
        var byKeyTag: [String: DigitalOceanModel.Droplet] = [:]
        for droplet in listed {
            byID[droplet.id] = droplet
            for tag in droplet.tags ?? [] where tag.hasPrefix("otto-key-") { byKeyTag[tag] = byKeyTag[tag] ?? droplet }
        }
        var result: [ResourceAddress: ObservedResource] = [:]
        var claimed = Set<Int>()
        var lookups: [(ResourceAddress, Int)] = []
        var byName: [ObserveRequest] = []
        for request in requests {
            if let text = request.providerID, !text.isEmpty {
                guard let id = Int(text) else {
                    throw OttoError("provider.digitalocean.attribute", "\(request.address): '\(text)' is not a droplet id")
                }
                if let droplet = byID[id] {
                    result[request.address] = observation(of: droplet)
                    claimed.insert(id)
                } else {
                    lookups.append((request.address, id))
                }
            } else if let key = request.pendingKey, let droplet = byKeyTag[Self.keyTag(key)] {
                result[request.address] = observation(of: droplet)
                claimed.insert(droplet.id)
            } else {
                byName.append(request)
            }
        }
        // Name matches among the droplets nobody claimed, oldest first.
        for request in byName {
            guard let wanted = request.attributes[M.name]?.stringValue?.lowercased() else { continue }
            if let droplet = listed.filter({ !claimed.contains($0.id) && $0.name.lowercased() == wanted }).min(by: { $0.id < $1.id }) {
                result[request.address] = observation(of: droplet)
                claimed.insert(droplet.id)
            }
        }
        // Droplets recorded in state but not tagged (imports) or deleted: one GET each.
        let api = self.api
        try await withThrowingTaskGroup(of: (ResourceAddress, DigitalOceanModel.Droplet?).self) { group in
            var iterator = lookups.makeIterator()
            func addNext() {
                guard let (address, id) = iterator.next() else { return }
                group.addTask { (address, try await Self.fetchDroplet(id, api: api)) }
            }
            for _ in 0..<8 { addNext() }
            while let (address, droplet) = try await group.next() {
                if let droplet { result[address] = observation(of: droplet) }
                addNext()
            }
        }
        return result
    }

    /// GET /v2/droplets/ID; nil when it does not exist.
    static func fetchDroplet(_ id: Int, api: DigitalOceanAPI) async throws -> DigitalOceanModel.Droplet? {
        do {
            return try await api.get(DigitalOceanModel.DropletEnvelope.self, "/v2/droplets/\(id)").droplet
        } catch let error as HTTPError where error.status == 404 {
            return nil
        } catch {
            throw api.wrap(error, doing: "read droplet \(id)")
        }
    }

    /// The attributes otto compares and hands to host resources.
    func observation(of droplet: DigitalOceanModel.Droplet) -> ObservedResource {
        let pins = HostKeyPins(dropletTags: droplet.tags ?? [])
        var a: [String: Value] = [
            M.name: .string(droplet.name),
            M.size: .string(droplet.sizeSlug),
            "status": .string(droplet.status),
            M.ipv4: droplet.ipv4.map(Value.string) ?? .null,
            "private_ipv4": droplet.privateIPv4.map(Value.string) ?? .null,
            H.sshUser: .string("root"),
            H.sshPort: .int(22),
            H.sshKey: sshKey.map(Value.string) ?? .null,
            H.hostKey: pins.attribute,
            H.knownHosts: knownHosts.map(Value.string) ?? .null,
            M.hostKeyPending: .bool(pins.pending),
        ]
        if let image = droplet.imageName { a[M.image] = .string(image) }
        if let from = droplet.tags?.first(where: { $0.hasPrefix(Self.fromTagPrefix) }) {
            // made from a recipe's snapshot: `otto-from:RECIPE:HASH12` reads as `RECIPE@HASH12`, as desired
            let parts = from.dropFirst(Self.fromTagPrefix.count).split(separator: ":")
            if parts.count == 2 { a[M.image] = .string("\(parts[0])@\(parts[1])") }
        }
        if let region = droplet.region?.slug { a[M.region] = .string(region) }
        if let ipv6 = droplet.ipv6 { a[M.ipv6] = .string(ipv6) }
        return ObservedResource(providerID: String(droplet.id), attributes: a)
    }

    // MARK: - Create

    /// POST /v2/droplets (not idempotent) with the tags `tag` and `otto-key-KEY`, then waits for the create action.
    /// When the answer is lost (timeout, dropped connection, 5xx), the key's tag is looked up at once: a droplet found
    /// is the one just made and is adopted; none found means the create did not happen, and it is sent again (3 tries).
    ///
    /// With pinned host keys, the droplet boots with a host key otto made (in its user data, pinned by a tag) and is
    /// returned only after that key was replaced by one made on the droplet (`finishHostKey`).
    func createMachine(_ resource: Resource, key: String, extraTags: [String] = []) async throws -> ObservedResource {
        let address = resource.address
        let attributes = derive(resource).attributes
        let dropletName = try Self.attributes.string(attributes, M.name, of: address)
        var tags = [tag, Self.keyTag(key)] + extraTags
        var image = try Self.attributes.string(attributes, M.image, of: address)
        if ImageIdentity.parseReference(image) != nil {
            let resolved = try await resolveRecipeImage(image, address: address)
            image = resolved.id
            tags.append(resolved.tag)
        }
        var userData = attributes[M.userData]?.stringValue
        if pinsHostKeys {
            let boot = try pinnedBoot(userData: userData, machine: "\(address)")
            userData = boot.userData
            tags.append(boot.tag)
        }
        let body = DigitalOceanModel.NewDroplet(
            name: dropletName, region: attributes[M.region]?.stringValue,
            size: try Self.attributes.string(attributes, M.size, of: address),
            image: DigitalOceanModel.ImageRef(image),
            sshKeys: try keyIdentifiers(attributes[M.sshKeys], of: address).nilIfEmpty,
            tags: tags, userData: userData, ipv6: ipv6, monitoring: false)
        let action = "create droplet \(dropletName) (\(address))"
        var lastError: (any Error)?
        for _ in 0..<3 {
            let created: DigitalOceanModel.DropletEnvelope
            do {
                let response = try await api.send(.post, "/v2/droplets", body: body, idempotent: false)
                created = try DigitalOceanAPI.decode(DigitalOceanModel.DropletEnvelope.self, from: response)
            } catch where DigitalOceanAPI.isAmbiguous(error) {
                lastError = error
                if let found = try await findByKey(key, doing: action) {
                    return observation(of: try await finishHostKey(try await waitUntilBooted(found.id, doing: action), address: address))
                }
                continue  // not made: send it again
            } catch {
                throw api.wrap(error, doing: action)
            }
            if let link = created.links?.actions?.first(where: { $0.rel == nil || $0.rel == "create" }) {
                try await waitForAction(link.id, droplet: created.droplet.id, doing: action, deleteOnError: true)
            }
            return observation(of: try await finishHostKey(try await waitUntilBooted(created.droplet.id, doing: action), address: address))
        }
        throw api.wrap(lastError ?? OttoError("provider.digitalocean.http", "no answer"), doing: "\(action) (3 tries, no droplet carries its key)")
    }

    /// `ssh_keys`: fingerprints (or key ids), absent or null for none.
    func keyIdentifiers(_ value: Value?, of address: ResourceAddress) throws -> [String] {
        guard let value, value != .null else { return [] }
        guard let list = value.listValue else {
            throw OttoError("provider.digitalocean.attribute", "\(address): attribute 'ssh_keys' must be a list of key fingerprints")
        }
        return try list.map {
            switch $0 {
            case .string(let text): return text
            case .int(let id): return String(id)
            default:
                throw OttoError("provider.digitalocean.attribute", "\(address): every element of 'ssh_keys' must be a key fingerprint, got \($0)")
            }
        }
    }

    /// The droplet tagged `otto-key-KEY`, if any (one list call filtered by that tag).
    func findByKey(_ key: String, doing action: String) async throws -> DigitalOceanModel.Droplet? {
        do {
            let found = try await api.list(DigitalOceanModel.Droplet.self, "/v2/droplets", key: "droplets",
                                           query: [("tag_name", Self.keyTag(key))])
            return found.min { $0.id < $1.id }
        } catch {
            throw api.wrap(error, doing: "look up the droplet of key \(key) after an unanswered request to \(action)")
        }
    }

    /// Polls the droplet until it is no longer `new` (bounded by `actionTimeout`) and returns it.
    func waitUntilBooted(_ id: Int, doing action: String) async throws -> DigitalOceanModel.Droplet {
        let deadline = ContinuousClock.now + actionTimeout
        var polls = 0
        while true {
            guard let droplet = try await Self.fetchDroplet(id, api: api) else {
                throw OttoError("provider.digitalocean.gone", "DigitalOcean deleted droplet \(id) while otto waited to \(action)")
            }
            if droplet.status != "new" { return droplet }
            guard ContinuousClock.now < deadline else {
                throw OttoError("provider.digitalocean.timeout",
                                "droplet \(id) is still new after \(actionTimeout) (\(action)); the next run picks it up by its key")
            }
            try await pause(after: polls)
            polls += 1
        }
    }

    // MARK: - Update

    /// A new size is a resize (shutdown, resize, power on), a new name a rename; each waits for its actions.
    func updateMachine(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        let address = resource.address
        guard let id = Int(current.providerID) else {
            throw OttoError("provider.digitalocean.attribute", "\(address): '\(current.providerID)' is not a droplet id")
        }
        let attributes = derive(resource).attributes
        if changed.contains("size") {
            try await resize(id, to: try Self.attributes.string(attributes, M.size, of: address), address: address)
        }
        if changed.contains("name") {
            try await rename(id, to: try Self.attributes.string(attributes, M.name, of: address), address: address)
        }
        if changed.contains("status") && !changed.contains("size") {
            try await powerOn(id, address: address)
        }
        guard var droplet = try await Self.fetchDroplet(id, api: api) else {
            throw OttoError("provider.digitalocean.gone", "\(address): droplet \(id) disappeared while otto updated it")
        }
        if changed.contains(M.hostKeyPending) { droplet = try await finishHostKey(droplet, address: address) }
        return observation(of: droplet)
    }

    // MARK: - Delete

    /// DELETE /v2/droplets/ID; a droplet already gone is fine.
    func deleteMachine(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard let id = Int(current.providerID) else {
            throw OttoError("provider.digitalocean.attribute", "\(address): '\(current.providerID)' is not a droplet id; nothing to delete")
        }
        do {
            _ = try await api.send(.delete, "/v2/droplets/\(id)", idempotent: true)
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch {
            throw api.wrap(error, doing: "delete droplet \(id) (\(address))")
        }
        if let key = current.attributes[H.hostKey]?.stringValue {
            await deletePinTags(key.split(separator: "\n").compactMap { HostKeyPins.dropletTag(String($0), boot: false) }
                                + key.split(separator: "\n").compactMap { HostKeyPins.dropletTag(String($0), boot: true) })
        }
    }
}

extension Array {
    /// nil for an empty array.
    var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}
