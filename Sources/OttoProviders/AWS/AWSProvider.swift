import Foundation
import OttoCore
import OttoHTTP

/// Manages EC2 instances, key pairs and security groups, and Route53 hosted zones and records, for one AWS account
/// and region.
///
/// Kinds and attributes (exactly the names the configuration layer produces):
/// - `machine` (an EC2 instance; keyed create: `ClientToken` and tag `otto:key` carry the idempotency key): `name`,
///   `image` (AMI id), `size` (instance type), `region`, `key_name`, `security_groups` (group ids), `user_data`, and
///   any other string attribute (`group`, `site`) kept as an `otto:<name>` tag. Observed adds `ipv4`, `private_ipv4`,
///   `ipv6`, `status` and the connection attributes `ssh_user`, `ssh_port`, `ssh_key`, `host_key`, `known_hosts`.
///   providerID: the instance id.
/// - `ssh_key` (a key pair): `name`, `public_key`; observed adds `fingerprint`, `id`, `owned`. providerID: key pair id.
/// - `security_group`: `name`, `description`, `ingress` (maps `{protocol, port, cidr}`); observed adds `id`, `vpc_id`,
///   `owned`. providerID: group id.
/// - `dns_zone` (a public hosted zone; keyed create: `CallerReference` is the key): `name`, `kind` (`Native`),
///   `nameservers` (the apex NS rrset); observed adds `delegation_set`. providerID: the zone id without `/hostedzone/`.
/// - `dns_record`: `zone`, `name`, `type`, `ttl`, `records` (canonical presentation form). providerID: `zone|name|type`.
///
/// Everything otto creates carries the tag `otto:managed` = `settings.tag` (zones: otto's comment); observation lists
/// only those, plus what a request names by id (imports). Key pairs and security groups otto did not create are
/// adopted as `owned: false` and never deleted. Observation is in bulk: one paginated list per kind (per zone for
/// records). Record changes to one zone are coalesced into shared ChangeResourceRecordSets calls.
public final class AWSProvider: Provider {
    /// The instance name (an inventory `providers:` key).
    public let name: String
    /// Most actions run at once.
    public let concurrencyLimit: Int
    /// `machine`, `ssh_key`, `security_group`, `dns_zone`, `dns_record`.
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [
        KindSchema(kind: "machine", attributes: [
            .required(M.name, .string), .required(M.image, .string, forceNew: true), .required(M.size, .string),
            .optional(M.region, .string, forceNew: true), .optional(M.group, .string), .optional(M.site, .string),
            .optional(M.userData, .string, sensitive: true, ignoredInDiff: true), .optional(M.keyName, .string, ignoredInDiff: true),
            .optional(M.securityGroups, .strings, ignoredInDiff: true),
            // `derive` sets `status: running`: compared, so an instance pending or stopped is updated (waited for, started).
            .computed("private_ipv4", .string), .computed(M.ipv6, .string), .computed("status", .string, ignoredInDiff: false),
            .computed(M.hostKeyPending, .bool, ignoredInDiff: false),
        ] + SharedSchemas.machineConnection, keyedCreate: true),
        KindSchema(kind: "ssh_key", attributes: [
            .required(K.name, .string, forceNew: true), .required(K.publicKey, .string, forceNew: true),
            .computed(K.fingerprint, .string), .computed("id", .string), .computed("owned", .bool),
        ]),
        KindSchema(kind: "security_group", attributes: [
            .required(G.name, .string, forceNew: true), .required(G.description, .string, forceNew: true),
            .optional(G.ingress, .list(.map(.any)), unordered: true),
            .computed(G.id, .string), .computed("vpc_id", .string), .computed("owned", .bool),
        ]),
        SharedSchemas.dnsZone(extra: [.computed("delegation_set", .any)], keyedCreate: true),
        SharedSchemas.dnsRecord,
    ]
    private typealias M = AttributeName.Machine
    private typealias K = AttributeName.SSHKey
    private typealias G = AttributeName.SecurityGroup
    /// Region, endpoint, credentials (never shown), tag, SSH settings, limits.
    public let settings: AWSSettings

    let client: AWSClient
    let waiter: EC2InstanceWaiter
    let batchers = ZoneBatchers<Route53Change>()
    /// Hosted zone ids by zone name, and the shared ListHostedZones.
    let zoneDirectory = Route53ZoneDirectory()
    /// The project's image recipes: a machine whose `image` names one runs from that recipe's AMI.
    let recipes: [String: ImageRecipe]
    /// Resolves recipes' `source:` files.
    let projectRoot: String
    /// Recipe hashes computed so far (recipe name → hash).
    let imageHashes = RecipeHashes()
    /// Where the steps of image builds a create starts are told (the CLI's progress lines).
    let progress: @Sendable (String) -> Void

    /// Creates a provider for the account and region in `settings`, sending through `client` (shared by every
    /// provider, so connections are reused) and the account's rate-limit buckets.
    ///
    /// `concurrency` is the most actions the engine runs at once (default 32): instance waits and record changes are
    /// batched, so a high value is cheap.
    ///
    /// `recipes` are the project's image recipes (machines naming one run from its AMI, built when missing);
    /// `projectRoot` resolves their `source:` files; `progress` receives the steps of image builds that creates start.
    public convenience init(name: String, settings: AWSSettings, concurrency: Int = 32, recipes: [String: ImageRecipe] = [:],
                            projectRoot: String = ".", progress: @escaping @Sendable (String) -> Void = { _ in }, client: HTTPClient) {
        self.init(name: name, settings: settings, concurrency: concurrency, recipes: recipes, projectRoot: projectRoot, progress: progress,
                  client: client, ec2PageSize: 1000)
    }

    /// `ec2PageSize` is DescribeInstances' and DescribeSecurityGroups' `MaxResults` (tests make it small to page).
    init(name: String, settings: AWSSettings, concurrency: Int = 32, recipes: [String: ImageRecipe] = [:], projectRoot: String = ".",
         progress: @escaping @Sendable (String) -> Void = { _ in }, client: HTTPClient, ec2PageSize: Int) {
        self.name = name
        self.progress = progress
        self.recipes = recipes
        self.projectRoot = projectRoot
        self.settings = settings
        self.concurrencyLimit = max(1, concurrency)
        var api = AWSClient(providerName: name, settings: settings, http: client)
        api.ec2PageSize = ec2PageSize
        self.client = api
        self.waiter = EC2InstanceWaiter(client: api, interval: settings.pollInterval)
    }

    /// ChangeResourceRecordSets calls sent so far (for logs and tests: how well record changes were coalesced).
    public var route53ChangeCount: Int { client.changeBatches.current }

    /// See `Provider.observe`.
    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        guard !requests.isEmpty else { return [:] }
        switch kind {
        case "machine": return try await observeMachines(requests)
        case "ssh_key": return try await observeKeyPairs(requests)
        case "security_group": return try await observeSecurityGroups(requests)
        case "dns_zone": return try await observeZones(requests)
        case "dns_record": return try await observeRecords(requests)
        default: throw unknownKind(kind)
        }
    }

    /// See `Provider.create`. Keyed kinds get a fresh key (the engine passes its own through
    /// `create(_:idempotencyKey:)`).
    public func create(_ resource: Resource) async throws -> ObservedResource {
        try await create(resource, idempotencyKey: PendingCreate.newKey())
    }

    /// See `Provider.create(_:idempotencyKey:)`: an instance's `ClientToken` and `otto:key` tag, a zone's
    /// `CallerReference`.
    public func create(_ resource: Resource, idempotencyKey: String) async throws -> ObservedResource {
        switch resource.kind {
        case "machine": return try await createMachine(resource, key: idempotencyKey)
        case "ssh_key": return try await createKeyPair(resource)
        case "security_group": return try await createSecurityGroup(resource)
        case "dns_zone": return try await createZone(resource, key: idempotencyKey)
        case "dns_record": return try await putRecord(resource, action: "create")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.update`.
    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        switch resource.kind {
        case "machine": return try await updateMachine(resource, current: current, changed: changed)
        case "security_group": return try await updateSecurityGroup(resource, current: current)
        case "dns_zone": return try await updateZone(resource, current: current)
        case "dns_record": return try await putRecord(resource, action: "update")
        case "ssh_key":
            throw OttoError("provider.aws.update", "\(resource.address): key pairs cannot change in place; every attribute forces a replacement")
        default: throw unknownKind(resource.kind)
        }
    }

    /// See `Provider.delete`.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        switch address.kind {
        case "machine": try await deleteMachine(address, current: current)
        case "ssh_key": try await deleteKeyPair(address, current: current)
        case "security_group": try await deleteSecurityGroup(address, current: current)
        case "dns_zone": try await deleteZone(address, current: current)
        case "dns_record": try await deleteRecord(address, current: current)
        default: throw unknownKind(address.kind)
        }
    }

    /// See `Provider.derive`: a machine without `region` gets the provider's.
    public func derive(_ resource: Resource) -> Resource {
        guard resource.kind == "machine" else { return resource }
        var derived = resource
        if resource.attributes["region"] == nil || resource.attributes["region"] == .null {
            derived.attributes["region"] = .string(settings.region)
        }
        // An instance otto manages is running: one still pending (adopted from an interrupted run) is waited for, one
        // stopped behind otto's back is started again.
        if derived.attributes["status"] == nil { derived.attributes["status"] = "running" }
        // `image: web` names a recipe: the instance runs from that recipe's AMI, `web@HASH12` (a new hash replaces it).
        if let image = derived.attributes[M.image]?.stringValue, let reference = recipeReference(image) {
            derived.attributes[M.image] = .string(reference)
        }
        // An instance whose first host key is still pinned is updated: the update replaces the key.
        if pinsHostKeys { derived.attributes[M.hostKeyPending] = false }
        return derived
    }

    /// True when new instances get a host key made and pinned by otto (needs otto's login key to replace it).
    var pinsHostKeys: Bool { settings.hostKeys == .pinned && settings.sshKey != nil }

    /// How attribute errors of this provider read.
    static let attributes = AttributeReader(code: "provider.aws.attribute")

    private func unknownKind(_ kind: String) -> OttoError {
        OttoError("provider.aws.kind",
                  "provider '\(name)' (AWS) does not manage resources of kind '\(kind)'; it manages machine, ssh_key, security_group, dns_zone and dns_record")
    }
}


extension AWSProvider {
    /// Changes to one hosted zone that arrive together share a ChangeResourceRecordSets call, within Route53's limits
    /// (500 changes here, 1,000 values and 32,000 characters of values, an UPSERT counting twice); a batch Route53
    /// rejects (400, not throttling) is split until the failure lands on the change at fault.
    func batcher(for zoneID: String) -> ZoneChangeBatcher<Route53Change> {
        let client = self.client
        return batchers.batcher(for: zoneID) {
            ZoneChangeBatcher(limits: BatchLimits(changes: 500, records: 1000, characters: 32000),
                              send: { try await client.changeRecordSets(zoneID: zoneID, $0, comment: "otto") },
                              isInvalidBatch: { ($0 as? AWSServiceError).map { $0.status == 400 && !$0.isThrottling } ?? false })
        }
    }
}
