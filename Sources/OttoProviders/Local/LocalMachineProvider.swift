import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

/// Manages `machine` resources as systemd-nspawn containers on this host (the `local` provider).
///
/// Each machine boots real systemd from an overlay over its image's layers, in its own network namespace
/// `otto-<name>` wired by a veth pair to a bridge in the host namespace (so the operator reaches it from the host),
/// with a fresh ed25519 host key and otto's client key authorised for root. A supervisor started under `setsid`
/// restarts nspawn after a guest reboot. Machines are observed, not remembered: the facts that cannot be read back
/// (address, MAC, image, host key) live in `<state_dir>/machines/<name>/machine.json`; whether a machine runs is read
/// from /run/netns and /proc.
///
/// Attributes in: `name` (hostname, required), `image` (an images/*.yml name, required; `derive` makes it
/// `RECIPE@HASH12`, so a changed recipe replaces the machine), anything else (group, size, region) is recorded as given. Attributes out: those plus `ipv4`, `mac`, `host_key`, `image_id`, `running`,
/// `ssh_user` (root), `ssh_port` (22). providerID: the machine name.
public final class LocalMachineProvider: Provider {
    /// The instance name (an inventory `providers:` key, usually `local`).
    public let name: String
    /// Most actions run at once.
    public let concurrencyLimit: Int
    /// `machine`.
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [
        KindSchema(kind: "machine", attributes: [
            .required(AttributeName.Machine.name, .string), .required(AttributeName.Machine.image, .string, forceNew: true),
            .optional(AttributeName.Machine.group, .string), .optional(AttributeName.Machine.size, .string),
            .optional(AttributeName.Machine.region, .string),
            .computed("mac", .string), .computed("image_id", .string), .computed("running", .bool),
        ] + SharedSchemas.machineConnection),
    ]
    /// Settings (subnet, bridge, mirror, state directory).
    public let settings: LocalSettings
    /// Builds the images machines name.
    public let images: LocalImageBuilder
    let recipes: [String: ImageRecipe]
    let projectRoot: String
    /// Recipe ids computed so far (recipe name → id).
    let imageIDs = RecipeHashes()

    /// Creates the provider. `recipes` are the project's images (machines are built from them on demand);
    /// `projectRoot` resolves their `source:` files.
    public init(name: String = "local", settings: LocalSettings = LocalSettings(), recipes: [String: ImageRecipe],
                projectRoot: String, concurrency: Int = 8) {
        self.name = name
        self.settings = settings
        self.images = LocalImageBuilder(settings: settings)
        self.recipes = recipes
        self.projectRoot = projectRoot
        self.concurrencyLimit = max(1, concurrency)
    }

    /// otto's private key for ssh to the machines (`<state_dir>/ssh/id_ed25519`, created on first create).
    public var clientKeyPath: String { settings.stateDir + "/ssh/id_ed25519" }
    /// `<state_dir>/machines`.
    public var machinesDirectory: String { settings.stateDir + "/machines" }
    /// `<state_dir>/machines/<name>`.
    public func machineDirectory(_ machine: String) -> String { machinesDirectory + "/" + machine }

    // MARK: Provider

    /// See `Provider.observe`: one scan of the machine directories, /run/netns and /proc for all requests.
    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        try requireRoot()
        try requireMachine(kind)
        let machines = scan()
        var out: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            guard let machine = request.providerID ?? request.attributes[AttributeName.Machine.name]?.stringValue,
                  let found = machines[machine] else { continue }
            out[request.address] = found
        }
        return out
    }

    /// See `Provider.create`: builds the image if needed, then allocates an address and boots the machine;
    /// returns once sshd answers.
    public func create(_ resource: Resource) async throws -> ObservedResource {
        try requireRoot()
        try requireMachine(resource.kind)
        let machine = try machineName(resource.attributes)
        guard let wanted = resource.attributes[AttributeName.Machine.image]?.stringValue else {
            throw OttoError("provider.local.config", "\(resource.address) needs `image` (the name of an images/*.yml recipe)")
        }
        let reference = ImageIdentity.parseReference(wanted)
        let imageName = reference?.recipe ?? wanted
        let image = try await images.build(imageName, recipes: recipes, projectRoot: projectRoot) { _ in }
        if let reference, !image.id.hasPrefix(reference.shortHash) {
            throw OttoError("image.changed", "\(resource.address): the plan was made for image \(wanted), but images/\(imageName).yml now builds \(ImageIdentity.reference(imageName, hash: image.id)); plan again")
        }
        try await ensureClientKey()
        let dir = machineDirectory(machine)
        if let existing = LocalMachineRecord.load(dir + "/machine.json") {
            if !existing.hostKey.isEmpty && existing.imageID == image.id {
                // a retried create: the machine is there, make sure it runs
                try await start(existing)
                return observed(existing, running: true)
            }
            try await teardown(machine) // half-made or of another image: start over
        }
        var record = try await allocate(machine: machine, image: image, attributes: resource.attributes)
        do {
            try await prepareRoot(&record)
            try await start(record)
        } catch {
            try? await teardown(machine)
            throw error
        }
        return observed(record, running: true)
    }

    /// See `Provider.derive`: a machine's `image` that names a recipe becomes `RECIPE@HASH12` (its layer's id), so a
    /// changed recipe plans a replacement.
    public func derive(_ resource: Resource) -> Resource {
        guard resource.kind == "machine", let image = resource.attributes[AttributeName.Machine.image]?.stringValue,
              let reference = imageIDs.reference(image, recipes: recipes, identify: {
                  try images.identify($0, recipes: recipes, projectRoot: projectRoot)[0].id
              }) else { return resource }
        var out = resource
        out.attributes[AttributeName.Machine.image] = .string(reference)
        return out
    }

    /// See `Provider.update`: records changed attributes (size, region, …) and starts the machine when it is down.
    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        try requireRoot()
        try requireMachine(resource.kind)
        let machine = current.providerID
        let path = machineDirectory(machine) + "/machine.json"
        guard var record = LocalMachineRecord.load(path) else {
            throw OttoError("provider.local.missing", "machine \(machine) no longer exists (no \(path)); plan again to create it")
        }
        record.attributes = desiredAttributes(resource.attributes)
        try record.save(path)
        if !isRunning(machine) { try await start(record) }
        return observed(record, running: true)
    }

    /// See `Provider.delete`: stops the machine cleanly, unmounts, removes its netns, veth, cgroups and directory.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        try requireRoot()
        try requireMachine(address.kind)
        try await teardown(current.providerID)
    }

    /// At the end of a command: a bridge no machine is attached to any more (after a destroy) is removed, so
    /// nothing of otto's is left on the host. Done here, not in `delete`, so it never races a create.
    public func shutdown() async {
        guard geteuid() == 0 else { return }
        _ = try? await removeBridgeIfUnused()
    }

    // MARK: Helpers

    func requireRoot() throws {
        guard geteuid() == 0 else {
            throw OttoError("provider.local.root", "the local provider needs root: it creates a bridge, network namespaces, overlay mounts and containers; run otto as root")
        }
    }

    func requireMachine(_ kind: String) throws {
        guard kind == "machine" else {
            throw OttoError("provider.local.kind", "the local provider \(name) manages `machine` resources, not `\(kind)`")
        }
    }

    func machineName(_ attributes: [String: Value]) throws -> String {
        guard let machine = attributes[AttributeName.Machine.name]?.stringValue else {
            throw OttoError("provider.local.config", "a local machine needs a `name` attribute")
        }
        guard LocalNames.isMachineName(machine) else {
            throw OttoError("provider.local.config", "invalid machine name \(Value.string(machine)): use a-z, 0-9 and '-', at most 63 characters")
        }
        return machine
    }

    /// The attributes otto records: everything desired except what the provider computes.
    func desiredAttributes(_ attributes: [String: Value]) -> [String: Value] {
        let computed = schemas[0].computed
        return attributes.filter { !computed.contains($0.key) }
    }

    func observed(_ record: LocalMachineRecord, running: Bool) -> ObservedResource {
        var a = record.attributes
        a[AttributeName.Machine.name] = .string(record.name)
        a[AttributeName.Machine.ipv4] = .string(record.ipv4)
        a["mac"] = .string(record.mac)
        a[AttributeName.Host.hostKey] = .string(record.hostKey)
        a["image_id"] = .string(record.imageID)
        a[AttributeName.Machine.image] = .string(ImageIdentity.reference(record.imageName, hash: record.imageID))
        a["running"] = .bool(running)
        a[AttributeName.Host.sshUser] = .string("root")
        a[AttributeName.Host.sshPort] = .int(22)
        // How host resources reach it: otto's own key, and the host key pinned at creation (no known_hosts file).
        a[AttributeName.Host.sshKey] = .string(clientKeyPath)
        a[AttributeName.Host.knownHosts] = .null
        return ObservedResource(providerID: record.name, attributes: a)
    }

    /// Every machine on disk, observed: one directory listing, one /run/netns listing, /proc reads.
    func scan() -> [String: ObservedResource] {
        let netns = LocalHost.netnsNames()
        var out: [String: ObservedResource] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: machinesDirectory)) ?? [] where LocalNames.isMachineName(entry) {
            guard let record = LocalMachineRecord.load(machineDirectory(entry) + "/machine.json") else { continue }
            out[entry] = observed(record, running: netns.contains(LocalNames.netns(entry, scope: settings.scope)) && processesAlive(entry))
        }
        return out
    }

    /// True when the machine's netns exists and its supervisor and nspawn are alive.
    public func isRunning(_ machine: String) -> Bool {
        LocalHost.netnsNames().contains(LocalNames.netns(machine, scope: settings.scope)) && processesAlive(machine)
    }

    func processesAlive(_ machine: String) -> Bool {
        let dir = machineDirectory(machine)
        return LocalHost.isAlive(LocalHost.readPid(dir + "/supervisor.pid"), marker: dir + " ")
            && LocalHost.isAlive(LocalHost.readPid(dir + "/nspawn.pid"), marker: dir + "/merged ")
    }

    /// Creates otto's client key once.
    func ensureClientKey() async throws {
        guard !FileManager.default.fileExists(atPath: clientKeyPath + ".pub") else { return }
        let dir = settings.stateDir + "/ssh"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = try await LocalFileLock.acquire(dir + "/.lock")
        defer { withExtendedLifetime(lock) {} }
        guard !FileManager.default.fileExists(atPath: clientKeyPath + ".pub") else { return }
        try? LocalHost.remove(clientKeyPath)
        try await LocalCommand.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "otto", "-f", clientKeyPath])
        chmod(clientKeyPath, 0o600)
    }

    /// Picks the lowest free address (under a lock shared by every otto process) and writes the machine's record.
    func allocate(machine: String, image: LocalImage, attributes: [String: Value]) async throws -> LocalMachineRecord {
        try FileManager.default.createDirectory(atPath: machinesDirectory, withIntermediateDirectories: true)
        let lock = try await LocalFileLock.acquire(machinesDirectory + "/.lock")
        defer { withExtendedLifetime(lock) {} }
        var used = Set<UInt32>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: machinesDirectory)) ?? [] {
            if let r = LocalMachineRecord.load(machineDirectory(entry) + "/machine.json"), let ip = IPv4Subnet.parseAddress(r.ipv4) { used.insert(ip) }
        }
        guard let range = settings.subnet.machineAddresses, let ip = range.first(where: { !used.contains($0) }) else {
            throw OttoError("provider.local.full", "no free address in \(settings.subnet) for machine \(machine): delete machines or set a larger `subnet`")
        }
        let dir = machineDirectory(machine)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let record = LocalMachineRecord(name: machine, ipv4: IPv4Subnet.format(ip), mac: IPv4Subnet.mac(for: ip),
                                        prefix: settings.subnet.prefix, gateway: IPv4Subnet.format(settings.subnet.gateway),
                                        imageName: image.name, imageID: image.id, layers: image.layers, hostKey: "",
                                        attributes: desiredAttributes(attributes))
        try record.save(dir + "/machine.json")
        return record
    }
}
