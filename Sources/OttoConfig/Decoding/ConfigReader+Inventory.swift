import Foundation
import OttoCore

extension ConfigReader {
    /// Keys each provider type accepts besides `type` and `concurrency`.
    static let providerKeys: [String: [String]] = [
        "powerdns": ["url", "server", "api_key_env", "api_key_file"],
        "local": ["subnet", "bridge", "mirror", "suite", "directory", "state_dir"],
        "static": ["user", "key", "port", "known_hosts"],
        "digitalocean": ["token_env", "token_file", "endpoint", "region", "ssh_key", "known_hosts", "tag", "rate_limit", "burst",
                         "timeout", "ipv6", "host_keys", "base_image", "builder_size"],
        "aws": ["region", "endpoint", "profile", "access_key_id_env", "secret_access_key_env", "session_token_env", "credentials_file",
                "ssh_key", "ssh_user", "known_hosts", "tag", "rate_limit", "burst", "route53_rate_limit", "route53_burst", "timeout",
                "host_keys", "base_image", "builder_size", "builder_security_groups"],
        // An existing fleet cluster's v1 API: over HTTP, or its unix socket reached over SSH (ssh_* and the pinned host_key).
        "fleet": ["endpoint", "ssh_host", "ssh_port", "ssh_user", "ssh_key", "host_key"],
    ]
    /// Settings that take one of a few words.
    static let enumeratedProviderKeys: [String: [String]] = ["host_keys": ["pinned", "known_hosts"]]
    /// Settings that are lists of strings.
    static let listProviderKeys: Set<String> = ["builder_security_groups"]
    /// Settings that are numbers, with their allowed range.
    static let numericProviderKeys: [String: ClosedRange<Double>] = [
        "rate_limit": 0.001...100_000, "burst": 1...100_000, "route53_rate_limit": 0.001...100_000, "route53_burst": 1...100_000,
        "timeout": 0.1...3600,
    ]
    /// Secret-bearing keys that must never be written inline, with what to use instead.
    static let inlineSecrets: [String: String] = [
        "api_key": "api_key_env or api_key_file", "token": "token_env or token_file",
        "access_key_id": "access_key_id_env", "secret_access_key": "secret_access_key_env or credentials_file",
        "password": "a key file",
    ]

    /// Decodes one inventory document into `inventory`, in either the native or the Ansible shape.
    func inventory(_ root: YAMLNode, into inventory: inout Inventory) {
        if let entries = root.entries, entries.contains(where: { $0.key.text == "all" }) {
            ansible(root, into: &inventory)
            return
        }
        guard let f = fields(root, "an inventory", allowed: ["providers", "hosts", "groups"]) else { return }
        if let p = f["providers"] {
            if let entries = p.entries { for e in entries { provider(e, into: &inventory) } }
            else { error(p.location, "expected providers (a mapping of name to settings), got \(p.kindDescription)") }
        }
        if let h = f["hosts"] {
            if let entries = h.entries { for e in entries { nativeHost(e, into: &inventory) } }
            else { error(h.location, "expected hosts (a mapping of name to settings), got \(h.kindDescription)") }
        }
        if let g = f["groups"] {
            if let entries = g.entries {
                for e in entries {
                    guard let name = self.name(e.key, "group name") else { continue }
                    for (host, _) in strings(e.value) ?? [] { addToGroup(name, host: host, at: e.key.location, into: &inventory) }
                    if e.value.items?.isEmpty == true { addToGroup(name, host: nil, at: e.key.location, into: &inventory) }
                }
            } else { error(g.location, "expected groups (a mapping of name to host list), got \(g.kindDescription)") }
        }
    }

    func addToGroup(_ group: String, host: String?, at location: SourceLocation, into inventory: inout Inventory) {
        if inventory.groupLocations[group] == nil { inventory.groupLocations[group] = location }
        var members = inventory.groups[group] ?? []
        if let host, !members.contains(host) { members.append(host) }
        inventory.groups[group] = members
    }

    func provider(_ entry: YAMLNode.Entry, into inventory: inout Inventory) {
        guard let name = self.name(entry.key, "provider name") else { return }
        if let first = inventory.providers[name] {
            error(entry.key.location, "provider `\(name)` is already defined at \(first.location)")
            return
        }
        guard let entries = entry.value.entries else {
            error(entry.value.location, "expected provider `\(name)` (a mapping), got \(entry.value.kindDescription)")
            return
        }
        var type: String? = Inventory.knownTypes.contains(name) ? name : nil
        if let t = entry.value["type"], let text = string(t) {
            if Inventory.knownTypes.contains(text) { type = text } else {
                var message = "unknown provider type \(Value.string(text)); expected one of \(Inventory.knownTypes.joined(separator: ", "))"
                if let guess = EditDistance.closest(to: text, in: Inventory.knownTypes) { message += "; did you mean `\(guess)`?" }
                error(t.location, message)
                return
            }
        } else if entry.value["type"] == nil, type == nil {
            error(entry.key.location, "provider `\(name)` needs a `type` (one of \(Inventory.knownTypes.joined(separator: ", ")))")
            return
        }
        guard let type else { return }
        let allowed = ["type", "concurrency"] + Self.providerKeys[type]!
        var settings: [String: Value] = [:]
        var concurrency: Int?
        for e in entries {
            guard let key = e.key.text else { continue }
            if let instead = Self.inlineSecrets[key] {
                error(e.key.location, "`\(key)` must not be written in inventory: use \(instead) so the secret stays out of files and plans")
            } else if !allowed.contains(key) {
                unknownKey(key, at: e.key.location, in: "\(type) provider `\(name)`", allowed: allowed)
            } else if key == "concurrency" {
                concurrency = int(e.value, in: 1...Int.max, "concurrency")
            } else if let range = Self.numericProviderKeys[key] {
                let number: Double?
                switch e.value.scalar {
                case .int(let i)?: number = Double(i)
                case .double(let d)?: number = d
                default: number = nil
                }
                if let number, range.contains(number), !key.hasSuffix("burst") || number == number.rounded() {
                    settings[key] = e.value.value
                } else {
                    let what = key.hasSuffix("burst") ? "a whole number" : "a number"
                    error(e.value.location, "`\(key)` must be \(what) from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), got \(e.value.value)")
                }
            } else if let words = Self.enumeratedProviderKeys[key] {
                if let text = e.value.text, words.contains(text) { settings[key] = .string(text) } else {
                    error(e.value.location, "`\(key)` must be \(words.map { "`\($0)`" }.joined(separator: " or ")), got \(e.value.value)")
                }
            } else if Self.listProviderKeys.contains(key) {
                if let items = e.value.items, items.allSatisfy({ $0.text != nil }) {
                    settings[key] = .list(items.compactMap(\.text).map(Value.string))
                } else {
                    error(e.value.location, "`\(key)` must be a list of strings, got \(e.value.kindDescription)")
                }
            } else if key != "type" {
                if e.value.scalar == nil {
                    error(e.value.location, "expected a string, got \(e.value.kindDescription)")
                } else {
                    settings[key] = e.value.value
                }
            }
        }
        var publicKey: String?
        if type == "digitalocean" || type == "aws" {
            if type == "digitalocean", settings["token_env"] == nil, settings["token_file"] == nil {
                error(entry.key.location, "digitalocean provider `\(name)` needs token_env (an environment variable) or token_file (a file holding the API token)")
            }
            if let keyNode = entry.value["ssh_key"], let path = settings["ssh_key"]?.stringValue {
                publicKey = sshPublicKey(path, at: keyNode.location)
            }
        }
        if type == "powerdns" {
            if settings["url"] == nil { error(entry.key.location, "powerdns provider `\(name)` is missing the required key `url`") }
            if settings["api_key_env"] != nil && settings["api_key_file"] != nil {
                error(entry.key.location, "powerdns provider `\(name)` takes api_key_env or api_key_file, not both")
            }
        }
        if type == "fleet" {
            fleetSettings(settings, name: name, at: entry.key.location)
        }
        if type == "local", let subnet = entry.value["subnet"], let text = settings["subnet"]?.stringValue, !Self.isIPv4CIDR(text) {
            error(subnet.location, "invalid subnet \(Value.string(text)): expected an IPv4 CIDR like 10.213.0.0/24")
        }
        var config = ProviderConfig(name: name, type: type, concurrency: concurrency, settings: settings, location: entry.key.location)
        config.sshPublicKey = publicKey
        inventory.providers[name] = config
    }

    /// A `fleet` provider's settings that belong together: an endpoint, and for fleet's unix socket the SSH machine and
    /// its pinned host key (otto never connects to a host whose key it does not know).
    func fleetSettings(_ settings: [String: Value], name: String, at location: SourceLocation) {
        guard let endpoint = settings["endpoint"]?.stringValue else {
            error(location, "fleet provider `\(name)` is missing the required key `endpoint` (http://HOST:PORT, or unix:///var/run/fleet.sock with ssh_host and host_key)")
            return
        }
        let ssh = ["ssh_host", "ssh_port", "ssh_user", "ssh_key", "host_key"].filter { settings[$0] != nil }
        if endpoint.hasPrefix("unix://") {
            if settings["ssh_host"] == nil {
                error(location, "fleet provider `\(name)`: endpoint \(Value.string(endpoint)) is a socket on a fleet machine, reached over SSH: set `ssh_host`")
            }
            if settings["host_key"] == nil {
                error(location, "fleet provider `\(name)` reaches fleet's socket over SSH and needs `host_key`: the machine's public host key (`ssh-ed25519 AAAA…`), pinned")
            }
        } else if endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") {
            if let first = ssh.first {
                error(location, "fleet provider `\(name)`: `\(first)` is only for an endpoint on fleet's unix socket (unix:///var/run/fleet.sock)")
            }
        } else {
            error(location, "fleet provider `\(name)`: endpoint must start with http://, https:// or unix://, got \(Value.string(endpoint))")
        }
        if let port = settings["ssh_port"], !(port.intValue.map { (1...65535).contains($0) } ?? false) {
            error(location, "fleet provider `\(name)`: `ssh_port` must be a port number from 1 to 65535, got \(port)")
        }
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }

    /// The public half (`PATH.pub`) of a private key a cloud provider puts on its machines: one line, ed25519 or
    /// ecdsa (libssh2 1.10 cannot sign with RSA keys the way OpenSSH 9 requires).
    func sshPublicKey(_ path: String, at location: SourceLocation) -> String? {
        guard onDisk else { return nil }
        let full = (path.hasPrefix("/") ? path : root + "/" + path) + ".pub"
        guard let data = contents(full), let text = String(data: data, encoding: .utf8) else {
            error(location, "cannot read the public key \(Value.string(full)): ssh_key names a private key whose public half is KEY.pub (make one with `ssh-keygen -t ed25519 -f KEY`)")
            return nil
        }
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let algorithm = line.split(separator: " ").first.map(String.init) ?? ""
        if algorithm == "ssh-rsa" {
            error(location, "\(Value.string(full)) is an RSA key: libssh2 1.10 cannot sign with RSA keys the way OpenSSH 9 requires; use an ed25519 key (`ssh-keygen -t ed25519 -f KEY`)")
            return nil
        }
        guard algorithm == "ssh-ed25519" || algorithm.hasPrefix("ecdsa-sha2-"), !line.contains("\n"),
              line.split(separator: " ").count >= 2 else {
            error(location, "\(Value.string(full)) is not an OpenSSH public key line (expected `ssh-ed25519 AAAA...`)")
            return nil
        }
        return line
    }

    static func isIPv4CIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits),
              case .ok = DNSNormalizer.ipv4(String(parts[0])) else { return false }
        return true
    }

    func nativeHost(_ entry: YAMLNode.Entry, into inventory: inout Inventory) {
        guard let name = string(entry.key) else { return }
        let value = entry.value.isNull ? YAMLNode(.mapping([]), at: entry.value.location) : entry.value
        guard let f = fields(value, "host `\(name)`", allowed: ["address", "port", "user", "key", "groups", "vars"]) else { return }
        var vars: [String: Value] = [:]
        if let v = f["vars"] { if case .map(let m) = v.value { vars = m } else { error(v.location, "expected vars (a mapping), got \(v.kindDescription)") } }
        addHost(name: name, address: f["address"].flatMap(string), port: f["port"], user: f["user"].flatMap(string),
                key: f["key"].flatMap(string), groups: strings(f["groups"], single: true)?.map(\.0) ?? [], vars: vars,
                location: entry.key.location, into: &inventory)
    }

    func addHost(name: String, address: String?, port: YAMLNode?, user: String?, key: String?, groups: [String],
                 vars: [String: Value], location: SourceLocation, into inventory: inout Inventory) {
        if let first = inventory.hosts[name] {
            error(location, "host `\(name)` is already defined at \(first.location)")
            return
        }
        guard Names.isHostName(name) else {
            error(location, "invalid host name \(Value.string(name)): \(Names.hostNameRule)")
            return
        }
        let p = port.map { int($0, in: 1...65535, "port") } ?? 22
        for g in groups { addToGroup(g, host: name, at: location, into: &inventory) }
        inventory.hosts[name] = Host(name: name, address: address ?? name, port: p ?? 22, user: user ?? "root", key: key,
                                     groups: groups.sorted(), vars: vars, location: location)
    }

    /// Ansible's YAML inventory: `all: {hosts, children, vars}`; group vars are inherited by their hosts.
    func ansible(_ root: YAMLNode, into inventory: inout Inventory) {
        guard let top = fields(root, "an Ansible inventory", allowed: ["all"]), let all = top["all"] else { return }
        // explicit stack of (group name, node, inherited vars)
        var pending: [(String, YAMLNode, [String: Value])] = [("all", all, [:])]
        var hostNodes: [(name: String, node: YAMLNode, vars: [String: Value], groups: [String])] = []
        var hostIndex: [String: Int] = [:]
        while let (group, node, inherited) = pending.popLast() {
            if node.isNull { addToGroup(group, host: nil, at: node.location, into: &inventory); continue }
            guard let f = fields(node, "Ansible group `\(group)`", allowed: ["hosts", "children", "vars"]) else { continue }
            var vars = inherited
            if let v = f["vars"] {
                if case .map(let m) = v.value { vars.merge(m) { _, new in new } } else { error(v.location, "expected vars (a mapping), got \(v.kindDescription)") }
            }
            addToGroup(group, host: nil, at: node.location, into: &inventory)
            if let h = f["hosts"] {
                if let entries = h.entries {
                    for e in entries {
                        guard let name = string(e.key) else { continue }
                        addToGroup(group, host: name, at: e.key.location, into: &inventory)
                        var hostVars = vars
                        if case .map(let m) = e.value.value { hostVars.merge(m) { _, new in new } }
                        else if !e.value.isNull { error(e.value.location, "expected host `\(name)` (a mapping of variables), got \(e.value.kindDescription)") }
                        if let i = hostIndex[name] {
                            if !hostNodes[i].groups.contains(group) { hostNodes[i].groups.append(group) }
                            hostNodes[i].vars.merge(hostVars) { old, _ in old }
                        } else {
                            hostIndex[name] = hostNodes.count
                            hostNodes.append((name, e.key, hostVars, [group]))
                        }
                    }
                } else if !h.isNull { error(h.location, "expected hosts (a mapping), got \(h.kindDescription)") }
            }
            if let c = f["children"] {
                if let entries = c.entries {
                    for e in entries.reversed() { if let name = string(e.key) { pending.append((name, e.value, vars)) } }
                } else if !c.isNull { error(c.location, "expected children (a mapping of groups), got \(c.kindDescription)") }
            }
        }
        for h in hostNodes {
            var vars = h.vars
            let address = vars.removeValue(forKey: "ansible_host")
            let port = vars.removeValue(forKey: "ansible_port")
            let user = vars.removeValue(forKey: "ansible_user")
            let key = vars.removeValue(forKey: "ansible_ssh_private_key_file")
            var portNode: YAMLNode?
            if let port {
                if let i = port.intValue { portNode = YAMLNode(.scalar(String(i), .plain), at: h.node.location) }
                else if let s = port.stringValue, let i = Int(s) { portNode = YAMLNode(.scalar(String(i), .plain), at: h.node.location) }
                else { error(h.node.location, "ansible_port of host `\(h.name)` must be an integer, got \(port)") }
            }
            func text(_ v: Value?) -> String? {
                switch v { case .string(let s)?: s; case .int(let i)?: String(i); default: nil }
            }
            addHostFromAnsible(h.name, address: text(address), port: portNode, user: text(user), key: text(key),
                               groups: h.groups.filter { $0 != "all" }, vars: vars, location: h.node.location, into: &inventory)
        }
    }

    private func addHostFromAnsible(_ name: String, address: String?, port: YAMLNode?, user: String?, key: String?,
                                    groups: [String], vars: [String: Value], location: SourceLocation, into inventory: inout Inventory) {
        // group membership was recorded while walking the tree
        if let first = inventory.hosts[name] {
            error(location, "host `\(name)` is already defined at \(first.location)")
            return
        }
        guard Names.isHostName(name) else {
            error(location, "invalid host name \(Value.string(name)): \(Names.hostNameRule)")
            return
        }
        let p = port.map { int($0, in: 1...65535, "ansible_port") } ?? 22
        inventory.hosts[name] = Host(name: name, address: address ?? name, port: p ?? 22, user: user ?? "root", key: key,
                                     groups: Array(Set(groups)).sorted(), vars: vars, location: location)
    }
}
