import OttoCore

/// Everything under `inventory/`: providers, static hosts and groups.
public struct Inventory: Sendable, Hashable {
    /// Providers by name.
    public var providers: [String: ProviderConfig] = [:]
    /// Static hosts by name.
    public var hosts: [String: Host] = [:]
    /// Groups of static hosts by name, hosts in declaration order.
    public var groups: [String: [String]] = [:]
    /// Where each group was first declared.
    public var groupLocations: [String: SourceLocation] = [:]

    /// Creates an empty inventory.
    public init() {}

    /// The provider kinds otto knows.
    public static let knownTypes = ["aws", "digitalocean", "fleet", "local", "powerdns", "static"]
    /// Provider types whose machines are cloud servers (made through an API, reached over their public address).
    public static let cloudTypes: Set<String> = ["digitalocean", "aws"]
    /// Provider names usable without an inventory entry (they need no settings).
    public static let builtInProviders = ["local", "static"]

    /// The type of provider `name`: its inventory type, or the built-in of that name.
    public func providerType(_ name: String) -> String? {
        if let p = providers[name] { return p.type }
        return Self.builtInProviders.contains(name) ? name : nil
    }
}

/// One `providers:` entry. Secrets are never stored here, only where to find them (`*_env`, `*_file`).
public struct ProviderConfig: Sendable, Hashable {
    /// Name (the key).
    public var name: String
    /// Type: powerdns, local, static, digitalocean, aws or fleet.
    public var type: String
    /// Most actions at once, when set.
    public var concurrency: Int?
    /// Every other setting, as written.
    public var settings: [String: Value]
    /// For cloud providers with `ssh_key`: the public key line read from `KEY.pub`, which goes onto their machines.
    public var sshPublicKey: String?
    /// Where it is declared.
    public var location: SourceLocation

    /// A string setting.
    public func string(_ key: String) -> String? { settings[key]?.stringValue }

    /// The settings as plain values with the name and place, which is what providers read their settings from.
    public var settingValues: ProviderSettingValues { ProviderSettingValues(name: name, values: settings, location: location) }

    /// Creates a provider entry.
    public init(name: String, type: String, concurrency: Int? = nil, settings: [String: Value] = [:], location: SourceLocation) {
        self.name = name
        self.type = type
        self.concurrency = concurrency
        self.settings = settings
        self.location = location
    }

    /// The defaults of a built-in provider (`local`, `static`) that inventory does not declare.
    public static func builtIn(_ name: String) -> ProviderConfig? {
        guard Inventory.builtInProviders.contains(name) else { return nil }
        return ProviderConfig(name: name, type: name, location: SourceLocation(file: "inventory/", line: 1, column: 1))
    }
}

/// One static host (native `hosts:` or an Ansible inventory host).
public struct Host: Sendable, Hashable {
    /// Name.
    public var name: String
    /// SSH address (default: the name).
    public var address: String
    /// SSH port (default 22).
    public var port: Int
    /// SSH user (default root).
    public var user: String
    /// Private key path, when given.
    public var key: String?
    /// Groups it belongs to, sorted.
    public var groups: [String]
    /// Other variables, as written.
    public var vars: [String: Value]
    /// Where it is declared.
    public var location: SourceLocation
}
