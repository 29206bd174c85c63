import OttoCore

private typealias H = AttributeName.Host
private typealias M = AttributeName.Machine

extension AWSProvider {
    /// Instance states that count as existing (terminated and terminating ones are gone).
    static let liveStates = ["pending", "running", "stopping", "stopped"]
    /// Tags otto uses for bookkeeping; other `otto:` tags hold desired attributes.
    static let reservedTags: Set<String> = ["otto:managed", "otto:address", "otto:key", HostKeyPins.awsBootTag, HostKeyPins.awsTag,
                                             AWSProvider.imageTag, AWSProvider.provisionedTag]
    /// Machine attributes EC2 holds itself (or that are computed); other string attributes become `otto:<name>` tags.
    static let nativeMachineAttributes: Set<String> = [
        "name", "image", "size", "region", "key_name", "security_groups", "user_data", "ipv4", "private_ipv4", "ipv6", "status",
        "ssh_user", "ssh_port", "ssh_key", "host_key", "known_hosts", "id", M.hostKeyPending,
    ]

    // MARK: Observe

    /// One paginated DescribeInstances of otto's live instances (tag `otto:managed`), matched locally by providerID,
    /// else pending key, else `otto:address`, else name; one more call for providerIDs not in that list (imports).
    func observeMachines(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let managed: [EC2Instance]
        do {
            managed = try await client.describeInstances(filters: [("tag:otto:managed", [settings.tag]),
                                                                    ("instance-state-name", Self.liveStates)])
        } catch {
            throw client.wrap(error, doing: "list instances")
        }
        var byID: [String: EC2Instance] = [:]
        var byKey: [String: EC2Instance] = [:]
        var byAddress: [String: EC2Instance] = [:]
        var byName: [String: EC2Instance] = [:]
        for instance in managed.sorted(by: { $0.launchTime < $1.launchTime }) {
            byID[instance.id] = instance
            if let key = instance.tags["otto:key"] { byKey[key] = byKey[key] ?? instance }
            if let address = instance.tags["otto:address"] { byAddress[address] = byAddress[address] ?? instance }
            if let name = instance.tags["Name"] { byName[name] = byName[name] ?? instance }
        }
        var result: [ResourceAddress: ObservedResource] = [:]
        var claimed = Set<String>()
        var byIDOnly: [(ResourceAddress, String)] = []
        for request in requests {
            if let id = request.providerID, !id.isEmpty {
                if let instance = byID[id] {
                    result[request.address] = machineObservation(instance)
                    claimed.insert(id)
                } else {
                    byIDOnly.append((request.address, id))
                }
            }
        }
        for request in requests where request.providerID?.isEmpty != false {
            let candidates = [request.pendingKey.flatMap { byKey[$0] }, byAddress[request.address.description],
                              request.attributes[M.name]?.stringValue.flatMap { byName[$0] }]
            if let instance = candidates.compactMap({ $0 }).first(where: { !claimed.contains($0.id) }) {
                result[request.address] = machineObservation(instance)
                claimed.insert(instance.id)
            }
        }
        if !byIDOnly.isEmpty {
            // Not tagged as otto's (imported) or gone: ask by id; a missing or terminated instance is gone.
            let found: [EC2Instance]
            do {
                found = try await describeByID(byIDOnly.map(\.1))
            } catch {
                throw client.wrap(error, doing: "look up instances \(byIDOnly.map(\.1).joined(separator: ", "))")
            }
            let live = Dictionary(found.filter { !$0.isGone }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for (address, id) in byIDOnly {
                if let instance = live[id] { result[address] = machineObservation(instance) }
            }
        }
        return result
    }

    /// DescribeInstances filtered by instance ids (200 a call); unknown ids are simply absent.
    func describeByID(_ ids: [String]) async throws -> [EC2Instance] {
        var found: [EC2Instance] = []
        var start = 0
        while start < ids.count {
            found += try await client.describeInstances(filters: [("instance-id", Array(ids[start..<min(start + 200, ids.count)]))])
            start += 200
        }
        return found
    }

    /// The instance as otto's attributes.
    func machineObservation(_ instance: EC2Instance) -> ObservedResource {
        var attributes: [String: Value] = [:]
        for (key, value) in instance.tags where key.hasPrefix("otto:") && !Self.reservedTags.contains(key) {
            let name = String(key.dropFirst("otto:".count))
            if !Self.nativeMachineAttributes.contains(name) { attributes[name] = .string(value) }
        }
        attributes[M.name] = .string(instance.tags["Name"] ?? "")
        attributes[M.image] = .string(instance.tags[Self.imageTag] ?? instance.imageID)
        attributes[M.size] = .string(instance.instanceType)
        attributes[M.region] = .string(settings.region)
        attributes[M.keyName] = instance.keyName.map(Value.string) ?? .null
        attributes[M.securityGroups] = .list(instance.securityGroupIDs.map(Value.string))
        attributes["status"] = .string(instance.state)
        attributes[M.ipv4] = (instance.publicIPv4 ?? instance.privateIPv4).map(Value.string) ?? .null
        attributes["private_ipv4"] = instance.privateIPv4.map(Value.string) ?? .null
        if let ipv6 = instance.ipv6 { attributes[M.ipv6] = .string(ipv6) }
        attributes[H.sshUser] = .string(settings.sshUser)
        attributes[H.sshPort] = .int(22)
        attributes[H.sshKey] = settings.sshKey.map(Value.string) ?? .null
        let pins = HostKeyPins(instanceTags: instance.tags)
        attributes[H.hostKey] = pins.attribute
        attributes[H.knownHosts] = settings.knownHosts.map(Value.string) ?? .null
        attributes[M.hostKeyPending] = .bool(pins.pending)
        return ObservedResource(providerID: instance.id, attributes: attributes)
    }

    // MARK: Create

    /// RunInstances with `ClientToken` = key and otto's tags, then waits until the instance runs.
    func createMachine(_ resource: Resource, key: String) async throws -> ObservedResource {
        let address = resource.address
        let attributes = resource.attributes
        let name = try AWSProvider.attributes.string(attributes, M.name, of: address)
        if let region = try AWSProvider.attributes.optionalString(attributes, M.region, of: address), region != settings.region {
            throw OttoError("provider.aws.region",
                            "\(address) asks for region \(region), but provider `\(self.name)` works in \(settings.region); use a provider for that region")
        }
        var tags: [(String, String)] = [("Name", name), ("otto:managed", settings.tag), ("otto:address", address.description), ("otto:key", key)]
        tags += try extraTags(attributes, of: address)
        var userData = try AWSProvider.attributes.optionalString(attributes, M.userData, of: address)
        if pinsHostKeys {
            let key = HostKeyPair.generate(comment: "root@\(name)")
            // `ssh_user: root` on an AMI whose default user is another: cloud-init gives root the key pair too.
            userData = try CloudInitUserData.merged(user: userData, hostKey: key, machine: "\(address)", rootLogin: settings.sshUser == "root")
            tags.append((HostKeyPins.awsBootTag, key.publicKey))
        }
        if let userData, userData.utf8.count > 16_384 {
            throw OttoError("provider.aws.attribute",
                            "\(address): user_data is \(userData.utf8.count) bytes with otto's host key part; EC2 takes at most 16384")
        }
        var imageID = try AWSProvider.attributes.string(attributes, M.image, of: address)
        if ImageIdentity.parseReference(imageID) != nil {
            tags.append((Self.imageTag, imageID))
            imageID = try await resolveRecipeImage(imageID, address: address)
        }
        let spec = AWSClient.InstanceSpec(
            imageID: imageID,
            instanceType: try AWSProvider.attributes.string(attributes, M.size, of: address),
            keyName: try AWSProvider.attributes.optionalString(attributes, M.keyName, of: address),
            securityGroupIDs: try AWSProvider.attributes.strings(attributes, M.securityGroups, of: address),
            userData: userData, tags: tags, clientToken: key)
        let launched = try await runInstance(spec, name: name, address: address)
        let running = try await waitFor(launched.id, states: ["running"], doing: "start instance \(name) (\(address))")
        return machineObservation(try await finishHostKey(running, address: address))
    }

    /// Replaces the host key an instance booted with by one made on it, moving the pin (its tags) along; returns the
    /// instance as it is afterwards. Nothing to do for an instance without pins (known_hosts) or already rotated.
    func finishHostKey(_ instance: EC2Instance, address: ResourceAddress) async throws -> EC2Instance {
        let pins = HostKeyPins(instanceTags: instance.tags)
        guard pins.pending, let sshKey = settings.sshKey else { return instance }
        guard let host = instance.publicIPv4 ?? instance.privateIPv4 else {
            throw OttoError("provider.host_key", "\(address): instance \(instance.id) has no address to connect to")
        }
        let rotation = HostKeyRotation(host: host, port: 22, user: settings.sshUser, identityFile: sshKey,
                                       machine: "\(address) (instance \(instance.id))", bootTimeout: settings.waitTimeout)
        let id = instance.id, client = self.client
        _ = try await rotation.run(pins, pin: { key in
            do { try await client.createTags([id], [(HostKeyPins.awsTag, key)]) } catch {
                throw client.wrap(error, doing: "pin the new host key of instance \(id)")
            }
        }, unpin: { _, boot in
            guard boot else { return }  // `otto:host_key` holds one key: the new one overwrote it
            do { try await client.deleteTags([id], keys: [HostKeyPins.awsBootTag]) } catch {
                throw client.wrap(error, doing: "unpin the boot host key of instance \(id)")
            }
        })
        guard let after = try await describeByID([id]).first(where: { !$0.isGone }) else {
            throw OttoError("provider.aws.missing", "\(address): instance \(id) disappeared while otto replaced its host key")
        }
        return after
    }

    /// RunInstances, resolving a lost answer by key: when the call fails in a way EC2 may still have acted on, the
    /// instance tagged with the key is looked up; found, it is the result; not found, the launch is tried again with
    /// the same ClientToken (at most 3 launches). EC2 treats a repeated ClientToken as the same launch, so this
    /// never makes two instances; the lookup first also covers emulators that ignore the token.
    func runInstance(_ spec: AWSClient.InstanceSpec, name: String, address: ResourceAddress) async throws -> EC2Instance {
        let doing = "run instance \(name) (\(address))"
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.runInstance(spec)
            } catch where isAmbiguous(error) {
                let found: EC2Instance?
                do {
                    found = try await findInstance(key: spec.clientToken)
                } catch {
                    throw client.wrap(error, doing: "look for instance \(name) after a lost answer to RunInstances")
                }
                if let found { return found }
                if attempt >= 3 { throw client.wrap(error, doing: doing) }
            } catch {
                throw client.wrap(error, doing: doing)
            }
        }
    }

    /// The live instance carrying `otto:key` = `key`, if any.
    func findInstance(key: String) async throws -> EC2Instance? {
        try await client.describeInstances(filters: [("tag:otto:key", [key]), ("instance-state-name", Self.liveStates)]).first
    }

    /// `otto:<name>` tags for the string attributes EC2 does not hold itself (`group`, `site`).
    func extraTags(_ attributes: [String: Value], of address: ResourceAddress) throws -> [(String, String)] {
        var tags: [(String, String)] = []
        for key in attributes.keys.sorted() where !Self.nativeMachineAttributes.contains(key) {
            switch attributes[key]! {
            case .string(let text): tags.append(("otto:" + key, text))
            case .null: continue
            case let other:
                throw OttoError("provider.aws.attribute",
                                "\(address): attribute '\(key)' must be a string to be kept on an EC2 instance (as tag otto:\(key)), got \(other)")
            }
        }
        return tags
    }

    /// Waits for an instance state, wrapping failures.
    func waitFor(_ id: String, states: Set<String>, doing action: String) async throws -> EC2Instance {
        do {
            return try await waiter.wait(for: id, states: states, timeout: settings.waitTimeout)
        } catch {
            throw client.wrap(error, doing: action)
        }
    }

    // MARK: Update

    /// Size: stop, ModifyInstanceAttribute, start (waiting for each state). Name and tag-held attributes: CreateTags.
    func updateMachine(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        let address = resource.address
        let id = current.providerID
        let name = try AWSProvider.attributes.string(resource.attributes, M.name, of: address)
        do {
            var tags: [(String, String)] = []
            if changed.contains("name") { tags.append(("Name", name)) }
            let extras = try extraTags(resource.attributes, of: address)
            tags += extras.filter { changed.contains(String($0.0.dropFirst("otto:".count))) }
            if !tags.isEmpty { try await client.createTags([id], tags) }
        } catch let error as OttoError {
            throw error
        } catch {
            throw client.wrap(error, doing: "retag instance \(id) (\(address))")
        }
        if changed.contains("size") {
            let size = try AWSProvider.attributes.string(resource.attributes, M.size, of: address)
            try await resize(id, to: size, name: name, address: address)
        } else if changed.contains("status") {
            try await start(id, name: name, address: address)
        }
        let found: [EC2Instance]
        do {
            found = try await describeByID([id])
        } catch {
            throw client.wrap(error, doing: "read instance \(id) (\(address))")
        }
        guard var instance = found.first(where: { !$0.isGone }) else {
            throw OttoError("provider.aws.missing", "\(address): instance \(id) no longer exists; plan again to create it")
        }
        if changed.contains(M.hostKeyPending) { instance = try await finishHostKey(instance, address: address) }
        return machineObservation(instance)
    }

    /// Brings an instance to `running`: waits while it is pending, starts it when it is stopped (after a stop in
    /// progress ends).
    private func start(_ id: String, name: String, address: ResourceAddress) async throws {
        let doing = "start instance \(name) (\(address))"
        let now = try await waitFor(id, states: ["pending", "running", "stopped"], doing: doing)
        guard now.state != "running" else { return }
        if now.state == "stopped" {
            do {
                try await client.changeInstanceState("StartInstances", [id])
            } catch {
                throw client.wrap(error, doing: doing)
            }
        }
        _ = try await waitFor(id, states: ["running"], doing: doing)
    }

    /// Stop (when running), change the instance type, start again.
    private func resize(_ id: String, to size: String, name: String, address: ResourceAddress) async throws {
        do {
            try await client.changeInstanceState("StopInstances", [id])
        } catch {
            throw client.wrap(error, doing: "stop instance \(name) (\(address)) to resize it")
        }
        _ = try await waitFor(id, states: ["stopped"], doing: "stop instance \(name) (\(address)) to resize it")
        do {
            try await client.modifyInstanceType(id, size)
        } catch {
            throw client.wrap(error, doing: "resize instance \(name) (\(address)) to \(size)")
        }
        do {
            try await client.changeInstanceState("StartInstances", [id])
        } catch {
            throw client.wrap(error, doing: "start instance \(name) (\(address)) after resizing it")
        }
        _ = try await waitFor(id, states: ["running"], doing: "start instance \(name) (\(address)) after resizing it")
    }

    // MARK: Delete

    /// TerminateInstances, then waits until the instance is shutting down or terminated; an unknown instance is gone.
    func deleteMachine(_ address: ResourceAddress, current: ObservedResource) async throws {
        let id = current.providerID
        guard !id.isEmpty else { return }
        let states: [String: String]
        do {
            states = try await client.terminateInstances([id])
        } catch let error as AWSServiceError where error.code == "InvalidInstanceID.NotFound" || error.code == "InvalidInstanceID.Malformed" {
            return
        } catch {
            throw client.wrap(error, doing: "terminate instance \(id) (\(address))")
        }
        if let state = states[id], state == "shutting-down" || state == "terminated" { return }
        _ = try await waitFor(id, states: ["shutting-down", "terminated"], doing: "terminate instance \(id) (\(address))")
    }
}
