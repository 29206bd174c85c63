import Foundation
import OttoCore
import OttoProviders

/// Droplets of the fake DigitalOcean as otto's own local machines (`LocalCloudMachines`: systemd-nspawn, one netns
/// each on a bridge), booted from the local image that stands in for the droplet's distribution slug or from the layer
/// a snapshot captured. Needs root.
///
/// - Machine names are `<prefix><droplet id>` (default `fdo-3164444`), so they cannot collide with other machines
///   of the same state directory; captured layers are named `<prefix>snapshot-<image id>`.
/// - Before the first boot the user data's cloud-config (`FakeCloudConfig`) is applied (see `LocalCloudMachines`);
///   the create's `ssh_keys` and `ssh_authorized_keys` are added to root's `authorized_keys`. Scripts are not run.
/// - `shutdown` stops the machine with a 15 s grace, `power_off` with 2 s; `reboot` is a stop and a start.
/// - A snapshot is the machine's own overlay `upper` copied into a new layer on top of its layers
///   (`LocalMachineProvider.captureLayer`); a deleted snapshot's layer is removed once no machine and no other
///   snapshot is built on it.
/// - Operations of one droplet run one after the other, in the order they were asked.
///
/// `cleanUp()` removes every machine and captured layer carrying the prefix (this run's and a crashed run's) and
/// the bridge when nothing else uses it: call it before and after a test.
public actor LocalDropletBacking: FakeDropletBacking {
    /// The machines behind the droplets (by droplet id, as text).
    public nonisolated let machines: LocalCloudMachines

    /// The provider that makes the machines (its settings: state directory, bridge, subnet).
    public nonisolated var provider: LocalMachineProvider { machines.provider }
    /// The local image that stands in for each distribution slug (`debian-12-x64`).
    public nonisolated var baseImages: [String: LocalImage] { machines.baseImages }
    /// The prefix of machine and layer names.
    public nonisolated var prefix: String { machines.prefix }

    /// A backing on `provider` with `baseImages` (built beforehand, e.g. with `build(settings:slugs:)`).
    public init(provider: LocalMachineProvider, baseImages: [String: LocalImage], prefix: String = "fdo-") {
        machines = LocalCloudMachines(provider: provider, baseImages: baseImages, prefix: prefix)
    }

    /// A backing on machines made beforehand (their base image keys are slugs).
    public init(machines: LocalCloudMachines) {
        self.machines = machines
    }

    /// Builds (or finds already built) the local image of each slug from its recipe and returns a backing with a
    /// provider of `settings`. `slugs` maps a distribution slug to its recipe (a base: systemd and sshd, which every
    /// local base has; the recipe's name is the slug's).
    public static func build(settings: LocalSettings, slugs: [String: ImageRecipe], prefix: String = "fdo-",
                             progress: (String) -> Void = { _ in }) async throws -> LocalDropletBacking {
        LocalDropletBacking(machines: try await LocalCloudMachines.build(settings: settings, images: slugs, prefix: prefix,
                                                                         providerName: "fake-digitalocean", progress: progress))
    }

    /// The bookworm base that stands in for `debian-12-x64`: systemd and sshd, nothing else.
    public static let debian12: ImageRecipe = ImageRecipe(name: "debian-12-x64", suite: "bookworm",
                                                          location: SourceLocation(file: "LocalDropletBacking.swift", line: 1, column: 1))

    /// The machine of droplet `id`.
    public nonisolated func machineName(droplet id: Int) -> String { machines.machineName(String(id)) }

    /// What the cloud-config of droplet `id`'s user data asked that was not applied (scripts, other keys).
    public func ignoredUserData(droplet id: Int) async -> [String] { await machines.ignoredUserData(String(id)) }

    // MARK: FakeDropletBacking

    /// See `FakeDropletBacking.boot`.
    public func boot(_ request: FakeDropletBootRequest) async throws -> FakeDropletAddress {
        let image: LocalCloudBootRequest.Image
        switch request.image {
        case .slug(let slug): image = .base(slug)
        case .snapshot(let id): image = .captured(Self.snapshotKey(id))
        }
        let address = try await machines.boot(LocalCloudBootRequest(id: String(request.dropletID), hostname: request.name, image: image,
                                                                    userData: request.userData, authorizedKeys: request.authorizedKeys))
        return FakeDropletAddress(ipv4: address.ipv4, netmask: address.netmask, gateway: address.gateway)
    }

    /// See `FakeDropletBacking.stop`.
    public func stop(droplet: Int, graceful: Bool) async throws {
        try await machines.perform(.stop(grace: graceful ? 15 : 2), on: String(droplet))
    }

    /// See `FakeDropletBacking.start`.
    public func start(droplet: Int) async throws {
        try await machines.perform(.start, on: String(droplet))
    }

    /// See `FakeDropletBacking.reboot`.
    public func reboot(droplet: Int) async throws {
        try await machines.perform(.reboot(grace: 15), on: String(droplet))
    }

    /// See `FakeDropletBacking.capture`.
    public func capture(droplet: Int, snapshot: Int, name: String) async throws {
        try await machines.capture(String(droplet), as: Self.snapshotKey(snapshot))
    }

    /// See `FakeDropletBacking.destroy`.
    public func destroy(droplet: Int) async throws {
        try await machines.perform(.destroy, on: String(droplet))
    }

    /// See `FakeDropletBacking.deleteImage`.
    public func deleteImage(snapshot: Int) async throws {
        try await machines.forgetImage(Self.snapshotKey(snapshot))
    }

    /// See `FakeDropletBacking.isRunning`.
    public func isRunning(droplet: Int) async -> Bool? {
        await machines.isRunning(String(droplet))
    }

    // MARK: Clean-up

    /// Waits for the operations under way, then destroys every machine whose name carries the prefix, removes every
    /// captured layer whose name does, and the bridge when no machine is left on it. Throws the first failure after
    /// trying everything.
    public func cleanUp() async throws {
        try await machines.cleanUp()
    }

    /// The image key of snapshot `id`: its layer is `<prefix>snapshot-<id>`.
    static func snapshotKey(_ id: Int) -> String { "snapshot-\(id)" }
}
