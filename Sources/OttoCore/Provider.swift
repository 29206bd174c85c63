/// What the planner needs to know about one resource kind.
public struct KindSchema: Sendable, Hashable {
    /// The kind, e.g. `dns_record`.
    public var kind: String
    /// Attributes whose change cannot be applied in place: the resource is replaced.
    public var forceNew: Set<String>
    /// Attributes never compared against what exists: ids and addresses the provider fills in, and write-only
    /// inputs such as file content (compared through a hash attribute instead). They are still passed to create/update.
    public var computed: Set<String>
    /// List attributes compared as sets (order does not matter), e.g. the values of a DNS rrset.
    public var unordered: Set<String>
    /// Replace by creating the new one first, then deleting the old one (default: delete first).
    public var createBeforeDestroy: Bool
    /// Creates of this kind are not idempotent by themselves (a droplet, an instance, a hosted zone): before each
    /// create the executor records a pending create with a fresh idempotency key in state, and passes the key to
    /// `create(_:idempotencyKey:)`. Until the resource is recorded, every refresh hands the key back in
    /// `ObserveRequest.pendingKey`, so a create whose response was lost, or whose otto was killed, is found and
    /// adopted instead of made twice.
    public var keyedCreate: Bool
    /// Every attribute of the kind, declared once with its type, origin and planning flags (`forceNew`, `computed`,
    /// `unordered` and `sensitive` follow from them). Nil for an untyped schema (a test's recording provider): its
    /// resources are not checked. Every provider otto ships declares its kinds' attributes.
    public var attributes: [AttributeSchema]?
    /// Attributes whose values are never shown: renderers print `(sensitive)` instead. Attributes sensitive only for
    /// some resources (`AttributeSchema.sensitiveWhen`) are not in it: see `sensitive(in:)`.
    public var sensitive: Set<String>
    /// True when some attribute is sensitive only for some resources (`sensitiveWhen`): `sensitive(in:)` must be asked.
    public var hasConditionalSensitivity = false
    /// True when some attribute is shown other than as its value (a text's diff, a directory's file names).
    public var hasPresentations = false

    /// Creates an untyped schema (attributes not declared, resources not checked), for tests and recording providers.
    public init(kind: String, forceNew: Set<String> = [], computed: Set<String> = [], unordered: Set<String> = [],
                sensitive: Set<String> = [], createBeforeDestroy: Bool = false, keyedCreate: Bool = false) {
        self.kind = kind
        self.forceNew = forceNew
        self.computed = computed
        self.unordered = unordered
        self.sensitive = sensitive
        self.createBeforeDestroy = createBeforeDestroy
        self.keyedCreate = keyedCreate
        self.attributes = nil
    }

    /// Creates a typed schema from its attributes.
    public init(kind: String, attributes: [AttributeSchema], createBeforeDestroy: Bool = false, keyedCreate: Bool = false) {
        self.kind = kind
        self.attributes = attributes
        self.forceNew = Set(attributes.filter(\.forceNew).map(\.name))
        self.computed = Set(attributes.filter(\.ignoredInDiff).map(\.name))
        self.unordered = Set(attributes.filter(\.unordered).map(\.name))
        self.sensitive = Set(attributes.filter(\.sensitive).map(\.name))
        self.createBeforeDestroy = createBeforeDestroy
        self.keyedCreate = keyedCreate
        self.hasConditionalSensitivity = attributes.contains { $0.sensitiveWhen != nil }
        self.hasPresentations = attributes.contains { $0.presentation != .value }
    }

    /// The declared attribute called `name`.
    public func attribute(_ name: String) -> AttributeSchema? { attributes?.first { $0.name == name } }

    /// The attributes whose values are hidden for a resource with these attributes: `sensitive`, plus those sensitive
    /// when a flag of the resource is set (`AttributeSchema.sensitiveWhen`). Give every version of the resource
    /// known (desired, observed, recorded): an attribute hidden in one is hidden in all. The hash of a hidden text
    /// (`AttributeSchema.Presentation.digest`) is hidden with it.
    public func sensitive(in versions: [[String: Value]]) -> Set<String> {
        guard hasConditionalSensitivity else { return sensitive }
        var out = sensitive
        for a in attributes ?? [] where a.sensitiveWhen != nil && !out.contains(a.name) {
            if versions.contains(where: a.isSensitive(in:)) { out.insert(a.name) }
        }
        // The hash of a hidden text is hidden too: a change of it shows as `(sensitive) changed`, never as a diff.
        for a in attributes ?? [] {
            if case .digest(of: let text) = a.presentation, out.contains(text) { out.insert(a.name) }
        }
        return out
    }

    /// How plans show a change of `name` (`.value` for undeclared attributes).
    public func presentation(of name: String) -> AttributeSchema.Presentation { attribute(name)?.presentation ?? .value }
}

/// What exists for one resource, as a provider reports it.
public struct ObservedResource: Sendable, Hashable, Codable {
    /// The provider's own id (droplet id, rrset key, ...).
    public var providerID: String
    /// Every attribute the provider reports, in the same shape as desired attributes.
    public var attributes: [String: Value]

    /// Creates an observation.
    public init(providerID: String, attributes: [String: Value]) {
        self.providerID = providerID
        self.attributes = attributes
    }
}

/// One resource a provider is asked to look for during a bulk observation.
public struct ObserveRequest: Sendable, Hashable {
    /// The resource's address.
    public var address: ResourceAddress
    /// The id recorded in state, when there is one.
    public var providerID: String?
    /// Attributes from configuration or, for orphans, from state: enough to find the resource.
    public var attributes: [String: Value]
    /// The idempotency key of a create that was started but never recorded (see `KindSchema.keyedCreate`). When
    /// set, the provider looks for the resource carrying this key first (a tag, a client token, a caller reference).
    public var pendingKey: String?

    /// Creates a request.
    public init(address: ResourceAddress, providerID: String?, attributes: [String: Value], pendingKey: String? = nil) {
        self.address = address
        self.providerID = providerID
        self.attributes = attributes
        self.pendingKey = pendingKey
    }
}

/// A provider manages resources of some kinds through one API (request/response, like Terraform's).
///
/// Observation is in bulk: one call per kind gets everything the provider needs (list calls, not one
/// call per resource). Every operation is idempotent.
public protocol Provider: AnyObject, Sendable {
    /// Instance name, the key under `providers:` in inventory (e.g. `powerdns`).
    var name: String { get }
    /// Most actions this provider runs at once.
    var concurrencyLimit: Int { get }
    /// The kinds it manages and how they plan.
    var schemas: [KindSchema] { get }

    /// Finds what exists for every request of one kind; a missing key means "does not exist".
    func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource]
    /// Creates the resource (references already resolved) and returns what now exists.
    func create(_ resource: Resource) async throws -> ObservedResource
    /// Creates a resource of a `keyedCreate` kind, carrying `idempotencyKey` so that it can be found again (and
    /// never created twice) when the response is lost. The key is already recorded in state when this is called.
    /// The default ignores the key and calls `create(_:)`.
    func create(_ resource: Resource, idempotencyKey: String) async throws -> ObservedResource
    /// Changes the resource in place; `changed` names the attributes that differ.
    func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource
    /// Deletes what exists; deleting something already gone is not an error.
    func delete(_ address: ResourceAddress, current: ObservedResource) async throws

    /// Observes several kinds at once. The default calls `observe(kind:_:)` for each kind concurrently; a provider
    /// that can see everything in one round trip (one probe per SSH host) overrides it.
    func observeAll(_ requests: [String: [ObserveRequest]]) async throws -> [ResourceAddress: ObservedResource]

    /// Fills in attributes that follow from the others (rendered configuration, content hashes), after references
    /// are resolved. Pure and cheap: it runs at plan time for every resource, and the result is what gets compared
    /// and applied. Attributes still unknown (`.ref`, `.unknown`) must leave what depends on them unknown.
    func derive(_ resource: Resource) -> Resource

    /// Handlers a successful change to `resource` triggers (e.g. "reload nginx" on its host). They are recorded in
    /// state with the change and run once each, after the changes, until they succeed.
    func handlers(for resource: Resource) -> [Handler]

    /// Runs one handler.
    func run(_ handler: Handler) async throws

    /// Releases connections (SSH sessions) before the process ends.
    func shutdown() async
}

extension Provider {
    /// The schema for `kind`, when this provider manages it.
    public func schema(for kind: String) -> KindSchema? { schemas.first { $0.kind == kind } }

    public func observeAll(_ requests: [String: [ObserveRequest]]) async throws -> [ResourceAddress: ObservedResource] {
        try await withThrowingTaskGroup(of: [ResourceAddress: ObservedResource].self) { group in
            for (kind, list) in requests { group.addTask { try await self.observe(kind: kind, list) } }
            var out: [ResourceAddress: ObservedResource] = [:]
            for try await found in group { out.merge(found) { a, _ in a } }
            return out
        }
    }

    public func derive(_ resource: Resource) -> Resource { resource }

    public func create(_ resource: Resource, idempotencyKey: String) async throws -> ObservedResource {
        try await create(resource)
    }

    public func shutdown() async {}

    public func handlers(for resource: Resource) -> [Handler] { [] }

    public func run(_ handler: Handler) async throws {
        throw OttoError("provider.handler", "provider `\(name)` has no handler `\(handler.name)`")
    }
}

/// Something to do once after changes, e.g. reload nginx on one host. Identified by `id`: many changes that
/// trigger the same handler run it once.
public struct Handler: Sendable, Hashable, Codable {
    /// Stable identity, e.g. `reload nginx on machine.demo.web[0]`.
    public var id: String
    /// Provider instance that runs it.
    public var provider: String
    /// What it does, for people (`reload nginx`).
    public var name: String
    /// Everything the provider needs to run it later, possibly in another otto process (host, port, key ...).
    public var attributes: [String: Value]

    /// Creates a handler.
    public init(id: String, provider: String, name: String, attributes: [String: Value]) {
        self.id = id
        self.provider = provider
        self.name = name
        self.attributes = attributes
    }
}
