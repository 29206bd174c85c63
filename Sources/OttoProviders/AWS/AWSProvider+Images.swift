import Foundation
import OttoCore

private typealias M = AttributeName.Machine

extension AWSProvider {
    /// Tag of an AMI otto built: its recipe hash.
    static let imageHashTag = "otto:image_hash"
    /// Tag of a builder instance: the hash it builds.
    static let builderTag = "otto:build"
    /// Tag on a builder once its recipe was applied and it was cleaned.
    static let provisionedTag = "otto:build_provisioned"
    /// Tag of an instance made from a recipe's AMI: `RECIPE@HASH12` (observed as its `image`).
    static let imageTag = "otto:image"

    /// Builds (and finds) this provider's images of the project's recipes: AMIs.
    public var images: CloudImageBuilder {
        CloudImageBuilder(platform: AWSImagePlatform(provider: self), recipes: recipes, projectRoot: projectRoot)
    }

    /// `RECIPE@HASH12` for a machine's `image` that names one of the project's recipes, else nil (an AMI id).
    func recipeReference(_ image: String) -> String? {
        guard settings.baseImage != nil else { return nil }
        return imageHashes.reference(image, recipes: recipes) { try images.identify($0)[0].hash }
    }

    /// The AMI a `RECIPE@HASH12` image stands for, building it when it is missing.
    func resolveRecipeImage(_ reference: String, address: ResourceAddress) async throws -> String {
        guard let (recipe, short) = ImageIdentity.parseReference(reference), recipes[recipe] != nil else {
            throw OttoError("provider.aws.attribute", "\(address): image \(Value.string(reference)) names no recipe in images/")
        }
        let progress = self.progress
        let image = try await images.build(recipe) { progress("\(address): \($0)") }
        guard image.shortHash == short else {
            throw OttoError("image.changed", "\(address): the plan was made for image \(reference), but images/\(recipe).yml now builds \(ImageIdentity.reference(recipe, hash: image.hash)); plan again")
        }
        return image.id
    }

    /// The name of a key pair holding `publicKey`, importing it (as `otto-HASH8`) when none does.
    func ensureKeyPair(_ publicKey: String) async throws -> String {
        let material = Self.keyMaterial(publicKey)
        do {
            if let pair = try await client.describeKeyPairs(filters: []).first(where: { $0.publicKey.map(Self.keyMaterial) == material }) {
                return pair.name
            }
            let name = "otto-" + ContentHash.sha256(Array(material.utf8)).prefix(8)
            _ = try await client.importKeyPair(name: name, publicKey: publicKey, tags: [("otto:managed", settings.tag)])
            return name
        } catch let error as AWSServiceError where error.code == "InvalidKeyPair.Duplicate" {
            return "otto-" + ContentHash.sha256(Array(material.utf8)).prefix(8)
        } catch {
            throw client.wrap(error, doing: "find or import otto's key pair for image builders")
        }
    }
}

/// AWS's side of image builds: builders are instances made by the provider's own create (pinned host key, ClientToken
/// and `otto:key`), images are AMIs tagged with the recipe hash.
struct AWSImagePlatform: CloudImagePlatform {
    let provider: AWSProvider

    var providerName: String { provider.name }
    var identityHeader: String { "otto-cloud-image 1 aws \(provider.settings.region)" }

    func baseImage() throws -> String {
        guard let base = provider.settings.baseImage else {
            throw OttoError("image.config", "provider `\(provider.name)` needs `base_image:` (the AMI id image recipes start from, e.g. Debian 12 in \(provider.settings.region)) to build images")
        }
        return base
    }

    func login() throws -> (user: String, key: String) {
        guard let key = provider.settings.sshKey else {
            throw OttoError("image.config", "provider `\(provider.name)` needs `ssh_key:` (otto's private key; its .pub becomes a key pair) to build images")
        }
        return (provider.settings.sshUser, key)
    }

    func listImages() async throws -> [ListedCloudImage] {
        let images: [EC2Image]
        do {
            images = try await provider.client.describeImages(filters: [])
        } catch {
            throw provider.client.wrap(error, doing: "list the account's AMIs")
        }
        return images.compactMap { image in
            let hash = image.tags[AWSProvider.imageHashTag]
            guard hash != nil || image.name.hasPrefix("otto-") else { return nil }
            guard !["deregistered", "failed", "error", "invalid"].contains(image.state) else { return nil }
            return ListedCloudImage(id: image.id, name: image.name, hash: hash, available: image.state == "available")
        }
    }

    func tagImage(_ id: String, recipe: String, hash: String) async throws {
        do {
            try await provider.client.createTags([id], [(AWSProvider.imageHashTag, hash), ("otto:recipe", recipe), ("otto:managed", provider.settings.tag)])
        } catch {
            throw provider.client.wrap(error, doing: "tag AMI \(id) with its recipe hash")
        }
    }

    func findBuilders(hash: String) async throws -> [CloudBuilder] {
        let found: [EC2Instance]
        do {
            found = try await provider.client.describeInstances(filters: [("tag:\(AWSProvider.builderTag)", [hash]),
                                                                          ("instance-state-name", AWSProvider.liveStates)])
        } catch {
            throw provider.client.wrap(error, doing: "look for a builder of image \(hash.prefix(12))")
        }
        return found.sorted { $0.launchTime < $1.launchTime }.map(builder)
    }

    func builder(_ instance: EC2Instance) -> CloudBuilder {
        CloudBuilder(id: instance.id, host: instance.publicIPv4 ?? instance.privateIPv4 ?? "",
                     hostKey: HostKeyPins(instanceTags: instance.tags).all.joined(separator: "\n"),
                     provisioned: instance.tags[AWSProvider.provisionedTag] == "true")
    }

    func createBuilder(recipe: String, hash: String, from image: String) async throws -> CloudBuilder {
        guard provider.pinsHostKeys else {
            throw OttoError("image.config", "provider `\(provider.name)` builds images only with pinned host keys (`host_keys: pinned` and `ssh_key:`): otto must know the builder's key before it sends it anything")
        }
        let (_, keyPath) = try login()
        let publicKey = try String(contentsOfFile: keyPath + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let keyName = try await provider.ensureKeyPair(publicKey)
        let address = ResourceAddress(kind: "machine", name: "image-builder.\(recipe)")
        // `build` becomes the tag otto:build (string attributes EC2 does not hold are kept as otto: tags).
        let resource = Resource(address: address, provider: provider.name, attributes: [
            M.name: .string("otto-build-\(recipe)-\(hash.prefix(12))"), M.image: .string(image), M.size: .string(provider.settings.builderSize),
            M.keyName: .string(keyName), M.securityGroups: .list(provider.settings.builderSecurityGroups.map(Value.string)),
            "build": .string(hash),
        ])
        let made = try await provider.createMachine(resource, key: "image-\(hash.prefix(32))")
        guard let instance = try await provider.describeByID([made.providerID]).first(where: { !$0.isGone }) else {
            throw OttoError("provider.aws.missing", "builder \(made.providerID) of image \(recipe) disappeared right after it was made")
        }
        return builder(instance)
    }

    func markProvisioned(_ builder: CloudBuilder) async throws {
        do {
            try await provider.client.createTags([builder.id], [(AWSProvider.provisionedTag, "true")])
        } catch {
            throw provider.client.wrap(error, doing: "mark builder \(builder.id) provisioned")
        }
    }

    func stopBuilder(_ builder: CloudBuilder) async throws {
        do {
            try await provider.client.changeInstanceState("StopInstances", [builder.id])
        } catch {
            throw provider.client.wrap(error, doing: "stop builder \(builder.id)")
        }
        _ = try await provider.waitFor(builder.id, states: ["stopped"], doing: "stop builder \(builder.id)")
    }

    func capture(_ builder: CloudBuilder, name: String) async throws -> String {
        let deadline = ContinuousClock.now + provider.settings.waitTimeout
        var created = false
        while ContinuousClock.now < deadline {
            let same: [EC2Image]
            do {
                same = try await provider.client.describeImages(filters: [("name", [name])])
            } catch {
                throw provider.client.wrap(error, doing: "look for AMI \(name)")
            }
            if let done = same.first(where: { $0.state == "available" }) { return done.id }
            if let failed = same.first(where: { ["failed", "error", "invalid"].contains($0.state) }) {
                throw OttoError("provider.aws.image", "AMI \(failed.id) (\(name)) is \(failed.state); delete it (otto images prune) and build again")
            }
            if same.isEmpty && !created {
                do {
                    _ = try await provider.client.createImage(instance: builder.id, name: name, tags: [("otto:managed", provider.settings.tag)])
                    created = true
                } catch let error as AWSServiceError where error.code == "InvalidAMIName.Duplicate" {
                    created = true  // a killed run's CreateImage: wait for that one
                } catch {
                    throw provider.client.wrap(error, doing: "create AMI \(name) from builder \(builder.id)")
                }
                continue
            }
            try await Task.sleep(for: provider.settings.pollInterval)
        }
        throw OttoError("provider.aws.timeout", "AMI \(name) did not become available within \(provider.settings.waitTimeout); run otto again to finish it")
    }

    func deleteBuilder(_ builder: CloudBuilder) async throws {
        try await provider.deleteMachine(ResourceAddress(kind: "machine", name: "image-builder"),
                                         current: ObservedResource(providerID: builder.id, attributes: [:]))
    }

    func deleteImage(_ id: String) async throws {
        do {
            let snapshots = try await provider.client.describeImages(filters: [("image-id", [id])]).flatMap(\.snapshotIDs)
            try await provider.client.deregisterImage(id)
            for snapshot in snapshots { try await provider.client.deleteSnapshot(snapshot) }
        } catch let error as AWSServiceError where error.code.hasPrefix("InvalidAMIID") {
            return
        } catch {
            throw provider.client.wrap(error, doing: "delete AMI \(id)")
        }
    }

    func imagesInUse() async throws -> Set<String> {
        do {
            return Set(try await provider.client.describeInstances(filters: [("instance-state-name", AWSProvider.liveStates)]).map(\.imageID))
        } catch {
            throw provider.client.wrap(error, doing: "list the instances to see which AMIs are in use")
        }
    }
}
