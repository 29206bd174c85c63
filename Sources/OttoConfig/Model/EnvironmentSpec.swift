import OttoCore

/// One `environments/NAME.yml`: how the project's sites look in one environment (`staging`, `production`, …).
///
/// The sites are defined once in `sites/`; an environment overlays them (machine counts, providers, domain, vars, …),
/// adds its own inventory (the files in `environments/NAME/`, YAML or Ansible INI, read only for it), can override
/// providers (their settings, where secrets are read from), and keeps its own state.
public struct EnvironmentSpec: Sendable, Hashable {
    /// `environment:`, the file's name without `.yml` (`[a-z0-9-]+`).
    public var name: String
    /// `state:`: the state URL (default `sqlite:.otto/state.NAME.db`).
    public var state: String
    /// `vars:`: laid over every site's `vars:` (the environment's value wins).
    public var vars: YAMLNode?
    /// `providers:`: each entry laid over the inventory's provider of that name, or added when there is none.
    public var providers: [YAMLNode.Entry]
    /// `sites:`: each entry laid over the site of that name (`sites: { demo: { domain: staging.demo.test } }`).
    public var sites: [YAMLNode.Entry]
    /// Where the file's mapping starts.
    public var location: SourceLocation

    /// The state of environment `name` when its file names none.
    public static func defaultState(_ name: String) -> String { "sqlite:.otto/state.\(name).db" }

    /// The folder of environment files.
    public static let folder = "environments"

    /// The environment whose file is `environments/NAME.yml` (or `.yaml`), if `displayPath` is one.
    static func fileName(_ displayPath: String) -> String? {
        guard displayPath.hasPrefix(folder + "/") else { return nil }
        let rest = displayPath.dropFirst(folder.count + 1)
        guard !rest.contains("/") else { return nil }
        for suffix in [".yml", ".yaml"] where rest.hasSuffix(suffix) { return String(rest.dropLast(suffix.count)) }
        return nil
    }

    /// The environment whose inventory folder holds `displayPath` (`environments/NAME/hosts.ini`), if any.
    static func inventoryOwner(_ displayPath: String) -> String? {
        guard displayPath.hasPrefix(folder + "/") else { return nil }
        let parts = displayPath.dropFirst(folder.count + 1).split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 ? String(parts[0]) : nil
    }
}
