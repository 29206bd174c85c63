import Foundation
import OttoCore
import OttoProviders

/// Droplets of the fake DigitalOcean as otto's own local machines (systemd-nspawn, one netns each on a bridge):
/// `LocalMachineProvider` boots them, from the local image that stands in for the droplet's distribution slug or
/// from the layer a snapshot captured. Needs root.
///
/// - Machine names are `<prefix><droplet id>` (default `fdo-3164444`), so they cannot collide with other machines
///   of the same state directory; captured layers are named `<prefix>snapshot-<image id>`.
/// - Before the first boot the user data's cloud-config (`FakeCloudConfig`) is applied: the image's host keys go
///   when `ssh_deletekeys` says so (the default), an `ssh_keys` ed25519 pair is installed, else a key is generated
///   when `ssh_genkeytypes` allows ed25519 (a user data that leaves sshd without a key is a boot error); the create's
///   `ssh_keys` and `ssh_authorized_keys` are added to root's `authorized_keys`. Scripts are not run.
/// - `shutdown` stops the machine with a 15 s grace, `power_off` with 2 s; `reboot` is a stop and a start.
/// - A snapshot is the machine's own overlay `upper` copied into a new layer on top of its layers
///   (`LocalMachineProvider.captureLayer`); a deleted snapshot's layer is removed once no machine and no other
///   snapshot is built on it.
/// - Operations of one droplet run one after the other, in the order they were asked.
///
/// `cleanUp()` removes every machine and captured layer carrying the prefix (this run's and a crashed run's) and
/// the bridge when nothing else uses it: call it before and after a test.
public actor LocalDropletBacking: FakeDropletBacking {
    /// The provider that makes the machines (its settings: state directory, bridge, subnet).
    public nonisolated let provider: LocalMachineProvider
    /// The local image that stands in for each distribution slug (`debian-12-x64`).
    public nonisolated let baseImages: [String: LocalImage]
    /// The prefix of machine and layer names.
    public nonisolated let prefix: String

    private var machines: [Int: String] = [:]
    private var snapshots: [Int: LocalImage] = [:]
    /// Deleted snapshots whose layer something still stands on.
    private var doomed: [Int: LocalImage] = [:]
    private var tails: [Int: Task<Void, Never>] = [:]
    private var notes: [Int: [String]] = [:]

    /// A backing on `provider` with `baseImages` (built beforehand, e.g. with `build(settings:slugs:)`).
    public init(provider: LocalMachineProvider, baseImages: [String: LocalImage], prefix: String = "fdo-") {
        self.provider = provider
        self.baseImages = baseImages
        self.prefix = prefix
    }

    /// Builds (or finds already built) the local image of each slug from its recipe and returns a backing with a
    /// provider of `settings`. `slugs` maps a distribution slug to its recipe (a base: systemd and sshd, which every
    /// local base has; the recipe's name is the slug's).
    public static func build(settings: LocalSettings, slugs: [String: ImageRecipe], prefix: String = "fdo-",
                             progress: (String) -> Void = { _ in }) async throws -> LocalDropletBacking {
        var recipes: [String: ImageRecipe] = [:]
        for (slug, recipe) in slugs {
            var named = recipe
            named.name = slug
            recipes[slug] = named
        }
        let provider = LocalMachineProvider(name: "fake-digitalocean", settings: settings, recipes: recipes, projectRoot: "/nonexistent")
        var images: [String: LocalImage] = [:]
        for slug in recipes.keys.sorted() {
            images[slug] = try await provider.images.build(slug, recipes: recipes, projectRoot: "/nonexistent", progress: progress)
        }
        return LocalDropletBacking(provider: provider, baseImages: images, prefix: prefix)
    }

    /// The bookworm base that stands in for `debian-12-x64`: systemd and sshd, nothing else.
    public static let debian12: ImageRecipe = ImageRecipe(name: "debian-12-x64", suite: "bookworm",
                                                          location: SourceLocation(file: "LocalDropletBacking.swift", line: 1, column: 1))

    /// The machine of droplet `id`.
    public nonisolated func machineName(droplet id: Int) -> String { prefix + String(id) }

    /// What the cloud-config of droplet `id`'s user data asked that was not applied (scripts, other keys).
    public func ignoredUserData(droplet id: Int) -> [String] { notes[id] ?? [] }

    // MARK: FakeDropletBacking

    /// See `FakeDropletBacking.boot`.
    public func boot(_ request: FakeDropletBootRequest) async throws -> FakeDropletAddress {
        try await serial(request.dropletID) { try await self.bootNow(request) }
    }

    /// See `FakeDropletBacking.stop`.
    public func stop(droplet: Int, graceful: Bool) async throws {
        try await serial(droplet) {
            let name = try await self.machine(droplet)
            try await self.provider.stop(name, grace: graceful ? 15 : 2)
        }
    }

    /// See `FakeDropletBacking.start`.
    public func start(droplet: Int) async throws {
        try await serial(droplet) { _ = try await self.provider.startMachine(try await self.machine(droplet)) }
    }

    /// See `FakeDropletBacking.reboot`.
    public func reboot(droplet: Int) async throws {
        try await serial(droplet) {
            let name = try await self.machine(droplet)
            try await self.provider.stop(name, grace: 15)
            _ = try await self.provider.startMachine(name)
        }
    }

    /// See `FakeDropletBacking.capture`.
    public func capture(droplet: Int, snapshot: Int, name: String) async throws {
        try await serial(droplet) {
            let machine = try await self.machine(droplet)
            let image = try await self.provider.captureLayer(of: machine, name: "\(self.prefix)snapshot-\(snapshot)")
            await self.remember(snapshot: snapshot, image)
        }
    }

    /// See `FakeDropletBacking.destroy`.
    public func destroy(droplet: Int) async throws {
        try await serial(droplet) {
            let name = self.machineName(droplet: droplet)
            try await self.provider.delete(ResourceAddress(kind: "machine", name: name), current: ObservedResource(providerID: name, attributes: [:]))
            await self.forget(droplet: droplet)
            try await self.collectLayers()
        }
    }

    /// See `FakeDropletBacking.deleteImage`.
    public func deleteImage(snapshot: Int) async throws {
        if let image = snapshots.removeValue(forKey: snapshot) { doomed[snapshot] = image }
        try await collectLayers()
    }

    /// See `FakeDropletBacking.isRunning`.
    public func isRunning(droplet: Int) async -> Bool? {
        guard let name = machines[droplet] else { return nil }
        return provider.isRunning(name)
    }

    // MARK: Clean-up

    /// Waits for the operations under way, then destroys every machine whose name carries the prefix, removes every
    /// captured layer whose name does, and the bridge when no machine is left on it. Throws the first failure after
    /// trying everything.
    public func cleanUp() async throws {
        for task in tails.values { await task.value }
        tails = [:]
        var failures: [any Error] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: provider.machinesDirectory)) ?? []).filter { $0.hasPrefix(prefix) }
        for name in names.sorted() {
            do {
                try await provider.delete(ResourceAddress(kind: "machine", name: name), current: ObservedResource(providerID: name, attributes: [:]))
            } catch { failures.append(error) }
        }
        machines = [:]
        snapshots = [:]
        doomed = [:]
        var left = provider.capturedLayers().filter { $0.name.hasPrefix(prefix) }
        while !left.isEmpty {
            var removed = false
            var lastError: (any Error)?
            for image in left {
                do {
                    try await provider.removeCapturedLayer(image)
                    removed = true
                } catch { lastError = error }
            }
            left = provider.capturedLayers().filter { $0.name.hasPrefix(prefix) }
            if !removed {
                if let lastError { failures.append(lastError) }
                break
            }
        }
        do { _ = try await provider.removeBridgeIfUnused() } catch { failures.append(error) }
        if let first = failures.first { throw first }
    }

    // MARK: Helpers

    /// Runs `body` after every operation asked before on `droplet` has ended.
    private func serial<T: Sendable>(_ droplet: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let previous = tails[droplet]
        let task = Task { () async throws -> T in
            await previous?.value
            return try await body()
        }
        tails[droplet] = Task { _ = try? await task.value }
        return try await task.value
    }

    private func machine(_ droplet: Int) throws -> String {
        guard let name = machines[droplet] else {
            throw OttoError("fake.backing.missing", "droplet \(droplet) has no machine (its boot failed or it was destroyed)")
        }
        return name
    }

    private func remember(snapshot: Int, _ image: LocalImage) { snapshots[snapshot] = image }

    private func forget(droplet: Int) {
        machines.removeValue(forKey: droplet)
        notes.removeValue(forKey: droplet)
    }

    private func bootNow(_ request: FakeDropletBootRequest) async throws -> FakeDropletAddress {
        let image: LocalImage
        switch request.image {
        case .slug(let slug):
            guard let found = baseImages[slug] else {
                throw OttoError("fake.backing.image", "no local image stands in for \(slug) (known: \(baseImages.keys.sorted().joined(separator: ", ")))")
            }
            image = found
        case .snapshot(let id):
            guard let found = snapshots[id] else {
                throw OttoError("fake.backing.image", "snapshot \(id) has no captured layer here (seeded, or taken without this backing)")
            }
            image = found
        }
        let config: FakeCloudConfig
        do {
            config = try FakeCloudConfig.parse(request.userData)
        } catch {
            throw OttoError("fake.backing.user_data", "droplet \(request.dropletID): \(error.message)")
        }
        let hostKey: LocalHostKeyPolicy
        if let privateKey = config.hostPrivateKey, let publicKey = config.hostPublicKey {
            hostKey = .install(privateKey: privateKey, publicKey: publicKey)
        } else if !config.deleteKeys {
            hostKey = .keepImageKeys
        } else if config.generateKeyTypes.contains("ed25519") {
            hostKey = .generate
        } else {
            throw OttoError("fake.backing.user_data", "droplet \(request.dropletID): the user data deletes the image's host keys (ssh_deletekeys), gives no ed25519 pair in ssh_keys and generates none (ssh_genkeytypes): sshd would have no host key")
        }
        notes[request.dropletID] = config.ignored
        let name = machineName(droplet: request.dropletID)
        let observed = try await provider.createMachine(name, image: image, hostKey: hostKey,
                                                        authorizedKeys: request.authorizedKeys + config.authorizedKeys,
                                                        hostname: request.name)
        machines[request.dropletID] = name
        guard let ipv4 = observed.attributes[AttributeName.Machine.ipv4]?.stringValue else {
            throw OttoError("fake.backing.boot", "machine \(name) booted without an address")
        }
        let subnet = provider.settings.subnet
        let mask: UInt32 = subnet.prefix == 0 ? 0 : UInt32.max << UInt32(32 - subnet.prefix)
        return FakeDropletAddress(ipv4: ipv4, netmask: IPv4Subnet.format(mask), gateway: IPv4Subnet.format(subnet.gateway))
    }

    private func collectLayers() async throws {
        var progress = true
        while progress {
            progress = false
            for (id, image) in doomed {
                do {
                    try await provider.removeCapturedLayer(image)
                    doomed.removeValue(forKey: id)
                    progress = true
                } catch let error as OttoError where error.code == "provider.local.layer_in_use" {
                    continue
                }
            }
        }
    }
}
