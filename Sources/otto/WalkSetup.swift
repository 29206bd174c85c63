import Foundation
import OttoConfig
import OttoCore
import OttoHTTP
import OttoState
import OttoWalker

/// Turns a site's `walk:` settings and otto's state into a walker configuration: shared by `otto walk` and
/// `otto serve` (whose scheduler calls it before every walk, so pins follow the state).
///
/// Pins (curl's `--resolve`): otto walks what it manages even when the site's domain does not resolve (yet) from
/// here, and walks the machines it manages rather than whatever a resolver cache says. For the start URL's host and
/// each `allow` host inside the site's zone, in this order:
/// 1. the A records (else AAAA) otto's state holds for that name in the site's zone (`dns_record.SITE.NAME.A`),
///    following CNAMEs that stay inside the zone;
/// 2. for the start host only, when no record is known: the address of the first machine of the `haproxy.on`
///    group in the state, else of the first `nginx.on` machine.
/// Hosts with nothing in the state (and every other host) go to the system resolver. Each pin covers the start
/// URL's port and ports 80 and 443. Pins given by hand (`otto walk --resolve`) win over these.
enum WalkSetup {
    /// A pin and where it came from (for `otto walk` to say).
    struct Pin: Sendable {
        var entry: ResolveEntry
        /// e.g. `dns_record.demo.@.A in otto's state`.
        var source: String
    }

    /// The site's `walk:` settings, or the defaults a site without `walk:` gets.
    static func spec(_ site: Site) -> (every: Duration, depth: Int, maxPages: Int, allow: [String], start: String) {
        if let w = site.walk { return (w.every.duration, w.depth, w.maxPages, w.allow, w.start) }
        return (.seconds(300), 3, 1000, [], "http://\(site.domain)/")
    }

    /// The walker configuration for `site`, its interval, and the pins used (from the state unless `pinFromState`
    /// is false; `manualPins` first).
    static func configuration(for site: Site, state: [ResourceAddress: ResourceRecord], pinFromState: Bool = true,
                              manualPins: [ResolveEntry] = []) -> (configuration: WalkConfiguration, every: Duration, pins: [Pin]) {
        let s = spec(site)
        var pins = manualPins.map { Pin(entry: $0, source: "--resolve") }
        if pinFromState, let start = WalkURL(s.start) {
            let taken = Set(pins.map { "\($0.entry.host):\($0.entry.port)" })
            pins += statePins(for: site, start: start, allow: s.allow, state: state)
                .filter { !taken.contains("\($0.entry.host):\($0.entry.port)") }
        }
        let configuration = WalkConfiguration(start: s.start, depth: s.depth, maxPages: s.maxPages, allow: s.allow,
                                              resolve: pins.map(\.entry))
        return (configuration, s.every, pins)
    }

    /// The walk function for `otto serve`'s `WalkScheduler`: before each walk it re-reads the state (off the
    /// cooperative pool) and pins the walk's hosts from it, so walks follow machines and records as they change.
    /// Pins already in the configuration (given over HTTP) win.
    /// `project` gives the latest configuration (`otto serve` reloads it for every scheduled run).
    static func scheduledWalk(project: @escaping @Sendable () async -> Project, store: any StateStore) -> WalkScheduler.Walk {
        return { siteName, configuration in
            var c = configuration
            if let site = await project().sites.first(where: { $0.name == siteName }), let start = WalkURL(c.start) {
                let records = try await store.snapshot().records
                let taken = Set(c.resolve.map { "\($0.host):\($0.port)" })
                c.resolve += statePins(for: site, start: start, allow: c.allow, state: records)
                    .map(\.entry).filter { !taken.contains("\($0.host):\($0.port)") }
            }
            return try await SiteWalker().walk(site: siteName, configuration: c)
        }
    }

    /// Brings the `config` walkers in line with `project`'s `walk:` settings after an edit: new sites are scheduled,
    /// changed settings replace the walker (a walk in flight finishes first), sites that lost `walk:` are removed.
    /// Walkers scheduled over HTTP are left alone. Returns the sites it changed.
    @discardableResult
    static func follow(_ project: Project, on scheduler: WalkScheduler) async -> [String] {
        let current = await scheduler.scheduled()
        var changed: [String] = []
        let wanted = Dictionary(project.sites.filter { $0.walk != nil }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for walker in current where walker.source == "config" && wanted[walker.site] == nil {
            if await scheduler.remove(site: walker.site) { changed.append(walker.site) }
        }
        for (name, site) in wanted.sorted(by: { $0.key < $1.key }) {
            let setup = configuration(for: site, state: [:], pinFromState: false)
            if let existing = current.first(where: { $0.site == name }) {
                if existing.source != "config" { continue }
                if existing.every == setup.every && existing.configuration == setup.configuration { continue }
            }
            if (try? await scheduler.schedule(site: name, every: setup.every, configuration: setup.configuration, source: "config")) != nil {
                changed.append(name)
            }
        }
        return changed
    }

    /// Schedules a walker for every site with `walk:` (source `config`), first walks spread over `stagger` so a
    /// server start does not walk every site at once. Returns the sites scheduled.
    @discardableResult
    static func scheduleConfiguredSites(_ project: Project, on scheduler: WalkScheduler, stagger: Duration = .seconds(30)) async throws -> [String] {
        let sites = project.sites.filter { $0.walk != nil }.sorted { $0.name < $1.name }
        for (i, site) in sites.enumerated() {
            let setup = configuration(for: site, state: [:], pinFromState: false)
            let offset = sites.count > 1 ? stagger * (Double(i) / Double(sites.count)) : .zero
            try await scheduler.schedule(site: site.name, every: setup.every, configuration: setup.configuration, source: "config",
                                         firstRunIn: offset)
        }
        return sites.map(\.name)
    }

    /// Pins from otto's state for the start host and the allowed hosts of `site` (see the type's documentation).
    static func statePins(for site: Site, start: WalkURL, allow: [String], state: [ResourceAddress: ResourceRecord]) -> [Pin] {
        let zone = (site.dns?.zone ?? site.domain + ".").lowercased()
        let apex = String(zone.dropLast())
        var out: [Pin] = []
        var hosts = [start.host]
        for host in allow where !hosts.contains(host) { hosts.append(host) }
        for host in hosts {
            var found = recordAddresses(host: host, site: site.name, apex: apex, zone: zone, state: state)
            if found == nil, host == start.host { found = machineAddresses(site, state: state) }
            guard let (addresses, source) = found, !addresses.isEmpty else { continue }
            var ports = [80, 443]
            if host == start.host, !ports.contains(start.effectivePort) { ports.insert(start.effectivePort, at: 0) }
            for port in ports {
                out.append(Pin(entry: ResolveEntry(host: host, port: port, addresses: addresses), source: source))
            }
        }
        return out
    }

    /// The A (else AAAA) addresses of `host` in the site's zone per the state, following in-zone CNAMEs.
    private static func recordAddresses(host: String, site: String, apex: String, zone: String,
                                        state: [ResourceAddress: ResourceRecord]) -> ([String], String)? {
        var name = host
        for _ in 0..<8 {
            let label: String
            if name == apex { label = "@" } else if name.hasSuffix("." + apex) { label = String(name.dropLast(apex.count + 1)) } else { return nil }
            for type in ["A", "AAAA"] {
                let address = ResourceAddress(kind: "dns_record", name: "\(site).\(label).\(type)")
                let values = state[address]?.attributes["records"]?.listValue?.compactMap(\.stringValue) ?? []
                let addresses = values.filter(ResolveEntry.isAddress)
                if !addresses.isEmpty { return (addresses, "\(address) in otto's state") }
            }
            let cname = ResourceAddress(kind: "dns_record", name: "\(site).\(label).CNAME")
            guard let target = state[cname]?.attributes["records"]?.listValue?.first?.stringValue?.lowercased() else { return nil }
            name = target.hasSuffix(".") ? String(target.dropLast()) : target
        }
        return nil
    }

    /// The address of the site's load balancer machine (haproxy `on:`), else of its first nginx machine, per the state.
    private static func machineAddresses(_ site: Site, state: [ResourceAddress: ResourceRecord]) -> ([String], String)? {
        for group in [site.haproxy?.on.value, site.nginx?.on.value].compactMap({ $0 }) {
            let count = site.group(group)?.count ?? 1
            for i in 0..<count {
                let address = ResourceAddress(kind: "machine", name: "\(site.name).\(group)[\(i)]")
                let attributes = state[address]?.attributes ?? [:]
                if let ip = (attributes["ipv4"] ?? attributes["address"])?.stringValue, ResolveEntry.isAddress(ip) {
                    return ([ip], "\(address) in otto's state")
                }
            }
        }
        return nil
    }
}
