import OttoCore

extension Project {
    /// Cross-file checks: references between sites, inventory and images, and uniqueness.
    func validate(into r: ConfigReader) {
        var siteNames: [String: SourceLocation] = [:]
        var zones: [String: (site: String, location: SourceLocation)] = [:]
        // Each site is checked on every CPU at once, with a reader of its own; what each reports joins in site order.
        let all = sites + apiSites
        let project = self, root = r.root, onDisk = r.onDisk, inputs = r.inputs
        let found = Blocking.map(all) { site -> [Diagnostic] in
            let own = ConfigReader(root: root, onDisk: onDisk, inputs: inputs)
            project.validate(site, into: own)
            return own.bag.all
        }
        for (site, diagnostics) in zip(all, found) {
            if let first = siteNames[site.name] {
                r.error(site.nameLocation, "site `\(site.name)` is already defined at \(first)")
            } else {
                siteNames[site.name] = site.nameLocation
            }
            r.bag.append(contentsOf: diagnostics)
            if let dns = site.dns {
                if let first = zones[dns.zone] {
                    r.error(dns.location, "zone `\(dns.zone)` is already managed by site `\(first.site)` (\(first.location))")
                } else {
                    zones[dns.zone] = (site.name, dns.location)
                }
            }
        }
        validateImages(into: r)
        for (group, hosts) in inventory.groups.sorted(by: { $0.key < $1.key }) {
            for host in hosts where inventory.hosts[host] == nil {
                r.error(inventory.groupLocations[group], "group `\(group)` names host `\(host)`, which is not defined in inventory")
            }
        }
    }

    private func suggestion(_ word: String, _ candidates: [String]) -> String {
        EditDistance.closest(to: word, in: candidates).map { "; did you mean `\($0)`?" } ?? ""
    }

    private func checkGroup(_ ref: Located<String>, in site: Site, _ what: String, into r: ConfigReader) {
        guard site.group(ref.value) == nil else { return }
        let names = site.machines.map(\.name)
        r.error(ref.location, "\(what) names machine group `\(ref.value)`, which site `\(site.name)` does not define\(suggestion(ref.value, names))")
    }

    private func validate(_ site: Site, into r: ConfigReader) {
        validateFleet(site, into: r)
        let providerNames = Array(Set(inventory.providers.keys).union(Inventory.builtInProviders)).sorted()
        if let p = site.provider, inventory.providerType(p.value) == nil {
            r.error(p.location, "provider `\(p.value)` is not defined in inventory (nor a built-in: local, static)\(suggestion(p.value, providerNames))")
        }
        for group in site.machines {
            let providerRef = group.provider ?? site.provider
            if let p = group.provider, inventory.providerType(p.value) == nil {
                r.error(p.location, "provider `\(p.value)` is not defined in inventory (nor a built-in: local, static)\(suggestion(p.value, providerNames))")
            }
            if providerRef == nil {
                r.error(group.location, "machine group `\(group.name)` has no provider: set `provider:` on the site or the group")
            }
            let type = providerRef.flatMap { inventory.providerType($0.value) }
            if let type, type == "powerdns" {
                r.error((group.provider ?? site.provider)!.location, "provider `\(providerRef!.value)` (type powerdns) cannot run machines")
            }
            if let image = group.image, type == "local", !images.isEmpty, images[image.value] == nil {
                r.error(image.location, "image `\(image.value)` is not defined in images/\(suggestion(image.value, images.keys.sorted()))")
            }
            if let type, Inventory.cloudTypes.contains(type), let providerRef {
                let settings = inventory.providers[providerRef.value]?.settings ?? [:]
                var missing: [String] = []
                if group.image == nil { missing.append("image") }
                if group.size == nil { missing.append("size") }
                if group.region == nil && settings["region"] == nil { missing.append("region (or `region` on provider `\(providerRef.value)`)") }
                if !missing.isEmpty {
                    r.error(group.location, "machine group `\(group.name)` runs on \(type) provider `\(providerRef.value)` and needs "
                            + missing.joined(separator: ", "))
                }
            } else if group.userData != nil, let providerRef {
                r.error(group.location, "machine group `\(group.name)`: user_data is for cloud machines (digitalocean, aws); provider `\(providerRef.value)` does not take it")
            }
            if type == "static" {
                let hosts = inventory.groups[group.name] ?? []
                if hosts.count < group.count {
                    r.error(group.location, "static machine group `\(group.name)` needs \(group.count) host(s) in inventory group `\(group.name)`, found \(hosts.count)")
                }
            }
        }
        let awsProviders = Set(site.machines.compactMap { g -> String? in
            guard let p = (g.provider ?? site.provider)?.value, inventory.providerType(p) == "aws" else { return nil }
            return p
        })
        if awsProviders.count > 1 {
            r.error(site.location, "site `\(site.name)` runs machines on more than one aws provider (\(awsProviders.sorted().joined(separator: ", "))); "
                    + "its security group belongs to one: split the site")
        }
        if let n = site.nginx { checkGroup(n.on, in: site, "nginx", into: r) }
        if let h = site.haproxy {
            checkGroup(h.on, in: site, "haproxy", into: r)
            checkGroup(h.backend, in: site, "haproxy backend", into: r)
        }
        var unitNames: [String: SourceLocation] = [:]
        for p in site.packages { checkGroup(p.on, in: site, "packages", into: r) }
        /// Each `what` once per group: a second one is an error naming the first.
        func unique(_ entries: [(what: String, on: Located<String>, location: SourceLocation)]) {
            var seen: [String: SourceLocation] = [:]
            for e in entries {
                checkGroup(e.on, in: site, e.what, into: r)
                let key = e.what + "@" + e.on.value
                if let first = seen[key] { r.error(e.location, "\(e.what) on `\(e.on.value)` is already defined at \(first)") }
                seen[key] = e.location
            }
        }
        // A path is one file or one template per group.
        unique(site.templates.map { ("file `\($0.path)`", $0.on, $0.location) } + site.files.map { ("file `\($0.path)`", $0.on, $0.location) })
        unique(site.services.map { ("service `\($0.name)`", $0.on, $0.location) })
        for u in site.units {
            checkGroup(u.on, in: site, "unit `\(u.name)`", into: r)
            let key = u.name + "@" + u.on.value
            if let first = unitNames[key] { r.error(u.location, "unit `\(u.name)` on `\(u.on.value)` is already defined at \(first)") }
            else { unitNames[key] = u.location }
        }
        validateApps(site, into: r)
        guard let dns = site.dns else { return }
        if let p = inventory.providers[dns.provider.value] {
            if !["powerdns", "digitalocean", "aws"].contains(p.type) {
                r.error(dns.provider.location, "provider `\(p.name)` (type \(p.type)) cannot manage DNS; use a powerdns, digitalocean or aws provider")
            }
        } else {
            let dnsProviders = inventory.providers.values.filter { ["powerdns", "digitalocean", "aws"].contains($0.type) }.map(\.name).sorted()
            r.error(dns.provider.location, "dns provider `\(dns.provider.value)` is not defined in inventory\(suggestion(dns.provider.value, dnsProviders))")
        }
        struct RRSet: Hashable { let name: String; let type: DNSRecordType }
        var rrsets: [RRSet: SourceLocation] = [:]
        rrsets.reserveCapacity(dns.records.count)
        // The first type seen at each name; names with more than one type, with all of them (few: only they are sorted).
        var firstType: [String: (DNSRecordType, SourceLocation)] = [:]
        firstType.reserveCapacity(dns.records.count)
        var typesByName: [String: [(DNSRecordType, SourceLocation)]] = [:]
        for record in dns.records {
            let key = RRSet(name: record.fqdn, type: record.type)
            if let first = rrsets[key] {
                r.error(record.location, "duplicate rrset \(record.fqdn) \(record.type.rawValue) (first at \(first)); put all values in one record's `values`")
                continue
            }
            rrsets[key] = record.location
            if let first = firstType[record.fqdn] {
                typesByName[record.fqdn, default: [first]].append((record.type, record.location))
            } else {
                firstType[record.fqdn] = (record.type, record.location)
            }
            if case .machines(let g) = record.content { checkGroup(g, in: site, "record `to:`", into: r) }
        }
        for (name, types) in typesByName.sorted(by: { $0.key < $1.key }) {
            if let cname = types.first(where: { $0.0 == .CNAME }) {
                let other = types.first { $0.0 != .CNAME }!
                let later = max(cname.1, other.1)
                r.error(later, "\(name) has a CNAME record, which cannot share its name with other records (\(other.0.rawValue) at \(min(cname.1, other.1)))")
            }
        }
    }

    /// `apps:`: groups of the site, unique names, `lb:` only with `haproxy:`, ports that clash with nothing else on the
    /// same machines (an app takes `port` and `port + 1`), lb binds that clash with nothing else on the haproxy machines.
    private func validateApps(_ site: Site, into r: ConfigReader) {
        var names: [String: SourceLocation] = [:]
        /// Ports taken on each group so far: what takes them, and where.
        var taken: [String: [(ports: ClosedRange<Int>, what: String, location: SourceLocation)]] = [:]
        if let n = site.nginx { taken[n.on.value, default: []].append((n.listen...n.listen, "nginx's listen \(n.listen)", n.location)) }
        if let h = site.haproxy, let port = ConfigReader.bindPort(h.bind) {
            taken[h.on.value, default: []].append((port...port, "haproxy's bind \(h.bind)", h.location))
        }
        for app in site.apps {
            checkGroup(app.on, in: site, "app `\(app.name)`", into: r)
            if let first = names[app.name] {
                r.error(app.nameLocation, "app `\(app.name)` is already defined at \(first)")
                continue
            }
            names[app.name] = app.nameLocation
            let what = "app `\(app.name)` (ports \(app.port) and \(app.port + 1))"
            if let clash = taken[app.on.value]?.first(where: { $0.ports.overlaps(app.ports) }) {
                r.error(app.portLocation, "\(what) clashes with \(clash.what) on machine group `\(app.on.value)` (\(clash.location)); "
                        + "an app takes port and port + 1: choose a free pair")
            }
            taken[app.on.value, default: []].append((app.ports, "app `\(app.name)`'s ports \(app.port) and \(app.port + 1)", app.portLocation))
        }
        for app in site.apps where names[app.name] == app.nameLocation {
            guard let lb = app.lb else { continue }
            guard let h = site.haproxy else {
                r.error(lb.location, "app `\(app.name)` has `lb:`, but site `\(site.name)` has no `haproxy:` to carry its frontend; "
                        + "add `haproxy:` to the site or remove `lb:`")
                continue
            }
            if let clash = taken[h.on.value]?.first(where: { $0.ports.contains(lb.port) }) {
                r.error(lb.location, "app `\(app.name)`'s lb bind \(lb.bind) clashes with \(clash.what) on machine group `\(h.on.value)` "
                        + "(\(clash.location))")
            }
            taken[h.on.value, default: []].append((lb.port...lb.port, "app `\(app.name)`'s lb bind \(lb.bind)", lb.location))
        }
    }

    private func validateImages(into r: ConfigReader) {
        for image in images.values.sorted(by: { $0.name < $1.name }) {
            if let from = image.from, images[from.value] == nil {
                r.error(from.location, "image `\(image.name)` is built from `\(from.value)`, which is not defined in images/\(suggestion(from.value, images.keys.sorted()))")
            }
        }
        // cycles along `from`: each image has at most one parent, so walk the chain
        var reported = Set<String>()
        for image in images.values.sorted(by: { $0.name < $1.name }) {
            var chain = [image.name]
            var current = image
            while let from = current.from, let parent = images[from.value] {
                if let start = chain.firstIndex(of: parent.name) {
                    let cycle = Array(chain[start...])
                    if reported.isDisjoint(with: cycle) {
                        reported.formUnion(cycle)
                        let loc = images[cycle.last!]!.from!.location
                        r.error(loc, "images build from each other in a cycle: " + (cycle + [parent.name]).joined(separator: " -> "))
                    }
                    break
                }
                chain.append(parent.name)
                current = parent
            }
        }
    }
}
