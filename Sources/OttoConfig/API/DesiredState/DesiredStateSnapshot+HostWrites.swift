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

extension DesiredStateSnapshot {
    /// This snapshot with `put` written and `remove` deleted, patched rather than rebuilt when every item of the change
    /// is a host that nothing but the inventory reads (see ``HostWriteIndex``): each host item is read alone, with the
    /// reader a full build uses, and the inventory, the diagnostics and the rendered answers are patched. Nil when the
    /// change may reach further (a zone, a release pin, a group a site uses or YAML declares): then build it whole.
    ///
    /// The result equals the full build of `files` and `items` (the tests compare both over many random edits); only
    /// the order of diagnostics across different items may differ.
    func patchingHosts(put: [APIItem], remove: [APIItemKey], items: [APIItemKey: APIItem]) -> DesiredStateSnapshot? {
        let keys = put.map(\.key) + remove
        guard !keys.isEmpty, keys.allSatisfy({ $0.kind == .host }), Set(keys).count == keys.count else { return nil }
        var inventory = project.inventory
        var diagnostics = self.diagnostics
        var warnings = project.warnings
        let written = Dictionary(put.map { ($0.key, $0) }, uniquingKeysWith: { _, new in new })
        for key in keys {
            let name = key.name
            if let old = inventory.hosts[name], !old.location.isAPI { return nil }  // YAML's: the write is refused anyway
            if writeIndex.yamlMembers.contains(name) { return nil }
            // The host alone, read as a full build reads it; its groups are the ones it joins.
            var alone = Inventory()
            let reader = ConfigReader(root: files.root, onDisk: files.onDisk)
            if let item = written[key] { Project.mergeHost(item, into: &alone, reader: reader) }
            let before = Set(inventory.hosts[name]?.groups ?? [])
            let after = Set(alone.groups.keys)
            let touched = before.union(after)
            guard touched.isDisjoint(with: writeIndex.siteGroups), touched.isDisjoint(with: writeIndex.yamlGroups) else { return nil }
            inventory.hosts[name] = alone.hosts[name]
            // API-only groups hold API hosts in the order a full build merges them (by item key), and are declared where
            // their first member is.
            for group in touched where before.contains(group) != after.contains(group) {
                var members = inventory.groups[group] ?? []
                members.removeAll { $0 == name }
                if after.contains(group) {
                    let at = members.firstIndex { APIItemKey(.host, name) < APIItemKey(.host, $0) } ?? members.count
                    members.insert(name, at: at)
                }
                if let first = members.first, let location = inventory.hosts[first]?.location {
                    inventory.groups[group] = members
                    inventory.groupLocations[group] = location
                } else {
                    inventory.groups[group] = nil
                    inventory.groupLocations[group] = nil
                }
            }
            diagnostics.removeAll { $0.location?.file == key.file }
            warnings.removeAll { $0.location?.file == key.file }
            diagnostics.append(contentsOf: reader.bag.all)
            warnings.append(contentsOf: reader.bag.all.filter { $0.severity == .warning })
        }
        var patched = project
        patched.inventory = inventory
        patched.warnings = warnings
        return DesiredStateSnapshot(patching: self, changed: Set(keys.map(\.name)), items: items, project: patched, diagnostics: diagnostics)
    }
}
