import Crypto
import Foundation
import OttoCore

/// A fleet unit and its state rows as a `fleet_unit` observation.
enum FleetUnitObservation {
    private typealias U = AttributeName.FleetUnit

    /// SHA-1 (hex) of a unit file's text: the `hash` fleet reports for it.
    static func hash(_ options: [FleetUnitOption]) -> String {
        Insecure.SHA1.hash(data: Data(FleetUnitFile(options: options).text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// What exists for `unit` (its state rows in `states`). `desiredOptions` are the options the configuration
    /// asks for: when they make the same unit file as fleet's (fleet keeps options grouped by section, so the order may
    /// differ while the file and its hash do not), they are reported as they are, so an unchanged unit plans no change.
    ///
    /// `machine_id` is the unit's machine, or for a `Global` unit (which every matching machine runs) the machines of
    /// its state rows joined by commas; `load_state`, `active_state` and `sub_state` come from the row of that machine
    /// (the first row otherwise); `hash` from that row, or computed from the options while no agent reports the unit.
    /// Values fleet does not report are null.
    static func make(_ unit: FleetAPIModel.Unit, name: String, states: [FleetAPIModel.UnitState], desiredOptions: Value?) -> ObservedResource {
        let options = unit.options ?? []
        var optionsValue = FleetUnitSpec.value(of: options)
        if let desired = desiredOptions, let wanted = FleetUnitSpec.options(desired),
           FleetUnitFile(options: wanted).text == FleetUnitFile(options: options).text {
            optionsValue = desired
        }
        let rows = states.sorted { ($0.machineID ?? "") < ($1.machineID ?? "") }
        let machine = unit.machineID.flatMap { $0.isEmpty ? nil : $0 }
            ?? (rows.isEmpty ? nil : rows.compactMap(\.machineID).joined(separator: ","))
        let row = rows.first { $0.machineID == unit.machineID } ?? rows.first
        func text(_ s: String?) -> Value { s.map(Value.string) ?? .null }
        return ObservedResource(providerID: name, attributes: [
            U.name: .string(name),
            U.options: optionsValue,
            U.desiredState: .string(nonEmpty(unit.desiredState) ?? FleetUnitState.inactive.rawValue),
            U.currentState: .string(nonEmpty(unit.currentState) ?? FleetUnitState.inactive.rawValue),
            U.machineID: text(machine),
            U.loadState: text(row?.systemdLoadState),
            U.activeState: text(row?.systemdActiveState),
            U.subState: text(row?.systemdSubState),
            U.hash: .string(nonEmpty(row?.hash) ?? hash(options)),
        ])
    }

    private static func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
}
