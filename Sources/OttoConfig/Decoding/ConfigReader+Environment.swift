import OttoCore

extension ConfigReader {
    /// Decodes `environments/NAME.yml`; `fileName` is NAME, which `environment:` must repeat.
    func environment(_ root: YAMLNode, fileName: String) -> EnvironmentSpec? {
        guard let f = fields(root, "an environment", allowed: ["environment", "state", "vars", "providers", "sites"],
                             required: ["environment"]) else { return nil }
        guard let name = self.name(f["environment"], "environment name") else { return nil }
        if name != fileName {
            error(f["environment"]?.location, "environment `\(name)` is in environments/\(fileName).yml; "
                  + "name the file environments/\(name).yml or write `environment: \(fileName)`")
            return nil
        }
        var state = EnvironmentSpec.defaultState(name)
        if let node = f["state"], let text = string(node) {
            if text.allSatisfy(\.isWhitespace) {
                error(node.location, "state is empty; give a state URL (sqlite:PATH) or leave `state:` out")
            } else {
                state = text
            }
        }
        var vars: YAMLNode?
        if let node = f["vars"] {
            if node.entries != nil { vars = node } else if !node.isNull { error(node.location, "expected vars (a mapping), got \(node.kindDescription)") }
        }
        func named(_ key: String, _ what: String) -> [YAMLNode.Entry] {
            guard let node = f[key], !node.isNull else { return [] }
            guard let entries = node.entries else {
                error(node.location, "expected \(key) (a mapping of \(what) name to what changes in this environment), got \(node.kindDescription)")
                return []
            }
            return entries.filter { entry in
                guard let key = entry.key.text, Names.isSimpleName(key) else {
                    error(entry.key.location, "invalid \(what) name \(entry.key.text.map { Value.string($0).description } ?? entry.key.kindDescription)")
                    return false
                }
                return true
            }
        }
        return EnvironmentSpec(name: name, state: state, vars: vars, providers: named("providers", "provider"),
                               sites: named("sites", "site"), location: root.location)
    }
}
