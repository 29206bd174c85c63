import Foundation
import OttoCore

/// Builds `images/*.yml` recipes into cloud images (DigitalOcean snapshots, EC2 AMIs) the way a run can be killed at any
/// step and the next run finishes or cleans up, never leaking a builder and never making two images of one hash:
///
/// 1. an image carrying the recipe's hash is reused (nothing is launched);
/// 2. an image with the recipe's name but no hash tag (a run killed between capturing and tagging) is tagged and used;
/// 3. otherwise a builder (an ordinary machine of the provider, tagged with the hash, using otto's own login key and
///    a pinned host key) is made, or the one a killed run left is picked up: a provisioned one goes on to the capture,
///    every other builder of the hash is deleted (what ran on it is unknown) and one is made again;
/// 4. the recipe's packages, files and commands are applied over SSH, then host keys, machine-id, cloud-init state and
///    otto's key are removed (`CloudImageProvisioner`);
/// 5. stop → capture (snapshot action / CreateImage) → wait → tag with the hash → delete every builder of the hash;
///    images of the same name left by a killed capture are deleted, so exactly one remains.
///
/// A parent (`from:`) is built first and the child's builder starts from the parent's image. Builds of one hash in one
/// process are shared (two machines needing the same image wait for one build).
public struct CloudImageBuilder: Sendable {
    let platform: any CloudImagePlatform
    /// The project's recipes.
    public let recipes: [String: ImageRecipe]
    /// Resolves recipes' `source:` files.
    public let projectRoot: String

    init(platform: any CloudImagePlatform, recipes: [String: ImageRecipe], projectRoot: String) {
        self.platform = platform
        self.recipes = recipes
        self.projectRoot = projectRoot
    }

    /// `name` and its parents, topmost first, with their hashes for this provider (nothing is looked up).
    public func identify(_ name: String) throws -> [ImageIdentity.Link] {
        let base = try platform.baseImage()
        return try ImageIdentity.chain(name, recipes: recipes, projectRoot: projectRoot, header: platform.identityHeader) { _ in
            "base \(base)"
        }
    }

    /// The image of `name` when it is built, else nil (one list call; nothing is built).
    public func cached(_ name: String) async throws -> CloudImage? {
        let link = try identify(name)[0]
        guard let found = try await platform.listImages().first(where: { $0.hash == link.hash && $0.available }) else { return nil }
        return CloudImage(recipe: name, hash: link.hash, id: found.id, name: found.name, cached: true, seconds: 0)
    }

    /// Builds `name` and whatever parents are missing; returns at once (one list call) when all are built.
    public func build(_ name: String, progress: @escaping @Sendable (String) -> Void) async throws -> CloudImage {
        let start = ContinuousClock.now
        let chain = try identify(name)
        let images = try await platform.listImages()
        var from = try platform.baseImage()
        var built = false
        for link in chain.reversed() {
            if let found = images.first(where: { $0.hash == link.hash && $0.available }) {
                from = found.id
                continue
            }
            let key = "\(platform.providerName) \(link.hash)"
            let parent = from
            from = try await CloudImageBuilds.shared.run(key) {
                try await buildOne(link, from: parent, progress: progress)
            }
            built = true
        }
        let top = chain[0]
        let seconds = built ? (ContinuousClock.now - start).inSeconds : 0
        return CloudImage(recipe: name, hash: top.hash, id: from, name: CloudImage.name(recipe: name, hash: top.hash), cached: !built,
                          seconds: seconds)
    }

    /// Builds one link of a chain from `image` (its parent's image or the provider's base).
    func buildOne(_ link: ImageIdentity.Link, from image: String, progress: @escaping @Sendable (String) -> Void) async throws -> String {
        let recipe = link.recipe.name, hash = link.hash
        let name = CloudImage.name(recipe: recipe, hash: hash)
        let started = ContinuousClock.now
        // Another process (or an earlier build in this one) may have finished it since the list.
        let now = try await platform.listImages()
        if let done = now.first(where: { $0.hash == hash && $0.available }) { return done.id }
        if let half = now.first(where: { $0.name == name && $0.available }) {
            progress("image \(recipe) (\(hash.prefix(12))): tagging \(half.id), which a killed run captured but did not tag")
            try await platform.tagImage(half.id, recipe: recipe, hash: hash)
            try await finish(hash: hash, name: name, keep: half.id, progress: progress)
            return half.id
        }
        // A provisioned builder a killed run left is picked up; every other one goes (what ran on it is unknown).
        let leftovers = try await platform.findBuilders(hash: hash)
        let builder = leftovers.first { $0.provisioned }
        for leftover in leftovers where leftover.id != builder?.id {
            progress("image \(recipe) (\(hash.prefix(12))): deleting builder \(leftover.id), which a killed run left "
                     + (leftover.provisioned ? "(a second one)" : "before it was provisioned"))
            try await platform.deleteBuilder(leftover)
        }
        let ready: CloudBuilder
        if let builder {
            progress("image \(recipe) (\(hash.prefix(12))): resuming with builder \(builder.id), provisioned by a killed run")
            ready = builder
        } else {
            progress("image \(recipe) (\(hash.prefix(12))): creating a builder from \(image)")
            let made = try await platform.createBuilder(recipe: recipe, hash: hash, from: image)
            do {
                progress("image \(recipe) (\(hash.prefix(12))): provisioning builder \(made.id) at \(made.host)")
                let login = try platform.login()
                try await CloudImageProvisioner(host: made.host, user: login.user, identityFile: login.key, hostKey: made.hostKey,
                                                recipe: link.recipe, projectRoot: projectRoot, machine: "builder \(made.id) of image \(recipe)")
                    .run(progress: progress)
                try await platform.markProvisioned(made)
            } catch {
                // A failed recipe: the builder goes (never leaked); the error says why.
                try? await platform.deleteBuilder(made)
                throw OttoError("image.build", "building image `\(recipe)` on \(platform.providerName) failed (builder \(made.id) deleted)", cause: error)
            }
            ready = made
        }
        progress("image \(recipe) (\(hash.prefix(12))): stopping builder \(ready.id)")
        try await platform.stopBuilder(ready)
        progress("image \(recipe) (\(hash.prefix(12))): capturing \(name)")
        let id = try await platform.capture(ready, name: name)
        try await platform.tagImage(id, recipe: recipe, hash: hash)
        try await finish(hash: hash, name: name, keep: id, progress: progress)
        progress("image \(recipe) (\(hash.prefix(12))): built \(id) in \(Int((ContinuousClock.now - started).inSeconds)) s")
        return id
    }

    /// After the image `keep` is tagged: deletes other images of the same name (a killed capture's) and every builder of
    /// the hash (the one just captured, and any a repeated launch left).
    private func finish(hash: String, name: String, keep: String, progress: @escaping @Sendable (String) -> Void) async throws {
        for other in try await platform.listImages() where other.name == name && other.id != keep && other.hash == nil {
            progress("deleting \(other.id), a second capture of \(name) by a killed run")
            try await platform.deleteImage(other.id)
        }
        for builder in try await platform.findBuilders(hash: hash) {
            try await platform.deleteBuilder(builder)
        }
    }

    /// Deletes the images otto made that no recipe produces any more and no machine uses; returns what it deleted
    /// (with `dryRun`, what it would delete). Images a recipe produces are kept even when unused.
    public func prune(dryRun: Bool) async throws -> [ListedCloudImage] {
        var wanted = Set<String>()
        for name in recipes.keys { for link in try identify(name) { wanted.insert(link.hash) } }
        let used = try await platform.imagesInUse()
        let doomed = try await platform.listImages().filter { image in
            guard let hash = image.hash else { return false }  // half-made: the next build of its recipe settles it
            return !wanted.contains(hash) && !used.contains(image.id)
        }
        if !dryRun { for image in doomed { try await platform.deleteImage(image.id) } }
        return doomed
    }

    /// Every image otto made in this account (for `otto images list`).
    public func listImages() async throws -> [ListedCloudImage] { try await platform.listImages() }
}

/// Builds of one image in flight in this process, shared by everyone who needs it.
actor CloudImageBuilds {
    static let shared = CloudImageBuilds()
    private var running: [String: Task<String, any Error>] = [:]

    /// Runs `body` for `key` unless it runs already, in which case its result is awaited.
    func run(_ key: String, _ body: @escaping @Sendable () async throws -> String) async throws -> String {
        if let task = running[key] { return try await task.value }
        let task = Task { try await body() }
        running[key] = task
        defer { running[key] = nil }
        return try await task.value
    }
}
