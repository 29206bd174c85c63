import Foundation
import OttoCore

extension FakeFleet {
    /// One engine pass, as fleet's engine leader ran one every ~2 s (here: at once, after every change), with otto's
    /// own `FleetScheduler` (fleet's rules as a pure function): a unit that is `inactive` is on no machine; a placed
    /// unit stays while its machine is there and its constraints hold; every other unit goes to the least-loaded
    /// machine that can take it (ties by machine id), honouring `MachineID`, `MachineMetadata`, `MachineOf`,
    /// `Conflicts` and `Replaces`; a `Global` unit runs on every machine that matches it. Templates are never placed.
    func reconcile() {
        let schedulable = units.keys.sorted().compactMap { name -> FleetSchedulingUnit? in
            guard let unit = units[name], FleetUnitName(name)?.isTemplate == false else { return nil }
            return FleetSchedulingUnit(name: name, constraints: unit.constraints ?? FleetConstraints(), state: unit.desiredState,
                                       current: unit.machineID)
        }
        let available = machines.keys.sorted().map { FleetMachine(name: $0, metadata: metadata(of: $0)) }
        let result = FleetScheduler.schedule(schedulable, machines: available)
        placements = result
        for name in units.keys {
            let placement = result[name]
            switch placement?.outcome {
            case .kept?, .placed?: units[name]?.machineID = placement?.machines.first
            default: units[name]?.machineID = nil
            }
        }
    }

    /// The machines a unit runs on now: its machine, or every machine of a `Global` unit; none while it is `inactive`
    /// or cannot be placed.
    func runningMachines(_ unit: FakeFleetUnit) -> [String] {
        guard unit.desiredState != .inactive else { return [] }
        if let machine = unit.machineID { return [machine] }
        guard let placement = placements[unit.name], placement.outcome == .global else { return [] }
        return placement.machines
    }

    /// Where the last engine pass put unit `name`, and why (the scheduler's reason).
    public func placement(of name: String) -> FleetPlacement? { placements[name] }
}
