/// The desired state the HTTP API reads and writes (`/inv`, `/dom`, the sites of `/site/walk`, the resources plans
/// show): YAML files (read-only over the API) plus the items written over the API and kept in the state database.
///
/// The configuration layer implements it (it alone knows YAML and the reader); the server only calls it. Reads use
/// `current` (no disk access). Writes are checked exactly like YAML (the project is built as it would be with the
/// write, which is refused when that adds an error or leaves one in the written item), then committed and published;
/// a refused write changes nothing.
public protocol DesiredStateStore: Sendable {
    /// The desired state as it is now.
    var current: any DesiredStateView { get }

    /// Re-reads the YAML files (when they changed) and the API items, and publishes the result.
    func reload() async throws

    /// Publishes a new state when the YAML files changed on disk (cheap when they did not).
    func reloadIfFilesChanged() async

    /// Creates or replaces the inventory host `name` from a JSON document (`POST /inv/{item}`).
    func putHost(_ name: String, body: [UInt8]) async throws(DesiredStateError) -> DesiredStateWrite

    /// Deletes the inventory host `name` written over the API.
    func deleteHost(_ name: String) async throws(DesiredStateError)

    /// Sets the nameservers of `domain`'s zone, served by DNS provider `provider` (or the one the zone or the
    /// inventory implies when nil).
    func setNameservers(_ domain: String, nameservers: [String], provider: String?) async throws(DesiredStateError)
        -> DesiredStateWrite

    /// Deletes the nameservers written over the API for `domain`.
    func deleteNameservers(_ domain: String) async throws(DesiredStateError)

    /// With `body`, replaces `domain`'s records by the JSON document; else sets the rrsets `edits` name and keeps the
    /// others.
    func putRecords(_ domain: String, body: [UInt8]?, edits: [RecordSetEdit], provider: String?) async throws(DesiredStateError)
        -> DesiredStateWrite

    /// Deletes every record written over the API for `domain`, or only the rrsets `edits` name.
    func deleteRecords(_ domain: String, edits: [RecordSetEdit]) async throws(DesiredStateError)

    /// Walk settings given as `KEY=VALUE;...` (`every=10m;depth=2;allow=a.example,b.example`), checked by the same
    /// reader as a site's `walk:`; `.invalid` with diagnostics located in `api:/site/walk/SITE?params` otherwise.
    func walkSpec(params: String, site: String, domain: String) throws(DesiredStateError) -> WalkSpec
}

/// The desired state at one moment, with each read answer of the API already encoded as JSON.
public protocol DesiredStateView: Sendable {
    /// `{"items": [host, ...]}`: every inventory host, from YAML and from the API, sorted by name.
    var inventoryBody: [UInt8] { get }
    /// One inventory host (with `source`, `location`, and the problems of an API item), nil when there is none.
    func hostBody(_ name: String) -> [UInt8]?
    /// A zone's nameservers (`{"domain", "zone", "source", "location", "provider", "nameservers"}`), nil when unknown.
    func nameserversBody(_ domain: String) -> [UInt8]?
    /// A zone's records (`{"domain", ..., "ttl", "records": [...]}`), nil when unknown.
    func recordsBody(_ domain: String) -> [UInt8]?
    /// The desired resources (YAML and API items merged).
    var resources: [Resource] { get }
    /// The site `name` defined in YAML, nil when there is none.
    func site(named name: String) -> SiteSummary?
    /// The names of the YAML sites whose `apps:` declare `app` (only `site` when given), in file order; `.notFound`
    /// (with a did-you-mean) when no site declares it, when `site` does not exist or does not declare it.
    func releaseSites(app: String, site: String?) throws(DesiredStateError) -> [String]
    /// The environments the project defines (`environments/*.yml`), sorted; empty without environments.
    var environmentNames: [String] { get }
}

/// What a write did: whether it created its item (rather than replacing it), and the state after it.
public struct DesiredStateWrite: Sendable {
    /// True when the item is new.
    public var created: Bool
    /// The desired state with the write.
    public var state: any DesiredStateView

    /// Creates the outcome of a write.
    public init(created: Bool, state: any DesiredStateView) {
        self.created = created
        self.state = state
    }
}

/// A site as the API's walk routes need it.
public struct SiteSummary: Sendable, Hashable {
    /// Name (`site:`).
    public var name: String
    /// Its domain.
    public var domain: String
    /// Its `walk:` in YAML, if any (then walks are not scheduled over the API).
    public var walk: WalkSpec?

    /// Creates a summary.
    public init(name: String, domain: String, walk: WalkSpec?) {
        self.name = name
        self.domain = domain
        self.walk = walk
    }
}

/// One rrset edit of `/dom/dns/{domain}?rec=NAME [TTL] TYPE VALUE`: several edits of one name and type are one rrset
/// with several values; a delete names the rrset only.
public struct RecordSetEdit: Sendable, Hashable {
    /// Owner name as written (`@`, `www`, `www.example.com.`).
    public var name: String
    /// Record type as written.
    public var type: String
    /// TTL, when given.
    public var ttl: Int?
    /// The value (nil in a delete).
    public var value: String?

    /// Creates an edit.
    public init(name: String, type: String, ttl: Int? = nil, value: String? = nil) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.value = value
    }
}

/// Why a read or write of desired state over the API was refused; the server turns each case into its HTTP answer.
public enum DesiredStateError: Error, Sendable, CustomStringConvertible {
    /// The request itself is wrong (400): a missing or malformed body, a bad query. `details` lists located problems.
    case badRequest(code: String, message: String, details: [String])
    /// Nothing to delete or read (404).
    case notFound(String)
    /// YAML defines it (409 `item.yaml_owned`): `what` is read-only over the API; `location` is where YAML has it.
    case yamlOwned(what: String, at: SourceLocation)
    /// It contradicts what is stored (409), e.g. another DNS provider serves the zone.
    case conflict(code: String, message: String)
    /// The project would have these errors with the write (422 `config.invalid`).
    case invalid([Diagnostic])
    /// The state database cannot be read or written (503 `state.unavailable`).
    case unavailable(String)

    /// `code: message`, for logs.
    public var description: String {
        switch self {
        case .badRequest(let code, let message, _), .conflict(let code, let message): return "\(code): \(message)"
        case .notFound(let message): return "not_found: \(message)"
        case .yamlOwned(let what, let location): return "item.yaml_owned: \(what) is defined in YAML at \(location)"
        case .invalid(let diagnostics): return "config.invalid: " + diagnostics.map(\.description).joined(separator: "; ")
        case .unavailable(let message): return "state.unavailable: \(message)"
        }
    }
}
