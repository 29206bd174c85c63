import OttoCore

extension Project {
    /// Expands every site into resources and checks `depends_on` addresses against the result.
    func expand(into r: ConfigReader) -> [Resource] {
        var out: [Resource] = []
        for site in sites { expand(site, into: &out) }
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
        for group in site.machines {
            let providerName = (group.provider ?? site.provider)?.value ?? ""
            let isStatic = inventory.providerType(providerName) == "static"
            let hosts = inventory.groups[group.name] ?? []
            for i in 0..<group.count {
                var attributes: [String: Value] = ["name": .string("\(s)-\(group.name)-\(i)"), "group": .string(group.name)]
                if let image = group.image { attributes["image"] = .string(image.value) }
                if let size = group.size { attributes["size"] = .string(size) }
                if let region = group.region { attributes["region"] = .string(region) }
                if isStatic, i < hosts.count, let host = inventory.hosts[hosts[i]] {
                    attributes["host"] = .string(host.name)
                    attributes["address"] = .string(host.address)
                    attributes["port"] = .int(host.port)
                    attributes["user"] = .string(host.user)
                    if let key = host.key { attributes["key"] = .string(key) }
                }
                out.append(Resource(address: Self.machineAddress(s, group.name, i), provider: providerName, attributes: attributes,
                                    dependencies: explicit(group.lifecycle), lifecycle: lifecycle(group.lifecycle),
                                    location: group.location))
            }
        }
        /// One resource per machine of `on`, each depending on its machine.
        func perMachine(_ on: Located<String>, kind: String, name: String, location: SourceLocation, spec: LifecycleSpec,
                        extraDependencies: [Dependency] = [], _ attributes: [String: Value]) {
            guard let group = site.group(on.value) else { return }
            for i in 0..<group.count {
                let machine = Self.machineAddress(s, group.name, i)
                var attrs = attributes
                attrs["machine"] = .string(machine.description)
                attrs["address"] = .ref(Value.Reference(machine, "ipv4"))
                out.append(Resource(address: ResourceAddress(kind: kind, name: "\(name).\(group.name)[\(i)]"), provider: "host",
                                    attributes: attrs,
                                    dependencies: [Dependency(machine, at: on.location)] + extraDependencies + explicit(spec),
                                    lifecycle: lifecycle(spec), location: location))
            }
        }
        if let n = site.nginx {
            var attrs: [String: Value] = ["server_name": .string(n.serverName), "root": .string(n.root), "listen": .int(n.listen)]
            if let content = n.content { attrs["content"] = .string(content) }
            perMachine(n.on, kind: "nginx_site", name: s, location: n.location, spec: n.lifecycle, attrs)
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
            var attrs: [String: Value] = ["bind": .string(h.bind), "balance": .string(h.balance), "backend": .string(backend.name),
                                          "servers": .list(servers)]
            if let path = h.healthPath { attrs["health_path"] = .string(path) }
            if let interval = h.healthInterval { attrs["health_interval_ms"] = .int(interval.milliseconds) }
            perMachine(h.on, kind: "haproxy", name: s, location: h.location, spec: h.lifecycle, extraDependencies: deps, attrs)
        }
        for u in site.units {
            var attrs: [String: Value] = ["name": .string(u.name), "exec": .string(u.exec), "restart": .string(u.restart)]
            if let user = u.user { attrs["user"] = .string(user) }
            if !u.environment.isEmpty { attrs["environment"] = .map(u.environment.mapValues { .string($0) }) }
            perMachine(u.on, kind: "unit", name: "\(s).\(u.name)", location: u.location, spec: u.lifecycle, attrs)
        }
        guard let dns = site.dns else { return }
        let zoneAddress = ResourceAddress(kind: "dns_zone", name: s)
        out.append(Resource(address: zoneAddress, provider: dns.provider.value,
                            attributes: ["name": .string(dns.zone), "kind": .string("Native"),
                                         "nameservers": .list(dns.nameservers.map { .string($0) })],
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
}
