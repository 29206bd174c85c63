import OttoCore

/// What a write of API hosts may reach beyond the host itself, read from a full build: a host only changes the rest of
/// the project through the inventory groups it joins or leaves, and through YAML groups naming it.
///
/// None of it depends on API hosts (sites and YAML groups come from YAML, zone sites from zone items), so it stays true
/// for every snapshot patched from the build it was read from.
struct HostWriteIndex: Sendable, Equatable {
    /// The machine group names of every site (YAML and API): a host joining or leaving one of them changes that site's
    /// machines, hence its validation and expansion.
    let siteGroups: Set<String>
    /// Groups YAML declares: their members' order and their location come from YAML, so they are not patched.
    let yamlGroups: Set<String>
    /// Every member of a YAML group: defining or removing one of them changes the "not defined in inventory" check.
    let yamlMembers: Set<String>

    init(project: Project) {
        siteGroups = Set((project.sites + project.apiSites).flatMap { $0.machines.map(\.name) })
        var yamlGroups = Set<String>(), yamlMembers = Set<String>()
        for (group, members) in project.inventory.groups where project.inventory.groupLocations[group]?.isAPI != true {
            yamlGroups.insert(group)
            yamlMembers.formUnion(members)
        }
        self.yamlGroups = yamlGroups
        self.yamlMembers = yamlMembers
    }
}

/// API host writes applied in place to one copy of a snapshot's parts, so the writes of a batch cost what they change,
/// not a copy of the project each: every host item of a write is read alone, with the reader a full build uses, and
/// the inventory, the diagnostics and the host's answer are patched. Only writes of hosts that nothing but the
/// inventory reads can be patched (see ``HostWriteIndex``); anything else is built whole.
///
/// The snapshot it makes equals the full build of the same files and items (the tests compare both over many random
/// edits); only the order of diagnostics of different items may differ.
struct HostPatch {
    /// The snapshot patched: files, the write index and the zones' answers are its.
    let base: DesiredStateSnapshot
    var items: [APIItemKey: APIItem]
    var project: Project
    var diagnostics: [Diagnostic]
    var rendered: [String: RenderedHost]
    var order: [String]

    /// A write read and checked, ready to be applied: each host alone, and what the reader said of it.
    struct Prepared {
        fileprivate let put: [APIItem]
        fileprivate let remove: [APIItemKey]
        fileprivate let hosts: [(key: APIItemKey, alone: Inventory, said: [Diagnostic])]
        /// The errors the write's hosts hold (the only errors a host patch can add).
        var errors: [Diagnostic] { hosts.flatMap { $0.said.filter { $0.severity == .error } } }
    }

    init(_ base: DesiredStateSnapshot) {
        self.base = base
        items = base.items
        project = base.project
        diagnostics = base.diagnostics
        rendered = base.renderedHosts
        order = base.hostOrder
    }

    /// Reads the write's host items alone; nil when the write cannot be patched (an item that is not a host, a key
    /// twice, a host YAML defines or names, a group a site uses or YAML declares, before or after the write).
    func prepare(put: [APIItem], remove: [APIItemKey]) -> Prepared? {
        let keys = put.map(\.key) + remove
        guard !keys.isEmpty, keys.allSatisfy({ $0.kind == .host }), Set(keys).count == keys.count else { return nil }
        let written = Dictionary(uniqueKeysWithValues: put.map { ($0.key, $0) })
        let index = base.writeIndex
        var hosts: [(key: APIItemKey, alone: Inventory, said: [Diagnostic])] = []
        for key in keys {
            let name = key.name
            if let old = project.inventory.hosts[name], !old.location.isAPI { return nil }  // YAML's: the write is refused anyway
            if index.yamlMembers.contains(name) { return nil }
            var alone = Inventory()
            let reader = ConfigReader(root: base.files.root, onDisk: base.files.onDisk)
            if let item = written[key] { Project.mergeHost(item, into: &alone, reader: reader) }
            let touched = Set(project.inventory.hosts[name]?.groups ?? []).union(alone.groups.keys)
            guard touched.isDisjoint(with: index.siteGroups), touched.isDisjoint(with: index.yamlGroups) else { return nil }
            hosts.append((key, alone, reader.bag.all))
        }
        return Prepared(put: put, remove: remove, hosts: hosts)
    }

    /// Applies a write `prepare` read (against this patch as it was then).
    mutating func apply(_ write: Prepared) {
        for key in write.remove { items[key] = nil }
        for item in write.put { items[item.key] = item }
        for (key, alone, said) in write.hosts {
            let name = key.name
            let before = Set(project.inventory.hosts[name]?.groups ?? [])
            let after = Set(alone.groups.keys)
            project.inventory.hosts[name] = alone.hosts[name]
            // API-only groups hold API hosts in the order a full build merges them (by item key), and are declared where
            // their first member is.
            for group in before.symmetricDifference(after) {
                var members = project.inventory.groups[group] ?? []
                members.removeAll { $0 == name }
                if after.contains(group) {
                    let at = members.firstIndex { key < APIItemKey(.host, $0) } ?? members.count
                    members.insert(name, at: at)
                }
                if let first = members.first, let location = project.inventory.hosts[first]?.location {
                    project.inventory.groups[group] = members
                    project.inventory.groupLocations[group] = location
                } else {
                    project.inventory.groups[group] = nil
                    project.inventory.groupLocations[group] = nil
                }
            }
            diagnostics.removeAll { $0.location?.file == key.file }
            project.warnings.removeAll { $0.location?.file == key.file }
            diagnostics.append(contentsOf: said)
            project.warnings.append(contentsOf: said.filter { $0.severity == .warning })
            render(name, problems: said.filter { $0.location?.file == key.file }.map(\.description))
        }
    }

    /// Renders host `name`'s answer again (or drops it when there is neither a host nor an item).
    private mutating func render(_ name: String, problems: [String]) {
        let key = APIItemKey(.host, name)
        let host = project.inventory.hosts[name], item = items[key]
        var (at, end) = (0, order.count)  // the first name not below `name`
        while at < end {
            let mid = (at + end) / 2
            if order[mid] < name { at = mid + 1 } else { end = mid }
        }
        let rendering = ItemRendering(project: project, items: items, problems: problems.isEmpty ? [:] : [key.file: problems])
        if host != nil || item != nil, let json = rendering.host(name) {
            rendered[name] = RenderedHost(host: host, item: item, problems: problems, body: json.encoded)
            if at == order.count || order[at] != name { order.insert(name, at: at) }
        } else {
            rendered[name] = nil
            if at < order.count, order[at] == name { order.remove(at: at) }
        }
    }

    /// The snapshot of the patch as it is now.
    var snapshot: DesiredStateSnapshot { DesiredStateSnapshot(self) }
}

extension DesiredStateSnapshot {
    /// This snapshot with `put` written and `remove` deleted, patched (see ``HostPatch``); nil when the change cannot be
    /// patched: then build it whole.
    func patchingHosts(put: [APIItem], remove: [APIItemKey]) -> DesiredStateSnapshot? {
        var patch = HostPatch(self)
        guard let write = patch.prepare(put: put, remove: remove) else { return nil }
        patch.apply(write)
        return patch.snapshot
    }
}

/// What a write that went in a batch answers with: the batch's snapshot (with every write of the batch), except that the
/// hosts the write wrote are shown as it left them.
struct BatchWriteView: DesiredStateView {
    /// The snapshot published after the batch.
    let state: DesiredStateSnapshot
    /// The written hosts' bodies after this write (nil: none, the host was deleted or refused by the reader).
    let written: [String: [UInt8]?]

    var inventoryBody: [UInt8] { state.inventoryBody }
    func hostBody(_ name: String) -> [UInt8]? {
        if let body = written[name] { return body }
        return state.hostBody(name)
    }
    func nameserversBody(_ domain: String) -> [UInt8]? { state.nameserversBody(domain) }
    func recordsBody(_ domain: String) -> [UInt8]? { state.recordsBody(domain) }
    var resources: [Resource] { state.resources }
    func site(named name: String) -> SiteSummary? { state.site(named: name) }
    func releaseSites(app: String, site: String?) throws(DesiredStateError) -> [String] { try state.releaseSites(app: app, site: site) }
    var environmentNames: [String] { state.environmentNames }
}
