import OttoCore

private typealias U = AttributeName.FleetUnit
private typealias M = AttributeName.Machine

extension Project {
    /// The built-in provider that places fleet units on a site's machines and runs them over SSH.
    public static let fleetSchedulerProvider = "scheduler"

    /// `fleet_unit.SITE.NAME` for a unit placed on one machine; `fleet_unit.SITE.NAME[MACHINE]` for a `Global` unit's
    /// copy on one machine.
    static func fleetUnitAddress(_ site: String, _ unit: String, machine: String? = nil) -> ResourceAddress {
        ResourceAddress(kind: "fleet_unit", name: "\(site).\(unit)" + (machine.map { "[\($0)]" } ?? ""))
    }

    /// The machines of a site's fleet: the groups of `fleet.on` (every group by default), each machine with its name,
    /// address, labels and `(group, index)`.
    func fleetMachines(_ site: Site) -> [(name: String, address: ResourceAddress, group: MachineGroup, labels: [String: String])] {
        guard let spec = site.fleet else { return [] }
        let groups = spec.on.isEmpty ? site.machines : spec.on.compactMap { site.group($0.value) }
        return groups.flatMap { g in
            (0..<g.count).map { i in (site.machineName(g.name, i), Self.machineAddress(site.name, g.name, i), g, g.labels) }
        }
    }

    /// A unit file as fleet's option list.
    static func fleetOptions(_ file: FleetUnitFile) -> Value {
        .list(file.options.map { .map([U.optionSection: .string($0.section), U.optionName: .string($0.name), U.optionValue: .string($0.value)]) })
    }

    /// Fleet units: submitted to a fleet cluster (`provider:`), or one resource per unit for otto's scheduler (a
    /// `Global` unit: one per machine whose labels match), each with every machine it may go to.
    func expandFleet(_ site: Site, into out: inout [Resource]) {
        guard let spec = site.fleet else { return }
        if let provider = spec.provider {
            for u in spec.units {
                out.append(Resource(address: Self.fleetUnitAddress(site.name, u.name.full), provider: provider.value,
                                    attributes: [U.name: .string(u.name.full), U.options: Self.fleetOptions(u.file),
                                                 U.desiredState: .string(u.state.rawValue)],
                                    location: u.location))
            }
            return
        }
        let machines = fleetMachines(site)
        func candidate(_ m: (name: String, address: ResourceAddress, group: MachineGroup, labels: [String: String])) -> Value {
            var c: [String: Value] = [U.candidateName: .string(m.name), U.candidateAddress: .string(m.address.description),
                                      U.candidateMetadata: .map(m.labels.mapValues { .string($0) })]
            for (mine, theirs) in Self.connectionAttributes { c[mine] = .ref(Value.Reference(m.address, theirs)) }
            return .map(c)
        }
        let all = Value.list(machines.map(candidate))
        for u in spec.units {
            var attrs: [String: Value] = [U.name: .string(u.name.full), U.options: Self.fleetOptions(u.file),
                                          U.desiredState: .string(u.state.rawValue), U.site: .string(site.providerName),
                                          U.lostAfterSeconds: .int(spec.lostAfter.seconds)]
            if u.constraints.global {
                for m in machines where Self.metadataMatches(u.constraints.machineMetadata, m.labels) {
                    var a = attrs
                    a[U.candidates] = .list([candidate(m)])
                    a[U.machineID] = .string(m.name)
                    out.append(Resource(address: Self.fleetUnitAddress(site.name, u.name.full, machine: m.name), provider: Self.fleetSchedulerProvider,
                                        attributes: a, dependencies: [Dependency(m.address, at: u.location)], location: u.location))
                }
                continue
            }
            attrs[U.candidates] = all
            out.append(Resource(address: Self.fleetUnitAddress(site.name, u.name.full), provider: Self.fleetSchedulerProvider, attributes: attrs,
                                dependencies: machines.map { Dependency($0.address, at: u.location) }, location: u.location))
        }
    }

    /// True when `labels` satisfy `MachineMetadata` (keys ANDed, values of one key ORed).
    static func metadataMatches(_ wanted: [String: [String]], _ labels: [String: String]) -> Bool {
        wanted.allSatisfy { key, values in labels[key].map(values.contains) ?? false }
    }

    /// Checks `fleet:` against the site: groups, the provider's type, names given once, `MachineID` naming a machine.
    func validateFleet(_ site: Site, into r: ConfigReader) {
        guard let spec = site.fleet else { return }
        if let p = spec.provider {
            let type = inventory.providerType(p.value)
            if type == nil {
                r.error(p.location, "fleet provider `\(p.value)` is not defined in inventory (define it with `type: fleet` and its `endpoint:`)")
            } else if type != "fleet" {
                r.error(p.location, "fleet provider `\(p.value)` has type `\(type!)`; fleet units go to a provider of type `fleet`")
            }
        }
        for on in spec.on where site.group(on.value) == nil {
            r.error(on.location, "fleet on: names machine group `\(on.value)`, which site `\(site.name)` does not define"
                    + (EditDistance.closest(to: on.value, in: site.machines.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""))
        }
        var seen: [String: SourceLocation] = [:]
        let machineNames = Set(fleetMachines(site).map(\.name))
        for u in spec.units {
            if let first = seen[u.name.full] {
                r.error(u.location, "fleet unit \(u.name) is already declared at \(first)")
                continue
            }
            seen[u.name.full] = u.location
            if spec.provider == nil, let id = u.constraints.machineID, !machineNames.contains(id) {
                r.error(u.location, "unit \(u.name): MachineID=\(id) names no machine of the site's fleet (machines: \(machineNames.sorted().joined(separator: ", ")))")
            }
        }
    }
}
