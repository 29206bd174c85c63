import Foundation
import OttoCore
import OttoHTTP

private typealias M = AttributeName.Machine

extension DigitalOceanModel {
    /// An image in `GET /v2/images` (distribution images, snapshots, custom images).
    struct Image: Decodable, Sendable {
        var id: Int
        var name: String?
        var type: String?
        var status: String?
        var tags: [String]?
    }
}

extension DigitalOceanProvider {
    /// Tag of a snapshot otto built: `otto-image:HASH`.
    static let imageTagPrefix = "otto-image:"
    /// Tag of a builder droplet: `otto-build:HASH`.
    static let builderTagPrefix = "otto-build:"
    /// Tag on a builder once its recipe was applied and it was cleaned.
    static let provisionedTag = "otto-build-provisioned"
    /// Tag of a droplet made from a recipe's image: `otto-from:RECIPE:HASH12` (observed as `image: RECIPE@HASH12`).
    static let fromTagPrefix = "otto-from:"

    /// Builds (and finds) this provider's images of the project's recipes: DigitalOcean snapshots.
    public var images: CloudImageBuilder {
        CloudImageBuilder(platform: DigitalOceanImagePlatform(provider: self), recipes: recipes, projectRoot: projectRoot)
    }

    /// `RECIPE@HASH12` for a machine's `image` that names one of the project's recipes, else nil (a slug or an id).
    /// Hashes are computed once per provider instance.
    func recipeReference(_ image: String) -> String? {
        imageHashes.reference(image, recipes: recipes) { try images.identify($0)[0].hash }
    }

    /// The snapshot id a `RECIPE@HASH12` image stands for, building the image when it is missing; and the droplet tag
    /// that records it.
    func resolveRecipeImage(_ reference: String, address: ResourceAddress) async throws -> (id: String, tag: String) {
        guard let (recipe, short) = ImageIdentity.parseReference(reference), recipes[recipe] != nil else {
            throw OttoError("provider.digitalocean.attribute", "\(address): image \(Value.string(reference)) names no recipe in images/")
        }
        let progress = self.progress
        let image = try await images.build(recipe) { progress("\(address): \($0)") }
        guard image.shortHash == short else {
            throw OttoError("image.changed", "\(address): the plan was made for image \(reference), but images/\(recipe).yml now builds \(ImageIdentity.reference(recipe, hash: image.hash)); plan again")
        }
        return (image.id, Self.fromTagPrefix + recipe + ":" + short)
    }
}

/// DigitalOcean's side of image builds: builders are droplets made by the provider's own create (pinned host key,
/// idempotency key), images are droplet snapshots tagged with the recipe hash.
struct DigitalOceanImagePlatform: CloudImagePlatform {
    let provider: DigitalOceanProvider

    var providerName: String { provider.name }
    var identityHeader: String { "otto-cloud-image 1 digitalocean" }

    func baseImage() throws -> String { provider.baseImage }

    func login() throws -> (user: String, key: String) {
        guard let key = provider.sshKey else {
            throw OttoError("image.config", "provider `\(provider.name)` needs `ssh_key:` (otto's private key, its .pub goes into the account) to build images")
        }
        return ("root", key)
    }

    func listImages() async throws -> [ListedCloudImage] {
        let listed: [DigitalOceanModel.Image]
        do {
            listed = try await provider.api.list(DigitalOceanModel.Image.self, "/v2/images", key: "images", query: [("private", "true")])
        } catch {
            throw provider.api.wrap(error, doing: "list the account's private images")
        }
        return listed.compactMap { image in
            let hash = image.tags?.first { $0.hasPrefix(DigitalOceanProvider.imageTagPrefix) }
                .map { String($0.dropFirst(DigitalOceanProvider.imageTagPrefix.count)) }
            guard hash != nil || (image.name ?? "").hasPrefix("otto-") else { return nil }
            return ListedCloudImage(id: String(image.id), name: image.name ?? "", hash: hash,
                                    available: image.status == nil || image.status == "available")
        }
    }

    func tagImage(_ id: String, recipe: String, hash: String) async throws {
        try await provider.tag(resource: id, type: "image", with: DigitalOceanProvider.imageTagPrefix + hash)
    }

    func findBuilders(hash: String) async throws -> [CloudBuilder] {
        let found: [DigitalOceanModel.Droplet]
        do {
            found = try await provider.api.list(DigitalOceanModel.Droplet.self, "/v2/droplets", key: "droplets",
                                                query: [("tag_name", DigitalOceanProvider.builderTagPrefix + hash)])
        } catch {
            throw provider.api.wrap(error, doing: "look for a builder of image \(hash.prefix(12))")
        }
        return found.sorted { $0.id < $1.id }.map(builder)
    }

    func builder(_ droplet: DigitalOceanModel.Droplet) -> CloudBuilder {
        CloudBuilder(id: String(droplet.id), host: droplet.ipv4 ?? "",
                     hostKey: HostKeyPins(dropletTags: droplet.tags ?? []).all.joined(separator: "\n"),
                     provisioned: droplet.tags?.contains(DigitalOceanProvider.provisionedTag) ?? false)
    }

    func createBuilder(recipe: String, hash: String, from image: String) async throws -> CloudBuilder {
        guard provider.pinsHostKeys else {
            throw OttoError("image.config", "provider `\(provider.name)` builds images only with pinned host keys (`host_keys: pinned` and `ssh_key:`): otto must know the builder's key before it sends it anything")
        }
        guard let region = provider.region else {
            throw OttoError("image.config", "provider `\(provider.name)` needs `region:` to build images (snapshots live in one region)")
        }
        let (_, keyPath) = try login()
        let publicKey = try String(contentsOfFile: keyPath + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let fingerprint = try await provider.ensureAccountKey(publicKey)
        let address = ResourceAddress(kind: "machine", name: "image-builder.\(recipe)")
        let resource = Resource(address: address, provider: provider.name, attributes: [
            M.name: .string("otto-build-\(recipe)-\(hash.prefix(12))"), M.image: .string(image), M.size: .string(provider.builderSize),
            M.region: .string(region), M.sshKeys: .list([.string(fingerprint)]),
        ])
        let made = try await provider.createMachine(resource, key: "image-\(hash.prefix(32))",
                                                    extraTags: [DigitalOceanProvider.builderTagPrefix + hash, "otto-builder"])
        guard let id = Int(made.providerID), let droplet = try await DigitalOceanProvider.fetchDroplet(id, api: provider.api) else {
            throw OttoError("provider.digitalocean.gone", "builder \(made.providerID) of image \(recipe) disappeared right after it was made")
        }
        return builder(droplet)
    }

    func markProvisioned(_ builder: CloudBuilder) async throws {
        try await provider.tag(resource: builder.id, type: "droplet", with: DigitalOceanProvider.provisionedTag)
    }

    func stopBuilder(_ builder: CloudBuilder) async throws {
        guard let id = Int(builder.id) else { return }
        let deadline = ContinuousClock.now + provider.actionTimeout
        var polls = 0
        var shutdownErrored = false
        while ContinuousClock.now < deadline {
            guard let droplet = try await DigitalOceanProvider.fetchDroplet(id, api: provider.api) else {
                throw OttoError("provider.digitalocean.gone", "builder droplet \(id) disappeared while otto stopped it")
            }
            switch droplet.status {
            case "off":
                return
            case "active" where !shutdownErrored:
                shutdownErrored = try await provider.runAction(id, .init(type: "shutdown"), doing: "shut down builder droplet \(id)") == .errored
            case "active":
                _ = try await provider.runAction(id, .init(type: "power_off"), doing: "power off builder droplet \(id)")
            default:
                try await provider.pause(after: polls)
                polls += 1
            }
        }
        throw OttoError("provider.digitalocean.timeout", "builder droplet \(id) did not stop within \(provider.actionTimeout); run otto again to finish the image")
    }

    func capture(_ builder: CloudBuilder, name: String) async throws -> String {
        guard let id = Int(builder.id) else { throw OttoError("provider.digitalocean.attribute", "'\(builder.id)' is not a droplet id") }
        let deadline = ContinuousClock.now + provider.actionTimeout
        while ContinuousClock.now < deadline {
            if let done = try await listImages().filter({ $0.name == name && $0.available }).min(by: { (Int($0.id) ?? 0) < (Int($1.id) ?? 0) }) {
                return done.id
            }
            switch try await provider.runAction(id, .init(type: "snapshot", name: name), doing: "snapshot builder droplet \(id) as \(name)") {
            case .completed: continue
            case .errored:
                throw OttoError("provider.digitalocean.action_errored", "DigitalOcean could not snapshot builder droplet \(id) as \(name): its action errored")
            case .retry: try await provider.pause()
            }
        }
        throw OttoError("provider.digitalocean.timeout", "the snapshot \(name) of builder droplet \(id) did not appear within \(provider.actionTimeout); run otto again to finish it")
    }

    func deleteBuilder(_ builder: CloudBuilder) async throws {
        guard let id = Int(builder.id), let droplet = try await DigitalOceanProvider.fetchDroplet(id, api: provider.api) else { return }
        // The provider's own delete (the droplet and its pin tags), then the builder's tag, which belongs to it alone.
        try await provider.deleteMachine(ResourceAddress(kind: "machine", name: "image-builder"), current: provider.observation(of: droplet))
        for tag in droplet.tags ?? [] where tag.hasPrefix(DigitalOceanProvider.builderTagPrefix) {
            _ = try? await provider.api.send(.delete, "/v2/tags/\(DigitalOceanAPI.segment(tag))", idempotent: true)
        }
    }

    func deleteImage(_ id: String) async throws {
        do {
            _ = try await provider.api.send(.delete, "/v2/images/\(DigitalOceanAPI.segment(id))", idempotent: true)
        } catch let error as HTTPError where error.status == 404 {
        } catch {
            throw provider.api.wrap(error, doing: "delete image \(id)")
        }
    }

    func imagesInUse() async throws -> Set<String> {
        do {
            let droplets = try await provider.api.list(DigitalOceanModel.Droplet.self, "/v2/droplets", key: "droplets")
            return Set(droplets.compactMap { $0.image?.id.map(String.init) })
        } catch {
            throw provider.api.wrap(error, doing: "list the droplets to see which images are in use")
        }
    }
}

extension DigitalOceanProvider {
    /// The fingerprint of `publicKey` in the account, adding the key (named `otto`) when it is not there.
    func ensureAccountKey(_ publicKey: String) async throws -> String {
        guard let fingerprint = Self.fingerprint(publicKey) else {
            throw OttoError("image.config", "\(sshKey ?? "ssh_key").pub is not an OpenSSH public key")
        }
        if try await listKeys().contains(where: { $0.fingerprint == fingerprint }) { return fingerprint }
        let resource = Resource(address: ResourceAddress(kind: "ssh_key", name: "otto"), provider: name,
                                attributes: [AttributeName.SSHKey.name: "otto", AttributeName.SSHKey.publicKey: .string(publicKey)])
        _ = try await createKey(resource)
        return fingerprint
    }
}
