import Foundation
import OttoCore
import OttoHTTP

/// Manages DigitalOcean droplets (`machine`), account SSH keys (`ssh_key`), domains (`dns_zone`) and domain records
/// (`dns_record`) through API v2.
///
/// - `machine`: desired `name`, `image` (slug or snapshot id), `size`, `region` (default: the provider's), `ssh_keys`
///   (fingerprints), `user_data`; observed adds `ipv4` (public, else private), `private_ipv4`, `ipv6` (when there is
///   one), `status` and the connection attributes (`ssh_user` root, `ssh_port` 22, `ssh_key`, `host_key` null,
///   `known_hosts`). providerID: the droplet id. Droplets carry the provider's `tag` and `otto-key-KEY`; observation
///   lists the tagged droplets (200 per page) and matches by id, then pending key, then name. A size change is a
///   resize (shutdown, resize, power on, waiting on each action), a name change a rename; image and region replace.
/// - `ssh_key`: `name`, `public_key`; observed adds `fingerprint` (MD5) and `owned` (false for a key that existed
///   under another name, which delete leaves alone). providerID: the key id.
/// - `dns_zone`: `name` (FQDN with the dot), `kind` (`Native`), `nameservers` (the apex NS records). providerID: the
///   domain name.
/// - `dns_record`: `zone`, `name`, `type`, `ttl`, `records` in presentation form; DigitalOcean's one-record-per-value
///   storage is grouped into rrsets and converted both ways. providerID: `zone|name|type`.
public final class DigitalOceanProvider: Provider {
    /// The instance name (an inventory `providers:` key).
    public let name: String
    /// Most actions run at once.
    public let concurrencyLimit: Int
    /// `machine`, `ssh_key`, `dns_zone` and `dns_record`.
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [
        KindSchema(kind: "machine", attributes: [
            .required(M.name, .string), .required(M.image, .string, forceNew: true), .required(M.size, .string),
            .optional(M.region, .string, forceNew: true), .optional(M.group, .string, ignoredInDiff: true),
            .optional(M.site, .string, ignoredInDiff: true), .optional(M.userData, .string, sensitive: true, ignoredInDiff: true),
            .optional(M.sshKeys, .strings, ignoredInDiff: true),
            // `derive` sets `status: active`: compared, so a droplet still booting or powered off is updated (waited for).
            .computed("private_ipv4", .string), .computed(M.ipv6, .string), .computed("status", .string, ignoredInDiff: false),
            .computed(M.hostKeyPending, .bool, ignoredInDiff: false),
        ] + SharedSchemas.machineConnection, keyedCreate: true),
        // `name` is not compared: a key already in the account under another name is adopted as it is.
        KindSchema(kind: "ssh_key", attributes: [
            .required(K.name, .string, ignoredInDiff: true), .required(K.publicKey, .string, forceNew: true),
            .computed(K.fingerprint, .string), .computed("owned", .bool),
        ]),
        SharedSchemas.dnsZone(),
        SharedSchemas.dnsRecord,
    ]
    private typealias M = AttributeName.Machine
    private typealias K = AttributeName.SSHKey

    let api: DigitalOceanAPI
    /// Region for machines that name none.
    let region: String?
    /// The tag every droplet otto makes carries (and observation filters by).
    let tag: String
    /// Private key path reported as machines' `ssh_key`.
    let sshKey: String?
    /// known_hosts file reported as machines' `known_hosts`.
    let knownHosts: String?
    /// Whether new droplets get IPv6.
    let ipv6: Bool
    /// How new droplets' host keys are checked (pinned: made by otto, sent in user data, replaced at first use).
    let hostKeys: HostKeyMode
    /// The project's image recipes: a machine whose `image` names one runs from that recipe's snapshot.
    let recipes: [String: ImageRecipe]
    /// Resolves recipes' `source:` files.
    let projectRoot: String
    /// Where base recipes start (a distribution image slug, default `debian-12-x64`).
    let baseImage: String
    /// The size of image builders (default `s-1vcpu-1gb`).
    let builderSize: String
    /// Recipe hashes computed so far (recipe name → hash).
    let imageHashes = RecipeHashes()
    /// Where the steps of image builds a create starts are told (the CLI's progress lines).
    let progress: @Sendable (String) -> Void
    /// How often an action (or a new droplet) is polled.
    let pollInterval: Duration
    /// How long otto waits for one action before giving up.
    let actionTimeout: Duration

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - name: the inventory name (used in messages, and as the label of its requests in `HTTPClient.requestCounts`).
    ///   - endpoint: the API root, `https://api.digitalocean.com` (tests: the fake's `http://127.0.0.1:PORT`).
    ///   - token: the API token (from `SecretSource`); sent only in the Authorization header, never in any output.
    ///   - region: region slug for machines without one.
    ///   - tag: the tag that marks otto's droplets (default `otto`).
    ///   - sshKey: private key path machines report as `ssh_key` (its `.pub` is the `ssh_key` resource's public key).
    ///   - knownHosts: known_hosts file machines report as `known_hosts`.
    ///   - rate: sustained requests per second for the account (default 250 per minute, DigitalOcean's documented limit).
    ///   - burst: requests allowed back to back (default 250).
    ///   - concurrency: most actions the engine runs at once.
    ///   - timeout: longest time for one request (nil: the client's default).
    ///   - ipv6: give new droplets an IPv6 address.
    ///   - hostKeys: `.pinned` (default; needs `sshKey` to replace the key at first use) or `.knownHosts`.
    ///   - recipes: the project's image recipes (machines naming one run from its snapshot, built when missing).
    ///   - projectRoot: resolves recipes' `source:` files.
    ///   - baseImage: where base recipes start on DigitalOcean.
    ///   - builderSize: the size of image builder droplets.
    ///   - progress: receives the steps of image builds that creates start.
    ///   - pollInterval: how often actions are polled (default 2 s).
    ///   - actionTimeout: longest wait for one action (default 10 minutes).
    ///   - client: the HTTP client (shared by providers).
    public init(name: String, endpoint: String = "https://api.digitalocean.com", token: String, region: String? = nil,
                tag: String = "otto", sshKey: String? = nil, knownHosts: String? = nil, rate: Double = 250.0 / 60.0, burst: Int = 250,
                concurrency: Int = 16, timeout: Duration? = nil, ipv6: Bool = false, hostKeys: HostKeyMode = .pinned,
                recipes: [String: ImageRecipe] = [:], projectRoot: String = ".", baseImage: String = "debian-12-x64",
                builderSize: String = "s-1vcpu-1gb", progress: @escaping @Sendable (String) -> Void = { _ in }, pollInterval: Duration = .seconds(2),
                actionTimeout: Duration = .seconds(600), client: HTTPClient) {
        self.name = name
        self.concurrencyLimit = max(1, concurrency)
        let limiter = RateLimiter.shared(account: DigitalOceanAPI.account(token: token), rate: rate, burst: burst)
        self.api = DigitalOceanAPI(providerName: name, endpoint: endpoint, token: token, client: client, limiter: limiter, timeout: timeout)
        self.region = region.flatMap { $0.isEmpty ? nil : $0 }
        self.tag = tag.isEmpty ? "otto" : tag
        self.sshKey = sshKey.flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
        self.knownHosts = knownHosts.flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
        self.ipv6 = ipv6
        self.hostKeys = hostKeys
        self.recipes = recipes
        self.projectRoot = projectRoot
        self.baseImage = baseImage
        self.builderSize = builderSize
        self.progress = progress
        self.pollInterval = pollInterval
        self.actionTimeout = actionTimeout
    }

    /// Requests this provider sent so far (every attempt).
    public var requestCount: Int { api.client.requestCounts[name] ?? 0 }

    /// See `Provider.observe`.
    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        guard !requests.isEmpty else { return [:] }
        switch kind {
        case "machine": return try await observeMachines(requests)
        case "ssh_key": return try await observeKeys(requests)
        case "dns_zone": return try await observeZones(requests)
        case "dns_record": return try await observeRecords(requests)
        default: throw unknownKind(kind)
        }
    }

    /// See `Provider.create`. Machines get a fresh idempotency key (the engine passes one through
    /// `create(_:idempotencyKey:)`).
    public func create(_ resource: Resource) async throws -> ObservedResource {
        switch resource.kind {
        case "machine": return try await createMachine(resource, key: PendingCreate.newKey())
        case "ssh_key": return try await createKey(resource)
        case "dns_zone": return try await createZone(resource)
        case "dns_record": return try await putRecord(resource, action: "create")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.create(_:idempotencyKey:)`: the droplet carries the tag `otto-key-KEY`.
    public func create(_ resource: Resource, idempotencyKey: String) async throws -> ObservedResource {
        guard resource.kind == "machine" else { return try await create(resource) }
        return try await createMachine(resource, key: idempotencyKey)
    }

    /// See `Provider.update`.
    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        switch resource.kind {
        case "machine": return try await updateMachine(resource, current: current, changed: changed)
        case "ssh_key": return try await updateKey(resource, current: current)
        case "dns_zone": return try await updateZone(resource, current: current)
        case "dns_record": return try await putRecord(resource, action: "update")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.delete`.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        switch address.kind {
        case "machine": try await deleteMachine(address, current: current)
        case "ssh_key": try await deleteKey(address, current: current)
        case "dns_zone": try await deleteZone(address, current: current)
        case "dns_record": try await deleteRecord(address, current: current)
        default: throw unknownKind(address.kind)
        }
    }

    /// Fills in the provider's region for machines that name none, and writes a numeric image id (a snapshot) as the
    /// string observation reports.
    public func derive(_ resource: Resource) -> Resource {
        guard resource.kind == "machine" else { return resource }
        var out = resource
        if out.attributes["region"] == nil, let region { out.attributes["region"] = .string(region) }
        // A droplet otto manages is powered on: one still booting (adopted from an interrupted run) is waited for, one
        // powered off behind otto's back is powered on again.
        if out.attributes["status"] == nil { out.attributes["status"] = "active" }
        if case .int(let id)? = out.attributes["image"] { out.attributes["image"] = .string(String(id)) }
        // `image: web` names a recipe: the droplet runs from that recipe's snapshot, `web@HASH12` (a new hash replaces it).
        if let image = out.attributes[M.image]?.stringValue, let reference = recipeReference(image) {
            out.attributes[M.image] = .string(reference)
        }
        // A droplet whose first host key is still pinned is updated: the update replaces the key.
        if pinsHostKeys { out.attributes[M.hostKeyPending] = false }
        return out
    }

    /// True when new droplets get a host key made and pinned by otto (needs otto's login key to replace it).
    var pinsHostKeys: Bool { hostKeys == .pinned && sshKey != nil }

    /// How attribute errors of this provider read.
    static let attributes = AttributeReader(code: "provider.digitalocean.attribute")

    func unknownKind(_ kind: String) -> OttoError {
        OttoError("provider.digitalocean.kind",
                  "provider '\(name)' (DigitalOcean) does not manage resources of kind '\(kind)'; it manages machine, ssh_key, dns_zone and dns_record")
    }


    /// Waits before the next poll (cancellable): 250 ms after the first poll, doubling up to `pollInterval`, so quick
    /// actions are seen quickly and slow ones cost few calls.
    func pause(after polls: Int = .max) async throws {
        let quick = Duration.milliseconds(250) * (1 << min(polls, 16))
        try await Task.sleep(for: min(quick, pollInterval))
    }
}
