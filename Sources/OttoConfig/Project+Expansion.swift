import OttoCore

extension Project {
    /// Expands every site into resources and checks `depends_on` addresses against the result.
    func expand(into r: ConfigReader) -> [Resource] {
        var out: [Resource] = []
        for site in sites + apiSites {
            let first = out.count
            expand(site, into: &out)
            // Each resource belongs to its site's lock and serial, except what is shared by every site of an account.
            for i in first..<out.count where !Self.accountWideKinds.contains(out[i].kind) { out[i].site = site.name }
        }
        // Two declarations of one address (a repeated rrset or unit, a repeated site name) are reported by
        // validation; the first declaration is kept.
        var known = Set<ResourceAddress>()
        known.reserveCapacity(out.count)
        out = out.filter { known.insert($0.address).inserted }
        for resource in out {
            // implicit dependencies only name resources expansion created, so a miss is a `depends_on` entry
            for dep in resource.dependencies where !known.contains(dep.address) {
                r.error(dep.location, "depends_on names \(dep.address), which no site declares")
            }
        }
        return out
    }

    static func machineAddress(_ site: String, _ group: String, _ i: Int) -> ResourceAddress {
        ResourceAddress(kind: "machine", name: "\(site).\(group)[\(i)]")
    }

    private func lifecycle(_ spec: LifecycleSpec) -> Lifecycle {
        Lifecycle(preventDestroy: spec.preventDestroy, ignoreChanges: spec.ignoreChanges)
    }

    private func explicit(_ spec: LifecycleSpec) -> [Dependency] {
        spec.dependsOn.compactMap { d in ResourceAddress(parsing: d.value).map { Dependency($0, at: d.location) } }
    }

    private func expand(_ site: Site, into out: inout [Resource]) {
        let s = site.name
        expandCloud(site, into: &out)
        for group in site.machines {
            let providerName = (group.provider ?? site.provider)?.value ?? ""
            let type = inventory.providerType(providerName)
            let isStatic = type == "static"
            let hosts = inventory.groups[group.name] ?? []
            for i in 0..<group.count {
                var attributes: [String: Value] = ["name": .string("\(s)-\(group.name)-\(i)"), "group": .string(group.name)]
                var dependencies = explicit(group.lifecycle)
                if let image = group.image { attributes["image"] = .string(image.value) }
                if let size = group.size { attributes["size"] = .string(size) }
                if let region = group.region { attributes["region"] = .string(region) }
                if let type, Inventory.cloudTypes.contains(type) {
                    attributes["site"] = .string(s)
                    if let userData = group.userData { attributes["user_data"] = .string(userData) }
                    if inventory.providers[providerName]?.sshPublicKey != nil {
                        let key = Self.sshKeyAddress(providerName)
                        if type == "aws" {
                            attributes["key_name"] = .ref(Value.Reference(key, "name"))
                        } else {
                            attributes["ssh_keys"] = .list([.ref(Value.Reference(key, "fingerprint"))])
                        }
                        dependencies.append(Dependency(key, at: group.location))
                    }
                    if type == "aws" {
                        let sg = Self.securityGroupAddress(s)
                        attributes["security_groups"] = .list([.ref(Value.Reference(sg, "id"))])
                        dependencies.append(Dependency(sg, at: group.location))
                    }
                }
                if isStatic, i < hosts.count, let host = inventory.hosts[hosts[i]] {
                    attributes["host"] = .string(host.name)
                    attributes["address"] = .string(host.address)
                    attributes["port"] = .int(host.port)
                    attributes["user"] = .string(host.user)
                    if let key = host.key { attributes["key"] = .string(key) }
                }
                out.append(Resource(address: Self.machineAddress(s, group.name, i), provider: providerName, attributes: attributes,
                                    dependencies: dependencies, lifecycle: lifecycle(group.lifecycle),
                                    location: group.location))
            }
        }
        expandHost(site, into: &out)
        guard let dns = site.dns else { return }
        let zoneAddress = ResourceAddress(kind: "dns_zone", name: s)
        // Nameservers are managed only when the site lists them; otherwise the zone keeps what its provider serves.
        var zoneAttributes: [String: Value] = ["name": .string(dns.zone), "kind": .string("Native")]
        if !dns.nameservers.isEmpty { zoneAttributes["nameservers"] = .list(dns.nameservers.map { .string($0) }) }
        out.append(Resource(address: zoneAddress, provider: dns.provider.value,
                            attributes: zoneAttributes,
                            dependencies: explicit(dns.lifecycle), lifecycle: lifecycle(dns.lifecycle), location: dns.location))
        for record in dns.records {
            var deps = [Dependency(zoneAddress, at: record.location)]
            let records: [Value]
            switch record.content {
            case .values(let values):
                records = values.map { .string($0) }
            case .machines(let to):
                let attribute = record.type == .AAAA ? "ipv6" : "ipv4"
                let count = site.group(to.value)?.count ?? 0
                records = (0..<count).map { .ref(Value.Reference(Self.machineAddress(s, to.value, $0), attribute)) }
                deps += (0..<count).map { Dependency(Self.machineAddress(s, to.value, $0), at: to.location) }
            }
            out.append(Resource(address: ResourceAddress(kind: "dns_record", name: "\(s).\(record.label).\(record.type.rawValue)"),
                                provider: dns.provider.value,
                                attributes: ["zone": .string(dns.zone), "name": .string(record.fqdn), "type": .string(record.type.rawValue),
                                             "ttl": .int(record.ttl), "records": .list(records)],
                                dependencies: deps + explicit(record.lifecycle), lifecycle: lifecycle(record.lifecycle),
                                location: record.location))
        }
    }

    /// Kinds that belong to a provider account rather than to the site that asked for them (one SSH key per provider).
    static let accountWideKinds: Set<String> = ["ssh_key"]

    static func sshKeyAddress(_ provider: String) -> ResourceAddress { ResourceAddress(kind: "ssh_key", name: provider) }
    static func securityGroupAddress(_ site: String) -> ResourceAddress { ResourceAddress(kind: "security_group", name: site) }

    /// Cloud resources machines need: the provider's SSH key (once per provider, account-wide) and, on AWS, the site's
    /// security group opening SSH and the ports the site serves.
    private func expandCloud(_ site: Site, into out: inout [Resource]) {
        var awsGroups: [MachineGroup] = []
        var awsProvider: String?
        for group in site.machines {
            let providerName = (group.provider ?? site.provider)?.value ?? ""
            guard let config = inventory.providers[providerName], Inventory.cloudTypes.contains(config.type) else { continue }
            if let key = config.sshPublicKey {
                out.append(Resource(address: Self.sshKeyAddress(providerName), provider: providerName,
                                    attributes: ["name": .string("otto-\(providerName)"), "public_key": .string(key)],
                                    location: config.location))
            }
            if config.type == "aws" {
                awsGroups.append(group)
                awsProvider = providerName
            }
        }
        guard let awsProvider, let first = awsGroups.first else { return }
        var ports: Set<Int> = [22]
        let onAWS = Set(awsGroups.map(\.name))
        if let n = site.nginx, onAWS.contains(n.on.value) { ports.insert(n.listen) }
        if let h = site.haproxy, onAWS.contains(h.on.value) {
            ports.insert(Int(h.bind.split(separator: ":").last.map(String.init) ?? "") ?? 80)
        }
        if let h = site.haproxy, onAWS.contains(h.backend.value) { ports.insert(h.backendPort) }
        let ingress: [Value] = ports.sorted().map { .map(["protocol": "tcp", "port": .int($0), "cidr": "0.0.0.0/0"]) }
        out.append(Resource(address: Self.securityGroupAddress(site.name), provider: awsProvider,
                            attributes: ["name": .string("otto-\(site.name)"), "description": .string("otto: site \(site.name)"),
                                         "ingress": .list(ingress)],
                            location: site.machines.count == 1 ? first.location : site.location))
    }

    /// How host resources reach their machine: references to the machine's connection attributes, which every
    /// machine provider reports (`ipv4`, `ssh_port`, `ssh_user`, `ssh_key`, `host_key` (null for hosts checked
    /// against a known_hosts file), `known_hosts`).
    static let connectionAttributes = ["host": "ipv4", "ssh_port": "ssh_port", "ssh_user": "ssh_user", "ssh_key": "ssh_key",
                                       "host_key": "host_key", "known_hosts": "known_hosts"]

    /// Host configuration: files, directories, packages, services, units, nginx and haproxy on each machine.
    private func expandHost(_ site: Site, into out: inout [Resource]) {
        let s = site.name
        /// `KIND.SITE.NAME.GROUP[i]` (or `KIND.SITE.GROUP[i]` without a name) for every machine of `on`.
        func perMachine(_ on: Located<String>, kind: String, name: String?, location: SourceLocation, spec: LifecycleSpec = LifecycleSpec(),
                        dependencies: (Int) -> [Dependency] = { _ in [] }, _ attributes: (Int) -> [String: Value]) {
            guard let group = site.group(on.value) else { return }
            let hasPackages = kind != "package" && site.packages.contains { $0.on.value == group.name }
            for i in 0..<group.count {
                let machine = Self.machineAddress(s, group.name, i)
                var attrs = attributes(i)
                attrs["machine"] = .string(machine.description)
                for (mine, theirs) in Self.connectionAttributes { attrs[mine] = .ref(Value.Reference(machine, theirs)) }
                var deps = [Dependency(machine, at: on.location)] + dependencies(i) + explicit(spec)
                if hasPackages { deps.append(Dependency(ResourceAddress(kind: "package", name: "\(s).\(group.name)[\(i)]"), at: location)) }
                let label = name.map { "\(s).\($0).\(group.name)[\(i)]" } ?? "\(s).\(group.name)[\(i)]"
                out.append(Resource(address: ResourceAddress(kind: kind, name: label), provider: "host", attributes: attrs,
                                    dependencies: deps, lifecycle: lifecycle(spec), location: location))
            }
        }
        func at(_ kind: String, _ name: String?, _ group: String, _ i: Int) -> ResourceAddress {
            ResourceAddress(kind: kind, name: (name.map { "\(s).\($0)." } ?? "\(s).") + "\(group)[\(i)]")
        }

        // Packages: one resource per machine with every name the site asks for on its group.
        var packageNames: [String: Set<String>] = [:]
        var packageSpec: [String: PackageSpec] = [:]
        for p in site.packages {
            packageNames[p.on.value, default: []].formUnion(p.names)
            if packageSpec[p.on.value] == nil { packageSpec[p.on.value] = p }
        }
        for (group, p) in packageSpec.sorted(by: { $0.key < $1.key }) {
            let names = Value.list(packageNames[group]!.sorted().map { .string($0) })
            perMachine(p.on, kind: "package", name: nil, location: p.location) { _ in ["names": names] }
        }
        for f in site.files {
            perMachine(f.on, kind: "file", name: f.path, location: f.location, spec: f.lifecycle) { _ in
                ["path": .string(f.path), "content": .string(f.content), "mode": .string(f.mode),
                 "owner": .string(f.owner), "group": .string(f.group)]
            }
        }
        if let n = site.nginx {
            if let content = n.content {
                perMachine(n.on, kind: "directory", name: "content", location: n.location) { _ in
                    ["path": .string(n.root), "source": .string(content), "mode": .string("0644"),
                     "owner": .string("root"), "group": .string("root"), "purge": .bool(true)]
                }
            }
            perMachine(n.on, kind: "nginx_site", name: nil, location: n.location, spec: n.lifecycle,
                       dependencies: { i in n.content == nil ? [] : [Dependency(at("directory", "content", n.on.value, i), at: n.location)] }) { _ in
                ["name": .string(s), "server_name": .string(n.serverName), "root": .string(n.root), "listen": .int(n.listen),
                 "directives": .list(n.directives.map { .string($0) })]
            }
            perMachine(n.on, kind: "service", name: "nginx", location: n.location,
                       dependencies: { i in [Dependency(at("nginx_site", nil, n.on.value, i), at: n.location)] }) { _ in
                ["name": .string("nginx"), "enabled": .bool(true), "running": .bool(true)]
            }
        }
        if let h = site.haproxy, let backend = site.group(h.backend.value) {
            var servers: [Value] = []
            var deps: [Dependency] = []
            for i in 0..<backend.count {
                let m = Self.machineAddress(s, backend.name, i)
                servers.append(.map(["name": .string("\(s)-\(backend.name)-\(i)"), "address": .ref(Value.Reference(m, "ipv4")),
                                     "port": .int(h.backendPort)]))
                deps.append(Dependency(m, at: h.backend.location))
            }
            var attrs: [String: Value] = ["name": .string(s), "bind": .string(h.bind), "balance": .string(h.balance),
                                          "backend": .string(backend.name), "servers": .list(servers)]
            if let path = h.healthPath { attrs["health_path"] = .string(path) }
            if let interval = h.healthInterval { attrs["health_interval_ms"] = .int(interval.milliseconds) }
            perMachine(h.on, kind: "haproxy", name: nil, location: h.location, spec: h.lifecycle, dependencies: { _ in deps }) { _ in attrs }
            perMachine(h.on, kind: "service", name: "haproxy", location: h.location,
                       dependencies: { i in [Dependency(at("haproxy", nil, h.on.value, i), at: h.location)] }) { _ in
                ["name": .string("haproxy"), "enabled": .bool(true), "running": .bool(true)]
            }
        }
        for u in site.units {
            perMachine(u.on, kind: "unit", name: u.name, location: u.location, spec: u.lifecycle) { _ in
                var attrs: [String: Value] = ["name": .string(u.name), "exec": .string(u.exec), "restart": .string(u.restart),
                                              "enabled": .bool(true), "running": .bool(true)]
                if let user = u.user { attrs["user"] = .string(user) }
                if !u.environment.isEmpty { attrs["environment"] = .map(u.environment.mapValues { .string($0) }) }
                return attrs
            }
        }
        for v in site.services {
            perMachine(v.on, kind: "service", name: v.name, location: v.location) { _ in
                ["name": .string(v.name), "enabled": .bool(v.enabled), "running": .bool(v.running)]
            }
        }
    }
}
