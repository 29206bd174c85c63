import OttoCore

/// One `sites/NAME.yml`: a composite that expands into machines, web configuration and DNS.
public struct Site: Sendable, Hashable {
    /// `site:` name, `[a-z0-9-]+`.
    public var name: String
    /// `domain:`, lowercased, without trailing dot.
    public var domain: String
    /// Default provider for machines (`provider:`), when given.
    public var provider: Located<String>?
    /// Machine groups in file order.
    public var machines: [MachineGroup]
    /// `nginx:`.
    public var nginx: NginxSpec?
    /// `haproxy:`.
    public var haproxy: HAProxySpec?
    /// `units:`.
    public var units: [UnitSpec]
    /// `dns:`.
    public var dns: DNSSpec?
    /// `walk:`.
    public var walk: WalkSpec?
    /// `packages:`: apt packages to keep installed on machine groups.
    public var packages: [PackageSpec] = []
    /// `files:`: files to keep on machine groups.
    public var files: [FileSpec] = []
    /// `services:`: systemd services to keep enabled and running (or not).
    public var services: [ServiceSpec] = []
    /// `vars:`: the site's variables (any YAML values), which templates see as `vars.NAME`.
    public var vars: [String: Value] = [:]
    /// `templates:`: files rendered on machine groups from mustache templates in the project.
    public var templates: [TemplateSpec] = []
    /// `apps:`: application versions delivered onto machine groups, in file order.
    public var apps: [AppSpec] = []
    /// `fleet:`: fleet units placed on the site's machines (or submitted to a fleet cluster), when given.
    public var fleet: FleetSpec? = nil
    /// `drift:`: what the drift-correction service does with differences it finds (default `correct`).
    public var drift: DriftPolicy = .correct
    /// Where the site's mapping starts (its file is `location.file`).
    public var location: SourceLocation
    /// Where `site:` was written.
    public var nameLocation: SourceLocation
    /// The environment the site is built for (`--env`), nil without environments.
    public var environment: String? = nil

    /// The name the site's things get at providers and on machines: `SITE`, or `SITE-ENV` in an environment, so two
    /// environments of one site never share a machine, a security group or a server name. Addresses keep `SITE`.
    public var providerName: String { environment.map { "\(name)-\($0)" } ?? name }

    /// The name of machine `i` of `group` at its provider: `SITE-GROUP-i` (`SITE-ENV-GROUP-i` in an environment).
    public func machineName(_ group: String, _ i: Int) -> String { "\(providerName)-\(group)-\(i)" }

    /// The app named `name`.
    public func app(_ name: String) -> AppSpec? { apps.first { $0.name == name } }

    /// The group named `name`.
    public func group(_ name: String) -> MachineGroup? { machines.first { $0.name == name } }
}

/// `machines: { NAME: {...} }`.
public struct MachineGroup: Sendable, Hashable {
    /// The group name (`web`).
    public var name: String
    /// How many machines, at least 1.
    public var count: Int
    /// Image name, when given.
    public var image: Located<String>?
    /// Size (provider-specific slug), when given.
    public var size: String?
    /// Provider overriding the site's, when given.
    public var provider: Located<String>?
    /// Region, when given.
    public var region: String?
    /// Cloud-init user data for cloud machines, when given.
    public var userData: String? = nil
    /// `labels:`: metadata of every machine of the group, matched by fleet units' `MachineMetadata` (e.g. `role: web`).
    public var labels: [String: String] = [:]
    /// Lifecycle settings applied to each machine.
    public var lifecycle: LifecycleSpec
    /// Where the group is declared.
    public var location: SourceLocation
}

/// `nginx:`: a site served by nginx on every machine of a group.
public struct NginxSpec: Sendable, Hashable {
    /// The machine group (`on:`).
    public var on: Located<String>
    /// `server_name:` (default: the site's domain).
    public var serverName: String
    /// `root:` (default `/srv/www/<site>`).
    public var root: String
    /// `content:`: a project-relative directory pushed to `root`, when given.
    public var content: String?
    /// `listen:` port (default 80).
    public var listen: Int
    /// `directives:`: extra nginx directives, written verbatim inside the server block (validated by `nginx -t`).
    public var directives: [String] = []
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// One `packages:` entry: apt packages installed on every machine of a group.
public struct PackageSpec: Sendable, Hashable {
    /// The machine group.
    public var on: Located<String>
    /// Package names, sorted.
    public var names: [String]
    /// Where it is declared.
    public var location: SourceLocation
}

/// One `files:` entry: a file kept on every machine of a group.
public struct FileSpec: Sendable, Hashable {
    /// The machine group.
    public var on: Located<String>
    /// Absolute path on the machine.
    public var path: String
    /// The content, from `content:` or read from `source:` (a project file).
    public var content: String
    /// `mode:` as four octal digits (default `0644`).
    public var mode: String
    /// `owner:` (default root).
    public var owner: String
    /// `group:` (default root).
    public var group: String
    /// `sensitive: true`: the content is never shown (plans show no diff, only that it changed).
    public var sensitive: Bool = false
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// One `templates:` entry: a file rendered from a mustache template on every machine of a group (Ansible's
/// `template` module). Variables: `vars.*` (the inventory's vars of the machine's host, overridden by the site's
/// `vars:`), `site`, `machine` (its name), `address` (its IPv4 address), `group.name`, `group.addresses`.
public struct TemplateSpec: Sendable, Hashable {
    /// The machine group.
    public var on: Located<String>
    /// Absolute path on the machine.
    public var path: String
    /// `template:`, the project-relative path of the template file.
    public var source: String
    /// The template's text (parsed at load time: a template that does not parse is a configuration error).
    public var text: String
    /// `mode:` as four octal digits (default `0644`).
    public var mode: String
    /// `owner:` (default root).
    public var owner: String
    /// `group:` (default root).
    public var group: String
    /// `sensitive: true`: the rendered text and the variables are never shown.
    public var sensitive: Bool
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// One `services:` entry: a systemd service on every machine of a group.
public struct ServiceSpec: Sendable, Hashable {
    /// The machine group.
    public var on: Located<String>
    /// Unit name, e.g. `nginx` or `cron.service`.
    public var name: String
    /// Enabled at boot (default true).
    public var enabled: Bool
    /// Running now (default true).
    public var running: Bool
    /// Where it is declared.
    public var location: SourceLocation
}

/// `haproxy:`: a load balancer on every machine of a group.
public struct HAProxySpec: Sendable, Hashable {
    /// The machine group that runs haproxy (`on:`).
    public var on: Located<String>
    /// `bind:` (default `:80`).
    public var bind: String
    /// The machine group behind it (`backend:`).
    public var backend: Located<String>
    /// Port on the backend machines (`port:`, default 80).
    public var backendPort: Int
    /// `balance:` roundrobin | leastconn | source | first (default roundrobin).
    public var balance: String
    /// `health: { path, interval }`, when given.
    public var healthPath: String?
    /// Health-check interval (default 2s when `health` is given).
    public var healthInterval: ConfigDuration?
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// One `units:` entry: a systemd unit on every machine of a group.
public struct UnitSpec: Sendable, Hashable {
    /// Unit name, e.g. `demo-worker.service`.
    public var name: String
    /// The machine group (`on:`).
    public var on: Located<String>
    /// `exec:` command line.
    public var exec: String
    /// `restart:` policy (default `on-failure`).
    public var restart: String
    /// `user:`, when given.
    public var user: String?
    /// `environment:` variables.
    public var environment: [String: String]
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// `dns:`: one zone and its records.
public struct DNSSpec: Sendable, Hashable {
    /// Provider name from inventory.
    public var provider: Located<String>
    /// Zone as an FQDN with trailing dot, lowercased (`demo.test.`).
    public var zone: String
    /// Default TTL.
    public var ttl: Int
    /// Nameserver FQDNs, sorted.
    public var nameservers: [String]
    /// Records in file order.
    public var records: [DNSRecordSpec]
    /// Lifecycle settings of the zone.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}

/// The DNS record types otto manages.
public enum DNSRecordType: String, Sendable, Hashable, CaseIterable {
    case A, AAAA, CNAME, MX, TXT, NS, SRV
}

/// One rrset of a zone.
public struct DNSRecordSpec: Sendable, Hashable {
    /// What the rrset's records are.
    public enum Content: Sendable, Hashable {
        /// Literal values in canonical presentation form, sorted.
        case values([String])
        /// The addresses of every machine of a group (A: ipv4, AAAA: ipv6).
        case machines(Located<String>)
    }
    /// The name as written, `@` for the apex (used in the address).
    public var label: String
    /// Owner name, lowercased FQDN with trailing dot.
    public var fqdn: String
    /// Record type.
    public var type: DNSRecordType
    /// TTL.
    public var ttl: Int
    /// The records.
    public var content: Content
    /// Lifecycle settings.
    public var lifecycle: LifecycleSpec
    /// Where it is declared.
    public var location: SourceLocation
}
