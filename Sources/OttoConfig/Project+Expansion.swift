import OttoCore

private typealias M = AttributeName.Machine
private typealias Z = AttributeName.DNSZone
private typealias R = AttributeName.DNSRecord
private typealias K = AttributeName.SSHKey
private typealias G = AttributeName.SecurityGroup
private typealias F = AttributeName.File
private typealias D = AttributeName.Directory
private typealias N = AttributeName.NginxSite
private typealias HA = AttributeName.HAProxy
private typealias S = AttributeName.Service

extension Project {
    /// Expands every site into resources and checks `depends_on` addresses against the result.
    func expand(into r: ConfigReader) -> [Resource] {
        // Sites expand on every CPU at once, each with a reader of its own; their resources and what each reports join
        // in site order, as if they had been expanded one by one. Blocks: call it off the cooperative pool.
        let project = self, root = r.root, onDisk = r.onDisk, inputs = r.inputs
        let expanded = Blocking.map(sites + apiSites) { site -> ([Resource], [Diagnostic]) in
            let own = ConfigReader(root: root, onDisk: onDisk, inputs: inputs)
            var resources: [Resource] = []
            project.expand(site, into: &resources, reader: own)
            // Each resource belongs to its site's lock and serial, except what is shared by every site of an account.
            for i in resources.indices where !Self.accountWideKinds.contains(resources[i].kind) { resources[i].site = site.name }
            return (resources, own.bag.all)
        }
        var out: [Resource] = []
        out.reserveCapacity(expanded.reduce(0) { $0 + $1.0.count })
        for (resources, diagnostics) in expanded {
            out.append(contentsOf: resources)
            r.bag.append(contentsOf: diagnostics)
        }
        // Two declarations of one address (a repeated rrset or unit, a repeated site name) are reported by
        // validation; the first declaration is kept.
        var known = Set<ResourceAddress>()
        known.reserveCapacity(out.count)
        var repeated = false
        for i in out.indices where !known.insert(out[i].address).inserted { repeated = true }
        if repeated {  // rare (and an error): only then are the resources copied into a new list
            var seen = Set<ResourceAddress>()
            out = out.filter { seen.insert($0.address).inserted }
        }
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

    private func expand(_ site: Site, into out: inout [Resource], reader r: ConfigReader) {
        let s = site.name
        expandCloud(site, into: &out)
        for group in site.machines {
            let providerName = (group.provider ?? site.provider)?.value ?? ""
            let type = inventory.providerType(providerName)
            let isStatic = type == "static"
            let hosts = inventory.groups[group.name] ?? []
            for i in 0..<group.count {
                var attributes: [String: Value] = [M.name: .string(site.machineName(group.name, i)), M.group: .string(group.name)]
                var dependencies = explicit(group.lifecycle)
                if let image = group.image { attributes[M.image] = .string(image.value) }
                if let size = group.size { attributes[M.size] = .string(size) }
                if let region = group.region { attributes[M.region] = .string(region) }
                if let type, Inventory.cloudTypes.contains(type) {
                    attributes[M.site] = .string(site.providerName)
                    if let userData = group.userData { attributes[M.userData] = .string(userData) }
                    if inventory.providers[providerName]?.sshPublicKey != nil {
                        let key = Self.sshKeyAddress(providerName)
                        if type == "aws" {
                            attributes[M.keyName] = .ref(Value.Reference(key, K.name))
                        } else {
                            attributes[M.sshKeys] = .list([.ref(Value.Reference(key, K.fingerprint))])
                        }
                        dependencies.append(Dependency(key, at: group.location))
                    }
                    if type == "aws" {
                        let sg = Self.securityGroupAddress(s)
                        attributes[M.securityGroups] = .list([.ref(Value.Reference(sg, G.id))])
                        dependencies.append(Dependency(sg, at: group.location))
                    }
                }
                if isStatic, i < hosts.count, let host = inventory.hosts[hosts[i]] {
                    attributes[M.host] = .string(host.name)
                    attributes[M.address] = .string(host.address)
                    attributes[M.port] = .int(host.port)
                    attributes[M.user] = .string(host.user)
                    if let key = host.key { attributes[M.key] = .string(key) }
                }
                out.append(Resource(address: Self.machineAddress(s, group.name, i), provider: providerName, attributes: attributes,
                                    dependencies: dependencies, lifecycle: lifecycle(group.lifecycle),
                                    location: group.location))
            }
        }
        expandHost(site, into: &out)
        expandApps(site, into: &out, reader: r)
        expandFleet(site, into: &out)
        guard let dns = site.dns else { return }
        let zoneAddress = ResourceAddress(kind: "dns_zone", name: s)
        // Nameservers are managed only when the site lists them; otherwise the zone keeps what its provider serves.
        var zoneAttributes: [String: Value] = [Z.name: .string(dns.zone), Z.kind: .string("Native")]
        if !dns.nameservers.isEmpty { zoneAttributes[Z.nameservers] = .list(dns.nameservers.map { .string($0) }) }
        out.append(Resource(address: zoneAddress, provider: dns.provider.value,
                            attributes: zoneAttributes,
                            dependencies: explicit(dns.lifecycle), lifecycle: lifecycle(dns.lifecycle), location: dns.location))
        // Values every record of the zone repeats are made once and shared (a `Value` is a box on the heap each time
        // one is made): the zone, each record type, the TTL.
        let zoneValue = Value.string(dns.zone)
        var typeValues: [DNSRecordType: Value] = [:]
        var ttlValue: (ttl: Int, value: Value)?
        for record in dns.records {
            let typeValue = typeValues[record.type] ?? Value.string(record.type.rawValue)
            typeValues[record.type] = typeValue
            let ttl = ttlValue?.ttl == record.ttl ? ttlValue!.value : Value.int(record.ttl)
            ttlValue = (record.ttl, ttl)
            var deps = [Dependency(zoneAddress, at: record.location)]
            let records: [Value]
            switch record.content {
            case .values(let values):
                records = values.map { .string($0) }
            case .machines(let to):
                let attribute = record.type == .AAAA ? M.ipv6 : M.ipv4
                let count = site.group(to.value)?.count ?? 0
                records = (0..<count).map { .ref(Value.Reference(Self.machineAddress(s, to.value, $0), attribute)) }
                deps += (0..<count).map { Dependency(Self.machineAddress(s, to.value, $0), at: to.location) }
            }
            out.append(Resource(address: ResourceAddress(kind: "dns_record", name: "\(s).\(record.label).\(record.type.rawValue)"),
                                provider: dns.provider.value,
                                attributes: [R.zone: zoneValue, R.name: .string(record.fqdn), R.type: typeValue,
                                             R.ttl: ttl, R.records: .list(records)],
                                dependencies: record.lifecycle.dependsOn.isEmpty ? deps : deps + explicit(record.lifecycle),
                                lifecycle: lifecycle(record.lifecycle),
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
                                    attributes: [K.name: .string("otto-\(providerName)"), K.publicKey: .string(key)],
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
        let ingress: [Value] = ports.sorted().map { .map([G.ruleProtocol: "tcp", G.rulePort: .int($0), G.ruleCIDR: "0.0.0.0/0"]) }
        out.append(Resource(address: Self.securityGroupAddress(site.name), provider: awsProvider,
                            attributes: [G.name: .string("otto-\(site.providerName)"),
                                         G.description: .string("otto: site \(site.name)" + (site.environment.map { " (\($0))" } ?? "")),
                                         G.ingress: .list(ingress)],
                            location: site.machines.count == 1 ? first.location : site.location))
    }

    /// How host resources reach their machine: references to the machine's connection attributes, which every
    /// machine provider reports (`ipv4`, `ssh_port`, `ssh_user`, `ssh_key`, `host_key` (null for hosts checked
    /// against a known_hosts file), `known_hosts`).
    static let connectionAttributes = [AttributeName.Host.host: M.ipv4, AttributeName.Host.sshPort: AttributeName.Host.sshPort,
                                       AttributeName.Host.sshUser: AttributeName.Host.sshUser, AttributeName.Host.sshKey: AttributeName.Host.sshKey,
                                       AttributeName.Host.hostKey: AttributeName.Host.hostKey,
                                       AttributeName.Host.knownHosts: AttributeName.Host.knownHosts]

    /// The variables a template (or any mustache text otto renders for a machine, e.g. a release's command line)
    /// sees on machine `i` of `group`: `vars` (the inventory's vars of the machine's host, Ansible group vars
    /// included, under the site's `vars:`, as a play's vars override the inventory's in Ansible), `site`, `machine`
    /// (its name), `address` and `group.addresses` (references to the machines' `ipv4`, resolved like any other
    /// reference), `group.name`, and `environment` in an environment (`--env`). Release variables are added to this map by whoever renders for a release.
    func templateVariables(_ site: Site, _ group: MachineGroup, _ i: Int) -> [String: Value] {
        let machines = (0..<group.count).map { Self.machineAddress(site.name, group.name, $0) }
        let hosts = inventory.groups[group.name] ?? []
        let isStatic = inventory.providerType((group.provider ?? site.provider)?.value ?? "") == "static"
        var vars = isStatic && i < hosts.count ? inventory.hosts[hosts[i]]?.vars ?? [:] : [:]
        vars.merge(site.vars) { _, site in site }
        var variables: [String: Value] = [
            "vars": .map(vars), "site": .string(site.name), "machine": .string(site.machineName(group.name, i)),
            "address": .ref(Value.Reference(machines[i], M.ipv4)),
            "group": .map(["name": .string(group.name), "addresses": .list(machines.map { .ref(Value.Reference($0, M.ipv4)) })]),
        ]
        if let environment = site.environment { variables["environment"] = .string(environment) }
        return variables
    }

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
                attrs[AttributeName.Host.machine] = .string(machine.description)
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
            perMachine(p.on, kind: "package", name: nil, location: p.location) { _ in [AttributeName.Package.names: names] }
        }
        for f in site.files {
            perMachine(f.on, kind: "file", name: f.path, location: f.location, spec: f.lifecycle) { _ in
                var attrs: [String: Value] = [F.path: .string(f.path), F.content: .string(f.content), F.mode: .string(f.mode),
                                              F.owner: .string(f.owner), F.group: .string(f.group)]
                if f.sensitive { attrs[F.sensitive] = .bool(true) }
                return attrs
            }
        }
        for t in site.templates {
            guard let group = site.group(t.on.value) else { continue }
            let machines = (0..<group.count).map { Self.machineAddress(s, group.name, $0) }
            perMachine(t.on, kind: "template", name: t.path, location: t.location, spec: t.lifecycle,
                       dependencies: { i in machines.enumerated().filter { $0.offset != i }.map { Dependency($0.element, at: t.on.location) } }) { i in
                var attrs: [String: Value] = [F.path: .string(t.path), AttributeName.Template.template: .string(t.text),
                                              AttributeName.Template.variables: .map(templateVariables(site, group, i)), F.mode: .string(t.mode),
                                              F.owner: .string(t.owner), F.group: .string(t.group)]
                if t.sensitive { attrs[F.sensitive] = .bool(true) }
                return attrs
            }
        }
        if let n = site.nginx {
            if let content = n.content {
                perMachine(n.on, kind: "directory", name: "content", location: n.location) { _ in
                    [F.path: .string(n.root), D.source: .string(content), F.mode: .string("0644"),
                     F.owner: .string("root"), F.group: .string("root"), D.purge: .bool(true)]
                }
            }
            perMachine(n.on, kind: "nginx_site", name: nil, location: n.location, spec: n.lifecycle,
                       dependencies: { i in n.content == nil ? [] : [Dependency(at("directory", "content", n.on.value, i), at: n.location)] }) { _ in
                [N.name: .string(s), N.serverName: .string(n.serverName), N.root: .string(n.root), N.listen: .int(n.listen),
                 N.directives: .list(n.directives.map { .string($0) })]
            }
            perMachine(n.on, kind: "service", name: "nginx", location: n.location,
                       dependencies: { i in [Dependency(at("nginx_site", nil, n.on.value, i), at: n.location)] }) { _ in
                [S.name: .string("nginx"), S.enabled: .bool(true), S.running: .bool(true)]
            }
        }
        if let h = site.haproxy, let backend = site.group(h.backend.value) {
            var servers: [Value] = []
            var deps: [Dependency] = []
            for i in 0..<backend.count {
                let m = Self.machineAddress(s, backend.name, i)
                servers.append(.map([HA.serverName: .string(site.machineName(backend.name, i)), HA.serverAddress: .ref(Value.Reference(m, M.ipv4)),
                                     HA.serverPort: .int(h.backendPort)]))
                deps.append(Dependency(m, at: h.backend.location))
            }
            var attrs: [String: Value] = [HA.name: .string(s), HA.bind: .string(h.bind), HA.balance: .string(h.balance),
                                          HA.backend: .string(backend.name), HA.servers: .list(servers)]
            if let path = h.healthPath { attrs[HA.healthPath] = .string(path) }
            if let interval = h.healthInterval { attrs[HA.healthIntervalMS] = .int(interval.milliseconds) }
            let apps = haproxyApps(site)
            if !apps.isEmpty { attrs[HA.apps] = .list(apps) }
            for app in site.apps where app.lb != nil {
                guard let g = site.group(app.on.value), g.name != backend.name else { continue }
                deps += (0..<g.count).map { Dependency(Self.machineAddress(s, g.name, $0), at: app.on.location) }
            }
            perMachine(h.on, kind: "haproxy", name: nil, location: h.location, spec: h.lifecycle, dependencies: { _ in deps }) { _ in attrs }
            perMachine(h.on, kind: "service", name: "haproxy", location: h.location,
                       dependencies: { i in [Dependency(at("haproxy", nil, h.on.value, i), at: h.location)] }) { _ in
                [S.name: .string("haproxy"), S.enabled: .bool(true), S.running: .bool(true)]
            }
        }
        for u in site.units {
            perMachine(u.on, kind: "unit", name: u.name, location: u.location, spec: u.lifecycle) { _ in
                var attrs: [String: Value] = [S.name: .string(u.name), S.exec: .string(u.exec), S.restart: .string(u.restart),
                                              S.enabled: .bool(true), S.running: .bool(true)]
                if let user = u.user { attrs[S.user] = .string(user) }
                if !u.environment.isEmpty { attrs[S.environment] = .map(u.environment.mapValues { .string($0) }) }
                return attrs
            }
        }
        for v in site.services {
            perMachine(v.on, kind: "service", name: v.name, location: v.location) { _ in
                [S.name: .string(v.name), S.enabled: .bool(v.enabled), S.running: .bool(v.running)]
            }
        }
    }
}
