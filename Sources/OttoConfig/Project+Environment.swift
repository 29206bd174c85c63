import OttoCore

extension Project {
    /// The project's files as environment `name` sees them, and its spec: every `environments/*.yml` is checked; the
    /// chosen one's providers are laid over the inventory's, its sites over `sites/`, its vars over every site's vars,
    /// and its inventory folder (`environments/NAME/`) is read with `inventory/`; other environments' files are left
    /// out. A project without environments builds as it always has; one with them needs a choice (`--env`).
    static func files(_ files: [(String, [YAMLNode])], forEnvironment name: String?,
                      reader r: ConfigReader) -> (files: [(String, [YAMLNode])], environment: EnvironmentSpec?, names: [String]) {
        let (spec, names) = environment(name, in: files, reader: r)
        let kept = files.filter { path, _ in
            EnvironmentSpec.fileName(path) == nil && EnvironmentSpec.inventoryOwner(path).map { $0 == name } != false
        }
        guard let spec else { return (kept, nil, names) }
        return (overlay(kept, with: spec, reader: r), spec, names)
    }

    /// Every environment `files` define (each checked), and the one named `name`: an error when `name` is not one of
    /// them, or when the project has environments and `name` is nil.
    static func environment(_ name: String?, in files: [(String, [YAMLNode])],
                            reader r: ConfigReader) -> (spec: EnvironmentSpec?, names: [String]) {
        var specs: [String: EnvironmentSpec] = [:]
        for (path, documents) in files {
            guard let fileName = EnvironmentSpec.fileName(path), let document = documents.first else { continue }
            if documents.count > 1 { r.error(documents[1].location, "an environment file holds one environment") }
            if let spec = r.environment(document, fileName: fileName) { specs[spec.name] = spec }
        }
        let names = specs.keys.sorted()
        guard let name else {
            if !names.isEmpty {
                r.error(nil, "this project has environments (\(names.joined(separator: ", "))): choose one with --env NAME or OTTO_ENV")
            }
            return (nil, names)
        }
        guard let spec = specs[name] else {
            var message = names.isEmpty
                ? "no environment `\(name)`: this project defines none (environments/NAME.yml)"
                : "no environment `\(name)`; defined: \(names.joined(separator: ", "))"
            if let guess = EditDistance.closest(to: name, in: names) { message += "; did you mean `\(guess)`?" }
            r.error(nil, message)
            return (nil, names)
        }
        return (spec, names)
    }

    /// `files` with `spec`'s providers, sites and vars laid over them (see ``YAMLNode/overlaid(with:)``).
    private static func overlay(_ files: [(String, [YAMLNode])], with spec: EnvironmentSpec,
                                reader r: ConfigReader) -> [(String, [YAMLNode])] {
        var out = files
        var unplaced = spec.providers
        for (f, (path, documents)) in out.enumerated() where ProjectFiles.isInventory(path) {
            for (d, document) in documents.enumerated() {
                guard let top = document.entries, let p = top.firstIndex(where: { $0.key.text == "providers" }),
                      var providers = top[p].value.entries else { continue }
                var changed = false
                for (i, entry) in providers.enumerated() {
                    guard let j = unplaced.firstIndex(where: { $0.key.text == entry.key.text }) else { continue }
                    providers[i].value = entry.value.overlaid(with: unplaced.remove(at: j).value)
                    changed = true
                }
                guard changed else { continue }
                var entries = top
                entries[p].value = YAMLNode(.mapping(providers), at: top[p].value.location, tag: top[p].value.tag)
                out[f].1[d] = YAMLNode(.mapping(entries), at: document.location, tag: document.tag)
            }
        }
        if !unplaced.isEmpty {
            // Providers only this environment has: an inventory document of their own.
            let at = unplaced[0].key.location
            out.append(("\(EnvironmentSpec.folder)/\(spec.name)/providers",
                        [YAMLNode(.mapping([YAMLNode.Entry(key: YAMLNode(.scalar("providers", .plain), at: at),
                                                           value: YAMLNode(.mapping(unplaced), at: at))]), at: at)]))
        }
        var siteOverlays = spec.sites
        for (f, (path, documents)) in out.enumerated() where path.hasPrefix("sites/") {
            guard var document = documents.first, let siteName = document["site"]?.text else { continue }
            if let i = siteOverlays.firstIndex(where: { $0.key.text == siteName }) {
                let overlay = siteOverlays.remove(at: i)
                if let renamed = overlay.value.entries?.first(where: { $0.key.text == "site" }) {
                    r.error(renamed.key.location, "an environment cannot rename a site (it keeps its addresses in every environment); "
                            + "remove `site:` here")
                    continue
                }
                document = document.overlaid(with: overlay.value)
            }
            if let vars = spec.vars {
                let key = YAMLNode(.scalar("vars", .plain), at: vars.location)
                document = document.overlaid(with: YAMLNode(.mapping([YAMLNode.Entry(key: key, value: vars)]), at: vars.location))
            }
            out[f].1[0] = document
        }
        for overlay in siteOverlays {
            r.error(overlay.key.location, "environment `\(spec.name)` changes site `\(overlay.key.text ?? "")`, which no file in sites/ defines")
        }
        return out
    }
}
