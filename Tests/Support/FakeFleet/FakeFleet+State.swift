import Foundation
import OttoCore

extension FakeFleet {
    /// Every state row the agents report, sorted by unit name then machine id: one per placed unit that is not
    /// `inactive`, one per machine for a `Global` unit.
    public var states: [FakeFleetUnitState] {
        var out: [FakeFleetUnitState] = []
        for name in units.keys.sorted() {
            guard let unit = units[name] else { continue }
            let on = runningMachines(unit)
            let running = unit.desiredState == .launched
            for machine in on {
                out.append(FakeFleetUnitState(name: name, hash: unit.hash, machineID: machine, loadState: "loaded",
                                              activeState: running ? "active" : "inactive", subState: running ? "running" : "dead"))
            }
        }
        return out
    }

    /// `GET /state`, filtered by `machineID` and `unitName` (the first of each), one page.
    func listStates(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let query = request.query
        let machine = query["machineID"].flatMap { $0.isEmpty ? nil : $0 }
        let unit = query["unitName"].flatMap { $0.isEmpty ? nil : $0 }
        let rows = states.filter { (machine == nil || $0.machineID == machine) && (unit == nil || $0.name == unit) }
        return page(rows.map(Self.entity), key: "states", request)
    }

    /// `GET /state/{name}`: the unit's (first) state row.
    func getState(_ name: String) -> FakeHTTPResponse {
        guard let row = states.first(where: { $0.name == name }) else { return Self.error(404, "unit state does not exist") }
        return .fleetJSON(200, Self.entity(row))
    }

    /// A state row as the API shows it (`schema.UnitState`).
    static func entity(_ state: FakeFleetUnitState) -> JSONValue {
        ["name": .string(state.name), "hash": .string(state.hash), "machineID": .string(state.machineID),
         "systemdLoadState": .string(state.loadState), "systemdActiveState": .string(state.activeState),
         "systemdSubState": .string(state.subState)]
    }

    // MARK: - Machines

    /// The metadata of machine `id`: what it publishes, overridden by what was set over the API.
    func metadata(of id: String) -> [String: String] {
        (machines[id]?.metadata ?? [:]).merging(dynamicMetadata[id] ?? [:]) { _, set in set }
    }

    /// `GET /machines`: every machine, sorted by id, one page.
    func listMachines(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let items = machines.keys.sorted().map { id -> JSONValue in
            var out: [String: JSONValue] = ["id": .string(id)]
            if let ip = machines[id]?.primaryIP, !ip.isEmpty { out["primaryIP"] = .string(ip) }
            let meta = metadata(of: id)
            if !meta.isEmpty { out["metadata"] = .object(meta.mapValues(JSONValue.string)) }
            return .object(out)
        }
        return page(items, key: "machines", request)
    }

    /// `PATCH /machines`: JSON Patch operations `add`, `remove`, `replace` on `/<machine-id>/metadata/<key>`, all
    /// checked before any is applied, then applied in order. Machines need not be present (the metadata waits for
    /// them).
    func patchMachines(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        if let refused = jsonContent(request) { return refused }
        guard let json = request.json, case .array(let items) = json else {
            return Self.error(400, "json: cannot unmarshal the body into Go value of type []api.machineMetadataOp")
        }
        var ops: [(op: String, machine: String, key: String, value: String)] = []
        for item in items {
            guard case .object(let fields) = item else {
                return Self.error(400, "json: cannot unmarshal \(Body.kind(item)) into Go value of type api.machineMetadataOp")
            }
            let op = fields["op"]?.string ?? ""
            guard ["add", "remove", "replace"].contains(op) else { return Self.error(400, "invalid op: expect add, remove, or replace") }
            guard let path = fields["path"]?.string, let target = Self.metadataPath(path) else {
                return Self.error(400, "machine metadata path invalid")
            }
            // JSON Patch writes `"value": "x"`; fleet's server decoded `"value": {"value": "x"}`. Both are taken.
            let value = fields["value"]?.string ?? fields["value"]?["value"]?.string ?? ""
            if op != "remove" && value.isEmpty { return Self.error(400, "invalid value: add and replace require a value") }
            ops.append((op, target.machine, target.key, value))
        }
        for op in ops {
            if op.op == "remove" {
                dynamicMetadata[op.machine]?[op.key] = nil
                machines[op.machine]?.metadata[op.key] = nil
            } else {
                dynamicMetadata[op.machine, default: [:]][op.key] = op.value
            }
        }
        reconcile()
        return FakeHTTPResponse(status: 204)
    }

    /// `(machine, key)` of `/<machine>/metadata/<key>` (fleet's `^/([^/]+)/metadata/([A-Za-z0-9_.-]+$)`).
    static func metadataPath(_ path: String) -> (machine: String, key: String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, !parts[1].isEmpty, parts[2] == "metadata", !parts[3].isEmpty,
              parts[3].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else { return nil }
        return (String(parts[1]), String(parts[3]))
    }
}
