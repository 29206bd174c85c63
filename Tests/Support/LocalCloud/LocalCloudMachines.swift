import Foundation
import OttoCore
import OttoProviders

/// The machines of a stand-in cloud as otto's own local machines (systemd-nspawn, one netns each on a bridge), for
/// the emulators whose machines never boot by themselves: the fake DigitalOcean's droplets (`LocalDropletBacking`)
/// and moto's EC2 instances (`MotoMachineProxy`). Needs root.
///
/// - A machine is `<prefix><id>`, the id being the cloud's (`fdo-3164444`, `mto-i-0abc…`), so it cannot collide with
///   other machines of the same state directory. It boots from the local image standing in for one of the cloud's
///   base images (a slug, an AMI id: `baseImages`), or from a layer `capture` made (a snapshot, an AMI), which is
///   named `<prefix><image key>`.
/// - Before the first boot the user data's cloud-config (`FakeCloudConfig`) is applied, as cloud-init would: the
///   image's host keys go when `ssh_deletekeys` says so (the default), an `ssh_keys` ed25519 pair is installed, else a
///   key is generated when `ssh_genkeytypes` allows ed25519 (a user data that leaves sshd without a key is a boot
///   error); the request's keys and `ssh_authorized_keys` are authorised for the login user: root, or a user made
///   with passwordless sudo (`LocalCloudBootRequest.loginUser`). Scripts are not run.
/// - A capture is the machine's own overlay `upper` copied into a new layer on top of its layers
///   (`LocalMachineProvider.captureLayer`); a forgotten image's layer is removed once no machine and no other capture
///   is built on it.
/// - Operations on one machine run one after the other, in the order they were asked: `begin` queues one and returns
///   at once, the others wait for theirs; `settle` waits for what is queued.
///
/// `cleanUp()` removes every machine and captured layer carrying the prefix (this run's and a crashed run's) and the
/// bridge when nothing else uses it: call it before and after a test.
public actor LocalCloudMachines {
    /// The provider that makes the machines (its settings: state directory, bridge, subnet).
    public nonisolated let provider: LocalMachineProvider
    /// The local image standing in for each of the cloud's base images, by the cloud's key for it.
    public nonisolated let baseImages: [String: LocalImage]
    /// The prefix of machine and layer names.
    public nonisolated let prefix: String

    private var machines: [String: String] = [:]
    private var addresses: [String: LocalCloudAddress] = [:]
    private var captured: [String: LocalImage] = [:]
    /// Forgotten images whose layer something still stands on.
    private var doomed: [String: LocalImage] = [:]
    private var tails: [String: Task<Void, Never>] = [:]
    private var notes: [String: [String]] = [:]
    private var failureLog: [String] = []

    /// Machines on `provider` from `baseImages` (built beforehand, e.g. with `build(settings:images:prefix:progress:)`).
    public init(provider: LocalMachineProvider, baseImages: [String: LocalImage], prefix: String) {
        self.provider = provider
        self.baseImages = baseImages
        self.prefix = prefix
    }

    /// Builds (or finds already built) the local image of each base key from its recipe (renamed after the key) and
    /// returns machines on a provider of `settings`. The recipes are bases (systemd and sshd, which every local base
    /// has; add sudo for a login user other than root).
    public static func build(settings: LocalSettings, images: [String: ImageRecipe], prefix: String, providerName: String = "local-cloud",
                             progress: (String) -> Void = { _ in }) async throws -> LocalCloudMachines {
        var recipes: [String: ImageRecipe] = [:]
        for (key, recipe) in images {
            var named = recipe
            named.name = key
            recipes[key] = named
        }
        let provider = LocalMachineProvider(name: providerName, settings: settings, recipes: recipes, projectRoot: "/nonexistent")
        var built: [String: LocalImage] = [:]
        for key in recipes.keys.sorted() {
            built[key] = try await provider.images.build(key, recipes: recipes, projectRoot: "/nonexistent", progress: progress)
        }
        return LocalCloudMachines(provider: provider, baseImages: built, prefix: prefix)
    }

    /// Settings for machines on bridge `bridge` with addresses of `subnet` (CIDR), keeping state (and built images) in
    /// `stateDir`: what the standalone stand-ins take on their command lines.
    public static func settings(stateDir: String, bridge: String, subnet: String) throws -> LocalSettings {
        guard let parsed = IPv4Subnet(parsing: subnet) else {
            throw OttoError("local_cloud.config", "\(subnet) is not an IPv4 subnet in CIDR form (10.213.0.240/28)")
        }
        return LocalSettings(subnet: parsed, bridge: bridge, stateDir: stateDir)
    }

    /// The machine of id `id`.
    public nonisolated func machineName(_ id: String) -> String { prefix + id }

    /// The layer name of the image captured as `image`.
    public nonisolated func layerName(_ image: String) -> String { prefix + image }

    // MARK: Queries

    /// Whether the machine of `id` runs now; nil when there is none (never booted, its boot failed, destroyed).
    public func isRunning(_ id: String) -> Bool? {
        guard let name = machines[id] else { return nil }
        return provider.isRunning(name)
    }

    /// The address of the machine of `id`, nil when there is none.
    public func address(_ id: String) -> LocalCloudAddress? { addresses[id] }

    /// The ids that have a machine.
    public func ids() -> [String] { machines.keys.sorted() }

    /// Whether a layer was captured as `image` (and not forgotten).
    public func hasCaptured(_ image: String) -> Bool { captured[image] != nil }

    /// The layer captured as `image`, if any.
    public func capturedImage(_ image: String) -> LocalImage? { captured[image] }

    /// What the cloud-config of `id`'s user data asked that was not applied (scripts, other keys).
    public func ignoredUserData(_ id: String) -> [String] { notes[id] ?? [] }

    /// Operations started with `begin` that failed, as `what: reason` lines (empty when all went well).
    public func failures() -> [String] { failureLog }

    /// Records a failure seen outside this type (`failures()`), e.g. a boot its caller ran and could not use.
    public func record(failure: String) { failureLog.append(failure) }

    // MARK: Operations

    /// Boots the machine of `request.id` and returns its address once sshd answers (see the type's description).
    /// When it fails, nothing of it is left and the error says why.
    public func boot(_ request: LocalCloudBootRequest) async throws -> LocalCloudAddress {
        try await enqueue(request.id) { try await self.bootNow(request) }.value
    }

    /// Runs `operation` on the machine of `id` after the operations asked before and returns when it is done.
    public func perform(_ operation: LocalCloudOperation, on id: String) async throws {
        try await enqueue(id) { try await self.run(operation, id) }.value
    }

    /// Queues `operation` on the machine of `id` after the operations asked before and returns at once with its
    /// task; a failure is also recorded as `<id>: <operation>: <reason>` (`failures()`).
    @discardableResult
    public func begin(_ operation: LocalCloudOperation, on id: String) -> Task<Void, any Error> {
        let task = enqueue(id) { try await self.run(operation, id) }
        Task {
            do { try await task.value } catch { self.record(failure: "\(id): \(operation): \(error)") }
        }
        return task
    }

    /// Captures the machine of `id` as image `image` (taken as the machine is: stopped for a consistent copy; a running
    /// one is synced first), after the operations asked before on it. With `stopRunning`, a running machine is stopped
    /// for the copy and started again (EC2's CreateImage without NoReboot).
    @discardableResult
    public func capture(_ id: String, as image: String, stopRunning: Bool = false) async throws -> LocalImage {
        try await enqueue(id) {
            let machine = try await self.machine(id)
            let restart = stopRunning && self.provider.isRunning(machine)
            if restart { try await self.provider.stop(machine, grace: 15) }
            let layer: LocalImage
            do {
                layer = try await self.provider.captureLayer(of: machine, name: self.layerName(image))
            } catch {
                if restart { _ = try? await self.provider.startMachine(machine) }
                throw error
            }
            await self.remember(image: image, layer)
            if restart { _ = try await self.provider.startMachine(machine) }
            return layer
        }.value
    }

    /// Forgets image `image`: its layer is removed now, or once the last machine or capture built on it is gone.
    /// Machines booted from it keep running. An image never captured is fine.
    public func forgetImage(_ image: String) async throws {
        if let layer = captured.removeValue(forKey: image) { doomed[image] = layer }
        try await collectLayers()
    }

    /// Waits until the operations queued so far on `ids` (nil: on every machine) have ended.
    public func settle(_ ids: [String]? = nil) async {
        let waiting = ids.map { $0.compactMap { tails[$0] } } ?? Array(tails.values)
        for task in waiting { await task.value }
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
            do { try await destroyMachine(name) } catch { failures.append(error) }
        }
        machines = [:]
        addresses = [:]
        notes = [:]
        captured = [:]
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

    /// Queues `body` after every operation asked before on `id` (in this call, so the order is the order of the
    /// calls) and returns its task.
    private func enqueue<T: Sendable>(_ id: String, _ body: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
        let previous = tails[id]
        let task = Task { () async throws -> T in
            await previous?.value
            return try await body()
        }
        tails[id] = Task { _ = try? await task.value }
        return task
    }

    private func run(_ operation: LocalCloudOperation, _ id: String) async throws {
        switch operation {
        case .stop(let grace):
            try await provider.stop(try machine(id), grace: grace)
        case .start:
            _ = try await provider.startMachine(try machine(id))
        case .reboot(let grace):
            let name = try machine(id)
            try await provider.stop(name, grace: grace)
            _ = try await provider.startMachine(name)
        case .destroy:
            try await destroyMachine(machineName(id))
            machines.removeValue(forKey: id)
            addresses.removeValue(forKey: id)
            notes.removeValue(forKey: id)
            try await collectLayers()
        }
    }

    private func destroyMachine(_ name: String) async throws {
        try await provider.delete(ResourceAddress(kind: "machine", name: name), current: ObservedResource(providerID: name, attributes: [:]))
    }

    private func machine(_ id: String) throws -> String {
        guard let name = machines[id] else {
            throw OttoError("fake.backing.missing", "\(id) has no machine (its boot failed or it was destroyed)")
        }
        return name
    }

    private func remember(image: String, _ layer: LocalImage) { captured[image] = layer }

    private func bootNow(_ request: LocalCloudBootRequest) async throws -> LocalCloudAddress {
        let image: LocalImage
        switch request.image {
        case .base(let key):
            guard let found = baseImages[key] else {
                throw OttoError("fake.backing.image", "no local image stands in for \(key) (known: \(baseImages.keys.sorted().joined(separator: ", ")))")
            }
            image = found
        case .captured(let key):
            guard let found = captured[key] else {
                throw OttoError("fake.backing.image", "image \(key) has no captured layer here (made without this backing, or forgotten)")
            }
            image = found
        }
        let config: FakeCloudConfig
        do {
            config = try FakeCloudConfig.parse(request.userData)
        } catch {
            throw OttoError("fake.backing.user_data", "\(request.id): \(error.message)")
        }
        let hostKey: LocalHostKeyPolicy
        if let privateKey = config.hostPrivateKey, let publicKey = config.hostPublicKey {
            hostKey = .install(privateKey: privateKey, publicKey: publicKey)
        } else if !config.deleteKeys {
            hostKey = .keepImageKeys
        } else if config.generateKeyTypes.contains("ed25519") {
            hostKey = .generate
        } else {
            throw OttoError("fake.backing.user_data", "\(request.id): the user data deletes the image's host keys (ssh_deletekeys), gives no ed25519 pair in ssh_keys and generates none (ssh_genkeytypes): sshd would have no host key")
        }
        let keys = request.authorizedKeys + config.authorizedKeys
        var customize: (@Sendable (String) async throws -> Void)?
        if let user = request.loginUser {
            guard LocalCloudLoginUser.isUserName(user) else {
                throw OttoError("fake.backing.user", "\(request.id): \(Value.string(user)) is not a user name (a-z, 0-9, '_', '-', starting with a letter or '_')")
            }
            customize = { root in try await LocalCloudLoginUser.install(user, keys: keys, root: root) }
        }
        notes[request.id] = config.ignored
        let name = machineName(request.id)
        let observed = try await provider.createMachine(name, image: image, hostKey: hostKey,
                                                        authorizedKeys: request.loginUser == nil || !config.disableRoot ? keys : [],
                                                        hostname: request.hostname, customize: customize)
        machines[request.id] = name
        guard let ipv4 = observed.attributes[AttributeName.Machine.ipv4]?.stringValue else {
            throw OttoError("fake.backing.boot", "machine \(name) booted without an address")
        }
        let subnet = provider.settings.subnet
        let mask: UInt32 = subnet.prefix == 0 ? 0 : UInt32.max << UInt32(32 - subnet.prefix)
        let address = LocalCloudAddress(ipv4: ipv4, netmask: IPv4Subnet.format(mask), gateway: IPv4Subnet.format(subnet.gateway))
        addresses[request.id] = address
        return address
    }

    private func collectLayers() async throws {
        var progress = true
        while progress {
            progress = false
            for (key, layer) in doomed {
                do {
                    try await provider.removeCapturedLayer(layer)
                    doomed.removeValue(forKey: key)
                    progress = true
                } catch let error as OttoError where error.code == "provider.local.layer_in_use" {
                    continue
                }
            }
        }
    }
}
