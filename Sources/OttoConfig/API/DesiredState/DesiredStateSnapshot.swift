import Foundation
import OttoCore
import Synchronization

/// The desired state at one moment: the YAML files, the API items and the project built from both, with every read
/// answer of `/inv` and `/dom` already encoded, so a GET is a dictionary lookup and a copy of the bytes.
public final class DesiredStateSnapshot: DesiredStateView {
    /// The parsed YAML files it was built from.
    public let files: ProjectFiles
    /// The API items it was built from, by key.
    public let items: [APIItemKey: APIItem]
    /// The project (YAML and API items merged); meaningful even when `diagnostics` hold errors.
    public let project: Project
    /// Every diagnostic of the build.
    public let diagnostics: [Diagnostic]

    /// `GET /inv/{item}` bodies by host name, with what each was rendered from (so the next snapshot renders only the
    /// hosts that changed again).
    let renderedHosts: [String: RenderedHost]
    /// The names of `renderedHosts`, sorted: the order of `GET /inv`.
    let hostOrder: [String]
    /// `GET /inv` body, made at its first read (a snapshot that only answers a write is never listed).
    private let inventoryCache = Mutex<[UInt8]?>(nil)
    /// `GET /dom/ns/{domain}` bodies by domain.
    let nameserverBodies: [String: [UInt8]]
    /// `GET /dom/dns/{domain}` bodies by domain.
    let recordBodies: [String: [UInt8]]
    /// What a host write may reach, for writes patched from this snapshot (``patchingHosts(put:remove:)``).
    let writeIndex: HostWriteIndex

    /// Builds the project from `files` and `items` and renders every answer (reusing `previous`'s bodies of hosts
    /// that did not change).
    convenience init(files: ProjectFiles, items: [APIItemKey: APIItem], previous: DesiredStateSnapshot? = nil) {
        let sorted = items.values.sorted { a, b in
            a.key.kind == b.key.kind ? a.key.name < b.key.name : a.key.kind.rawValue < b.key.kind.rawValue
        }
        let (project, diagnostics) = files.build(api: sorted)
        self.init(files: files, items: items, project: project, diagnostics: diagnostics, previous: previous)
    }

    init(files: ProjectFiles, items: [APIItemKey: APIItem], project: Project, diagnostics: [Diagnostic],
         previous: DesiredStateSnapshot? = nil, index: HostWriteIndex? = nil) {
        self.files = files
        writeIndex = index ?? HostWriteIndex(project: project)
        self.items = items
        self.project = project
        self.diagnostics = diagnostics
        var problems: [String: [String]] = [:]
        for d in diagnostics { if let file = d.location?.file, file.hasPrefix(SourceLocation.apiPrefix) { problems[file, default: []].append(d.description) } }
        let rendering = ItemRendering(project: project, items: items, problems: problems)
        var rendered: [String: RenderedHost] = [:]
        for name in Set(project.inventory.hosts.keys).union(items.keys.filter { $0.kind == .host }.map(\.name)) {
            let host = project.inventory.hosts[name], item = items[APIItemKey(.host, name)]
            let itemProblems = problems[APIItemKey(.host, name).file] ?? []
            if let old = previous?.renderedHosts[name], old.host == host, old.item == item, old.problems == itemProblems {
                rendered[name] = old
            } else if let json = rendering.host(name) {
                rendered[name] = RenderedHost(host: host, item: item, problems: itemProblems, body: json.encoded)
            }
        }
        renderedHosts = rendered
        hostOrder = rendered.keys.sorted()
        var ns: [String: [UInt8]] = [:], dns: [String: [UInt8]] = [:]
        var domains = Set(project.sites.compactMap { $0.dns.map { String($0.zone.dropLast()) } })
        domains.formUnion(items.keys.filter { $0.kind != .host }.map(\.name))
        for domain in domains {
            if let json = rendering.nameservers(domain) { ns[domain] = json.encoded }
            if let json = rendering.records(domain) { dns[domain] = json.encoded }
        }
        nameserverBodies = ns
        recordBodies = dns
    }

    /// A snapshot made of `patch`'s parts: its hosts patched in place, everything else `patch.base`'s.
    init(_ patch: HostPatch) {
        files = patch.base.files
        items = patch.items
        project = patch.project
        diagnostics = patch.diagnostics
        writeIndex = patch.base.writeIndex
        renderedHosts = patch.rendered
        hostOrder = patch.order
        nameserverBodies = patch.base.nameserverBodies
        recordBodies = patch.base.recordBodies
    }

    /// `GET /inv` body: every host's body, by name.
    public var inventoryBody: [UInt8] {
        inventoryCache.withLock { cached in
            if let cached { return cached }
            var list = Array("{\"items\":[".utf8)
            list.reserveCapacity(hostOrder.reduce(16) { $0 + (renderedHosts[$1]?.body.count ?? 0) + 1 })
            for (i, name) in hostOrder.enumerated() {
                if i > 0 { list.append(UInt8(ascii: ",")) }
                list.append(contentsOf: renderedHosts[name]!.body)
            }
            list.append(contentsOf: Array("]}".utf8))
            cached = list
            return list
        }
    }

    /// `GET /inv/{item}`'s body for host `name`.
    public func hostBody(_ name: String) -> [UInt8]? { renderedHosts[name]?.body }

    /// `GET /dom/ns/{domain}`'s body.
    public func nameserversBody(_ domain: String) -> [UInt8]? { nameserverBodies[domain] }

    /// `GET /dom/dns/{domain}`'s body.
    public func recordsBody(_ domain: String) -> [UInt8]? { recordBodies[domain] }

    /// The project's resources (YAML and API items merged).
    public var resources: [Resource] { project.resources }

    /// The YAML site `name`, nil when there is none.
    public func site(named name: String) -> SiteSummary? {
        guard let site = project.sites.first(where: { $0.name == name }) else { return nil }
        return SiteSummary(name: site.name, domain: site.domain, walk: site.walk)
    }

    /// The YAML sites declaring app `app` (see ``Project/releaseSites(app:site:)``).
    public var environmentNames: [String] { project.environmentNames }

    public func releaseSites(app: String, site: String?) throws(DesiredStateError) -> [String] {
        do {
            return try project.releaseSites(app: app, site: site).map(\.name)
        } catch let error as OttoError {
            throw .notFound(error.message)
        } catch {
            throw .notFound("\(error)")
        }
    }

    /// Error diagnostics located in `files` (`api:/inv/web1`, ...).
    func errors(in files: Set<String>) -> [Diagnostic] {
        diagnostics.filter { $0.severity == .error && $0.location.map { files.contains($0.file) } == true }
    }
}

/// One rendered `GET /inv/{item}` body and what it was rendered from.
struct RenderedHost: Sendable {
    let host: Host?
    let item: APIItem?
    let problems: [String]
    let body: [UInt8]
}

/// Renders hosts and zones, from YAML or the API, as the API shows them.
struct ItemRendering {
    let project: Project
    let items: [APIItemKey: APIItem]
    /// Diagnostics by API item file.
    let problems: [String: [String]]

    /// Problems located in one API item's document.
    func problems(_ key: APIItemKey) -> JSON? {
        problems[key.file].map { .strings($0) }
    }

    func host(_ name: String) -> JSON? {
        let key = APIItemKey(.host, name)
        let item = items[key]
        guard let host = project.inventory.hosts[name] else {
            // An API item the reader rejected (YAML changed under it): shown with its problems so it can be fixed or deleted.
            guard let item else { return nil }
            return .fields(["name": .string(name), "source": .string("api"), "location": .string(key.file + ":1:1"),
                            "updated_at": .date(item.updatedAt), "problems": problems(key) ?? .strings([])])
        }
        let api = host.location.isAPI
        return .fields([
            "name": .string(name), "source": .string(api ? "api" : "yaml"), "location": .string(host.location.description),
            "address": .string(host.address), "port": .int(host.port), "user": .string(host.user),
            "key": host.key.map { .string($0) }, "groups": .strings(host.groups),
            "vars": JSON(Value.map(host.vars)),
            "updated_at": api ? item.map { .date($0.updatedAt) } : nil,
            "problems": api ? problems(key) : nil,
        ])
    }

    /// The site (YAML or API) whose `dns:` manages `domain`'s zone.
    func zoneSite(_ domain: String) -> Site? {
        let zone = domain + "."
        return project.sites.first { $0.dns?.zone == zone } ?? project.apiSite(domain: domain)
    }

    func zoneFields(_ domain: String, site: Site?, key: APIItemKey) -> [(String, JSON)] {
        let api = site.map { $0.location.isAPI } ?? true
        var out: [(String, JSON)] = [("domain", .string(domain)), ("zone", .string(domain + ".")),
                                     ("source", .string(api ? "api" : "yaml"))]
        if let dns = site?.dns {
            out.append(("location", .string((api ? SourceLocation(file: key.file, line: 1, column: 1) : dns.location).description)))
            out.append(("provider", .string(dns.provider.value)))
        } else if let item = items[key] {
            out.append(("location", .string(key.file + ":1:1")))
            out.append(("provider", .string(item.provider)))
        }
        if api, let item = items[key] { out.append(("updated_at", .date(item.updatedAt))) }
        if api, let p = problems(key) { out.append(("problems", p)) }
        return out
    }

    func nameservers(_ domain: String) -> JSON? {
        let key = APIItemKey(.nameservers, domain)
        let site = zoneSite(domain)
        if let site, !site.location.isAPI, let dns = site.dns {
            return .object(zoneFields(domain, site: site, key: key) + [("nameservers", .strings(dns.nameservers))])
        }
        guard items[key] != nil else { return nil }
        return .object(zoneFields(domain, site: site, key: key) + [("nameservers", .strings(site?.dns?.nameservers ?? []))])
    }

    func records(_ domain: String) -> JSON? {
        let key = APIItemKey(.records, domain)
        let site = zoneSite(domain)
        let yaml = site.map { !$0.location.isAPI } ?? false
        guard yaml || items[key] != nil else { return nil }
        let dns = site?.dns
        let records: [JSON] = (dns?.records ?? []).map { r in
            var fields: [(String, JSON)] = [("name", .string(r.label)), ("fqdn", .string(r.fqdn)), ("type", .string(r.type.rawValue)),
                                            ("ttl", .int(r.ttl))]
            switch r.content {
            case .values(let values): fields.append(("values", .strings(values)))
            case .machines(let group): fields.append(("to", .string(group.value)))
            }
            return .object(fields)
        }
        var fields = zoneFields(domain, site: site, key: key)
        if let dns { fields.append(("ttl", .int(dns.ttl))) }
        return .object(fields + [("records", .array(records))])
    }
}
