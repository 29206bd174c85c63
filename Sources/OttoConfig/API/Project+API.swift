import OttoCore

/// Desired state written over the HTTP API, merged into the project with the same reader as YAML.
///
/// - A `host` item is an inventory host: its document goes through the reader of `hosts:` entries, so it is checked
///   exactly like a host in `inventory/*.yml` and joins the groups it names (static machine groups use it).
/// - `nameservers` and `records` items of one domain make a DNS-only site named after the domain: the reader of a
///   site's `dns:` section reads them (provider, nameservers, ttl, records), and the site is validated and expanded
///   like any other (`dns_zone.example.com`, `dns_record.example.com.www.A`).
///
/// YAML wins: an item whose host or zone YAML now defines is ignored with a warning naming both places (the API
/// refuses to write such items in the first place, with 409 and the YAML location).
extension Project {
    /// Merges `items` into `inventory` and returns the DNS-only sites of the API's zones.
    static func mergeAPI(_ items: [APIItem], into inventory: inout Inventory, yamlSites: [Site], reader r: ConfigReader) -> [Site] {
        var zones: [String: (nameservers: APIItem?, records: APIItem?)] = [:]
        for item in items.sorted(by: { $0.key < $1.key }) {
            switch item.key.kind {
            case .host:
                mergeHost(item, into: &inventory, reader: r)
            case .nameservers:
                zones[item.key.name, default: (nil, nil)].nameservers = item
            case .records:
                zones[item.key.name, default: (nil, nil)].records = item
            case .release:
                break  // read by `releasePins`, applied where apps expand
            }
        }
        var sites: [Site] = []
        for (domain, pair) in zones.sorted(by: { $0.key < $1.key }) {
            if let site = apiSite(domain, nameservers: pair.nameservers, records: pair.records, yamlSites: yamlSites, reader: r) {
                sites.append(site)
            }
        }
        return sites
    }

    /// The pins of `otto rollback` and `otto release` among `items`, by `SITE/APP`; an unreadable one is an error at
    /// its item.
    static func releasePins(_ items: [APIItem], reader r: ConfigReader) -> [String: AppReleasePin] {
        var out: [String: AppReleasePin] = [:]
        for item in items where item.key.kind == .release {
            do { out[item.key.name] = try AppReleasePin(item: item) } catch {
                r.error(origin(item.key), "the release pinned for app `\(item.key.name)` cannot be read (\(error)); `otto release APP VERSION` writes a new one")
            }
        }
        return out
    }

    /// Where an item's document starts: line 1, column 1 of its synthetic file.
    static func origin(_ key: APIItemKey) -> SourceLocation { SourceLocation(file: key.file, line: 1, column: 1) }

    private static func document(_ item: APIItem, reader r: ConfigReader) -> YAMLNode? {
        do {
            return try JSONNodeReader.parse(item.document, file: item.key.file)
        } catch {
            r.bag.append(contentsOf: error.diagnostics)
            return nil
        }
    }

    /// Adds the host item `item` to `inventory` as inventory YAML's `hosts:` reader would (with its groups), or warns
    /// when YAML defines the host; what the reader finds in its document goes to `r`.
    static func mergeHost(_ item: APIItem, into inventory: inout Inventory, reader r: ConfigReader) {
        let name = item.key.name
        if let yaml = inventory.hosts[name] {
            r.bag.warning(origin(item.key), "host `\(name)` written over the API is ignored: \(yaml.location) defines it")
            return
        }
        guard let node = document(item, reader: r) else { return }
        let key = YAMLNode(.scalar(name, .doubleQuoted), at: origin(item.key))
        r.nativeHost(YAMLNode.Entry(key: key, value: node), into: &inventory)
    }

    /// The YAML site whose `dns:` manages `zone` (an FQDN with trailing dot), if any.
    static func yamlZoneOwner(_ zone: String, in sites: [Site]) -> Site? {
        sites.first { $0.dns?.zone == zone }
    }

    private static func apiSite(_ domain: String, nameservers: APIItem?, records: APIItem?, yamlSites: [Site],
                                reader r: ConfigReader) -> Site? {
        guard let first = records ?? nameservers else { return nil }
        let at = origin(first.key)
        guard let normalized = normalizedDomain(domain), normalized == domain else {
            r.error(at, "invalid domain name \(Value.string(domain))")
            return nil
        }
        if let owner = yamlZoneOwner(domain + ".", in: yamlSites), let dns = owner.dns {
            r.bag.warning(at, "zone `\(domain).` written over the API is ignored: site `\(owner.name)` manages it at \(dns.location)")
            return nil
        }
        if let n = nameservers, let d = records, n.provider != d.provider {
            r.error(origin(n.key), "the nameservers of `\(domain)` name provider `\(n.provider ?? "")` but its records name `\(d.provider ?? "")`")
            return nil
        }
        guard let provider = first.provider else {
            r.error(at, "zone `\(domain).` written over the API has no DNS provider")
            return nil
        }
        // The synthetic `dns:` mapping: the provider, then the documents' own entries (with their own locations).
        var entries = [YAMLNode.Entry(key: YAMLNode(.scalar("provider", .plain), at: at),
                                      value: YAMLNode(.scalar(provider, .doubleQuoted), at: at))]
        if let records, let doc = document(records, reader: r),
           let f = r.fields(doc, "the DNS records of `\(domain)`", allowed: ["ttl", "records"]) {
            for key in ["ttl", "records"] { if let e = f.entry(key) { entries.append(e) } }
        }
        if let nameservers, let doc = document(nameservers, reader: r),
           let f = r.fields(doc, "the nameservers of `\(domain)`", allowed: ["nameservers"], required: ["nameservers"]),
           let e = f.entry("nameservers") {
            entries.append(e)
        }
        guard let dns = r.dns(YAMLNode(.mapping(entries), at: at), domain: domain) else { return nil }
        return Site(name: domain, domain: domain, provider: nil, machines: [], nginx: nil, haproxy: nil, units: [], dns: dns,
                    walk: nil, location: at, nameLocation: at)
    }

    /// A domain as the API and sites take it: lowercased, without trailing dot, valid (the check `domain:` gets in a
    /// site); nil when it is not a valid domain name.
    public static func normalizedDomain(_ text: String) -> String? { DNSPresentation.normalizedDomain(text) }

    /// Where YAML defines what the API item `key` would define, if it does: the host's entry in `inventory/`, or the
    /// `dns:` section of the site that manages the zone. What YAML defines is read-only over the API.
    public func yamlOwner(of key: APIItemKey) -> SourceLocation? {
        switch key.kind {
        case .host:
            guard let host = inventory.hosts[key.name], !host.location.isAPI else { return nil }
            return host.location
        case .nameservers, .records:
            return Self.yamlZoneOwner(key.name + ".", in: sites)?.dns?.location
        case .release:
            return nil
        }
    }

    /// The DNS-only site the API made for `domain`, if any.
    public func apiSite(domain: String) -> Site? { apiSites.first { $0.domain == domain } }

    /// Reads walk settings (`every`, `depth`, `max_pages`, `allow`, `start`) from a mapping node with the same reader
    /// as a site's `walk:`; returns the settings, or the problems found.
    public static func walkSpec(_ node: YAMLNode, domain: String) -> (spec: WalkSpec?, diagnostics: [Diagnostic]) {
        let r = ConfigReader(root: ".", onDisk: false)
        let spec = r.walk(node, domain: domain)
        return (r.bag.hasErrors ? nil : spec, r.bag.all)
    }
}

extension Project {
    /// A record owner name as the reader makes it (`@` is the apex, relative names get the zone appended, lowercased
    /// FQDN with trailing dot); nil when the name is invalid or outside `zone`.
    public static func recordOwner(_ name: String, zone: String) -> String? {
        if case .ok(let fqdn) = DNSNormalizer.owner(name, zone: zone) { return fqdn }
        return nil
    }

    /// The inventory providers that can serve DNS (powerdns, digitalocean, aws), sorted by name.
    public var dnsProviders: [String] {
        inventory.providers.values.filter { ["powerdns", "digitalocean", "aws"].contains($0.type) }.map(\.name).sorted()
    }
}
