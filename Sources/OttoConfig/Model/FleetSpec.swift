import OttoCore

/// `fleet:`: fleet units of a site. Without `provider:` otto itself places them on the site's machines (the groups
/// of `on:`, every group by default) and runs them as systemd units over SSH; with `provider:` (an inventory provider
/// of type `fleet`) they are submitted to that fleet cluster through its v1 API.
public struct FleetSpec: Sendable, Hashable {
    /// The fleet cluster to submit to, when given.
    public var provider: Located<String>?
    /// The machine groups that form the cluster (native scheduling); empty: every group of the site.
    public var on: [Located<String>] = []
    /// How long a machine may stay unreachable before its units move elsewhere (`lost_after`, default 2m).
    public var lostAfter: ConfigDuration = ConfigDuration(parsing: "2m")!
    /// The units, template instances already expanded.
    public var units: [FleetUnitSpec] = []
    /// Where `fleet:` is declared.
    public var location: SourceLocation
}

/// One fleet unit of a site: its name (a template's instance is named as such, `web@1.service`), its unit file and
/// its desired state.
public struct FleetUnitSpec: Sendable, Hashable {
    /// The unit's name.
    public var name: FleetUnitName
    /// The unit file (for an instance: its template's).
    public var file: FleetUnitFile
    /// The `[X-Fleet]` constraints, specifiers expanded for `name`.
    public var constraints: FleetConstraints
    /// `state:` (default `launched`).
    public var state: FleetUnitState
    /// Where the entry is declared.
    public var location: SourceLocation
}
