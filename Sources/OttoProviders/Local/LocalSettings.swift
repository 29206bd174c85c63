import Foundation
import OttoCore

/// Settings of a `local` provider (inventory `providers:` entry of type `local`), with defaults.
public struct LocalSettings: Sendable, Hashable {
    /// Private subnet of the machines; the bridge takes its first host address (default 10.213.0.0/24).
    public var subnet: IPv4Subnet
    /// Bridge in the host network namespace that every machine's veth joins (default `otto0`).
    public var bridge: String
    /// Debian mirror set in inventory, if any: it wins over a recipe's `base.mirror` (the operator knows which
    /// mirror this host reaches). Use `mirror(for:)` for the one to use.
    public var mirror: String?
    /// Debian suite of base images whose recipe names none (default `bookworm`).
    public var suite: String
    /// Where images, machines and otto's client key live (default `/var/lib/otto`).
    public var stateDir: String
    /// Where machines and images live unless `state_dir` says otherwise.
    public static let defaultStateDir = "/var/lib/otto"
    /// The prefix that keeps this state directory's host-global names apart from others' (see `LocalNames.scope`).
    public var scope: String { LocalNames.scope(stateDir) }

    /// The default subnet.
    public static let defaultSubnet = "10.213.0.0/24"

    /// Creates settings; every value has a default.
    public init(subnet: IPv4Subnet? = nil, bridge: String = "otto0", mirror: String? = nil, suite: String = "bookworm",
                stateDir: String = LocalSettings.defaultStateDir) {
        self.subnet = subnet ?? IPv4Subnet(parsing: Self.defaultSubnet)!
        self.bridge = bridge
        self.mirror = mirror
        self.suite = suite
        self.stateDir = stateDir
    }

    /// Reads `subnet`, `bridge`, `mirror`, `suite` and `state_dir` (alias `directory`) from an inventory entry.
    public init(_ config: ProviderSettingValues?) throws {
        let s = config?.values ?? [:]
        func text(_ key: String) -> String? { s[key]?.stringValue }
        var subnet: IPv4Subnet?
        if let t = text("subnet") {
            guard let parsed = IPv4Subnet(parsing: t), parsed.prefix <= 30 else {
                throw OttoError("provider.local.config", "invalid subnet \(Value.string(t)): expected an IPv4 CIDR with at least 4 addresses, like 10.213.0.0/24")
            }
            subnet = parsed
        }
        let bridge = text("bridge") ?? "otto0"
        guard LocalNames.isInterfaceName(bridge) else {
            throw OttoError("provider.local.config", "invalid bridge name \(Value.string(bridge)): 1-15 characters of a-z, 0-9, '-' or '_'")
        }
        self.init(subnet: subnet, bridge: bridge, mirror: text("mirror"), suite: text("suite") ?? "bookworm",
                  stateDir: text("state_dir") ?? text("directory") ?? LocalSettings.defaultStateDir)
    }

    /// The mirror to build a base from: inventory `mirror`, else the recipe's `base.mirror`, else the host's apt mirror.
    public func mirror(for recipeMirror: String?) -> String { mirror ?? recipeMirror ?? Self.hostMirror() }

    /// The first `URIs:` of /etc/apt/sources.list.d/debian.sources (or `deb` line of sources.list), else deb.debian.org.
    public static func hostMirror() -> String {
        if let text = try? String(contentsOfFile: "/etc/apt/sources.list.d/debian.sources", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("URIs:") {
                if let uri = line.dropFirst(5).split(separator: " ").first { return String(uri) }
            }
        }
        if let text = try? String(contentsOfFile: "/etc/apt/sources.list", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("deb ") {
                let parts = line.split(separator: " ").filter { !$0.hasPrefix("[") && !$0.hasSuffix("]") }
                if parts.count > 1 { return String(parts[1]) }
            }
        }
        return "http://deb.debian.org/debian"
    }
}

/// Names otto gives to host objects; every one carries an otto prefix so nothing else is ever touched.
enum LocalNames {
    /// Valid machine names: a hostname label (a-z, 0-9, '-'), at most 63 characters.
    static func isMachineName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 63 && s.first != "-" && s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
    }

    /// Valid Linux interface names (at most 15 bytes).
    static func isInterfaceName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 15 && s.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x5f }
    }

    /// Network namespaces, cgroups and veths are global on the host while machine names are only unique within one
    /// state directory: a state directory other than the default gets a scope of 6 hex digits of its path's SHA-256,
    /// so two projects (or a test and the demo) with machines of the same name never touch each other's.
    static func scope(_ stateDir: String) -> String {
        stateDir == LocalSettings.defaultStateDir ? "" : String(ContentHash.sha256(Array(stateDir.utf8)).prefix(6)) + "-"
    }
    /// Network namespace of a machine.
    static func netns(_ machine: String, scope: String) -> String { "otto-\(scope)\(machine)" }
    /// Cgroup (in both hierarchies) of a machine.
    static func cgroup(_ machine: String, scope: String) -> String { "otto-\(scope)\(machine)" }
    /// Host-side veth of a machine: `ov` + 12 hex digits of the SHA-256 of scope and name (14 characters, stable).
    static func veth(_ machine: String, scope: String) -> String { "ov" + String(ContentHash.sha256(Array((scope + machine).utf8)).prefix(12)) }
}
