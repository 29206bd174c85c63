import OttoCore
import OttoHTTP

private typealias M = AttributeName.Machine

extension DigitalOceanModel {
    /// `POST /v2/tags`.
    struct NewTag: Encodable, Sendable {
        var name: String
    }

    /// `POST|DELETE /v2/tags/{tag}/resources`.
    struct TagResources: Encodable, Sendable {
        struct Resource: Encodable, Sendable {
            var resourceID: String
            var resourceType: String
            enum CodingKeys: String, CodingKey {
                case resourceID = "resource_id"
                case resourceType = "resource_type"
            }
        }
        var resources: [Resource]
    }
}

extension DigitalOceanProvider {
    /// The user data and the tag for a new droplet whose host key otto makes and pins (`host_keys: pinned`).
    func pinnedBoot(userData: String?, machine: String) throws -> (userData: String, tag: String) {
        let key = HostKeyPair.generate(comment: "root@\(machine)")
        guard let tag = HostKeyPins.dropletTag(key.publicKey, boot: true) else {
            throw OttoError("provider.host_key", "\(machine): the host key otto made is not an ed25519 key")
        }
        return (try CloudInitUserData.merged(user: userData, hostKey: key, machine: machine), tag)
    }

    /// Replaces the host key a droplet booted with by one made on it, moving the pin (its tags) along; returns the
    /// droplet as it is afterwards. Nothing to do for a droplet without pins (known_hosts) or already rotated.
    func finishHostKey(_ droplet: DigitalOceanModel.Droplet, address: ResourceAddress) async throws -> DigitalOceanModel.Droplet {
        let pins = HostKeyPins(dropletTags: droplet.tags ?? [])
        guard pins.pending, let sshKey else { return droplet }
        guard let host = droplet.ipv4 else {
            throw OttoError("provider.host_key", "\(address): droplet \(droplet.id) has no address to connect to")
        }
        let rotation = HostKeyRotation(host: host, port: 22, user: "root", identityFile: sshKey,
                                       machine: "\(address) (droplet \(droplet.id))", bootTimeout: actionTimeout)
        let id = droplet.id
        _ = try await rotation.run(pins, pin: { key in
            guard let tag = HostKeyPins.dropletTag(key, boot: false) else {
                throw OttoError("provider.host_key", "\(address): the machine's new host key is not an ed25519 key")
            }
            try await self.tag(droplet: id, with: tag)
        }, unpin: { key, boot in
            guard let tag = HostKeyPins.dropletTag(key, boot: boot) else { return }
            try await self.untag(droplet: id, tag: tag)
        })
        guard let after = try await Self.fetchDroplet(id, api: api) else {
            throw OttoError("provider.digitalocean.gone", "\(address): droplet \(id) disappeared while otto replaced its host key")
        }
        return after
    }

    /// Creates `tag` (if new) and puts it on the droplet.
    func tag(droplet id: Int, with tag: String) async throws {
        try await self.tag(resource: String(id), type: "droplet", with: tag)
    }

    /// Creates `tag` (if new) and puts it on a resource (`droplet`, `image`).
    func tag(resource id: String, type: String, with tag: String) async throws {
        let doing = "tag \(type) \(id) with \(tag)"
        do {
            _ = try await api.send(.post, "/v2/tags", body: DigitalOceanModel.NewTag(name: tag), idempotent: true)
        } catch let error as HTTPError where error.status == 422 || error.status == 409 {
            // the tag exists already
        } catch {
            throw api.wrap(error, doing: doing)
        }
        do {
            _ = try await api.send(.post, "/v2/tags/\(DigitalOceanAPI.segment(tag))/resources",
                                   body: DigitalOceanModel.TagResources(resources: [.init(resourceID: id, resourceType: type)]), idempotent: true)
        } catch {
            throw api.wrap(error, doing: doing)
        }
    }

    /// Takes `tag` off the droplet and deletes the tag (each pin tag belongs to one droplet); a tag already gone is fine.
    func untag(droplet id: Int, tag: String) async throws {
        let path = "/v2/tags/\(DigitalOceanAPI.segment(tag))"
        do {
            _ = try await api.send(.delete, path + "/resources", body: Self.dropletResource(id), idempotent: true)
            _ = try await api.send(.delete, path, idempotent: true)
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch {
            throw api.wrap(error, doing: "remove a stale host key pin from droplet \(id)")
        }
    }

    /// Deletes the pin tags of a deleted droplet (best effort: a leftover empty tag harms nothing).
    func deletePinTags(_ tags: [String]) async {
        for tag in tags where tag.hasPrefix(HostKeyPins.tagPrefix) || tag.hasPrefix(HostKeyPins.bootTagPrefix) {
            _ = try? await api.send(.delete, "/v2/tags/\(DigitalOceanAPI.segment(tag))", idempotent: true)
        }
    }

    static func dropletResource(_ id: Int) -> DigitalOceanModel.TagResources {
        DigitalOceanModel.TagResources(resources: [.init(resourceID: String(id), resourceType: "droplet")])
    }
}
