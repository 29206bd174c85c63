import OttoCore

/// What a `fleet_unit` resource asks of fleet: the unit's name, its file as options, and its desired state, read from
/// the resource's attributes and checked (a template is refused: fleet stores templates but cannot run them).
struct FleetUnitSpec: Sendable, Hashable {
    private typealias U = AttributeName.FleetUnit

    /// The unit's name (`web@1.service`).
    var name: String
    /// The unit file as fleet's `UnitOption`s, in order.
    var options: [FleetUnitOption]
    /// `inactive`, `loaded` or `launched`.
    var desiredState: FleetUnitState

    /// How attribute errors of this kind read.
    static let attributes = AttributeReader(code: "provider.fleet.attribute")

    /// Reads and checks `resource`'s attributes.
    init(_ resource: Resource) throws {
        let address = resource.address
        let name = try Self.attributes.string(resource.attributes, U.name, of: address)
        guard let parsed = FleetUnitName(name) else {
            throw OttoError("provider.fleet.attribute", "\(address): \(Value.string(name)) is not a unit name fleet takes: NAME.TYPE with TYPE one of \(FleetUnitName.types.sorted().joined(separator: ", ")), letters, digits and `:-_.\\@` only")
        }
        if parsed.isTemplate {
            throw OttoError("provider.fleet.template", "\(address): \(name) is a template: fleet stores templates but cannot run them (\"cannot activate template\"); declare its instances instead (\(parsed.prefix)@1.\(parsed.type), \(parsed.prefix)@2.\(parsed.type), …): otto's configuration makes one fleet_unit per instance with the template's options, as fleetctl did")
        }
        let stateText = try Self.attributes.string(resource.attributes, U.desiredState, of: address)
        guard let state = FleetUnitState(rawValue: stateText) else {
            throw OttoError("provider.fleet.attribute", "\(address): `\(U.desiredState)` must be inactive, loaded or launched, got \(Value.string(stateText))")
        }
        guard let options = Self.options(resource.attributes[U.options]) else {
            throw OttoError("provider.fleet.attribute", "\(address): `\(U.options)` must be a list of maps with string `\(U.optionSection)`, `\(U.optionName)` and `\(U.optionValue)` (a unit file's options, in order)")
        }
        guard !options.isEmpty else {
            throw OttoError("provider.fleet.attribute", "\(address): `\(U.options)` is empty: fleet refuses a unit without a unit file (at least one option, e.g. [Service] ExecStart)")
        }
        self.name = name
        self.options = options
        self.desiredState = state
    }

    /// The options in `value` (a list of `section`/`name`/`value` maps); nil when it has another shape or holds values
    /// not known yet.
    static func options(_ value: Value?) -> [FleetUnitOption]? {
        guard let list = value?.listValue else { return nil }
        var out: [FleetUnitOption] = []
        for item in list {
            guard let map = item.mapValue, let section = map[U.optionSection]?.stringValue, let name = map[U.optionName]?.stringValue,
                  let value = map[U.optionValue]?.stringValue, map.count == 3, !section.isEmpty, !name.isEmpty else { return nil }
            out.append(FleetUnitOption(section: section, name: name, value: value))
        }
        return out
    }

    /// `options` as the attribute's value: a list of `section`/`name`/`value` maps.
    static func value(of options: [FleetUnitOption]) -> Value {
        .list(options.map { .map([U.optionSection: .string($0.section), U.optionName: .string($0.name), U.optionValue: .string($0.value)]) })
    }
}
