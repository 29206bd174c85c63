import Foundation
import OttoCore
import OttoHTTP

/// Manages `fleet_unit` resources in an existing fleet cluster through fleet's v1 API (inventory type `fleet`).
///
/// Attributes (exactly what the configuration layer produces, names from `AttributeName.FleetUnit`):
/// - desired: `name` (`web@1.service`; a change replaces the unit), `options` (the unit file: a list of
///   `section`/`name`/`value` maps, `[X-Fleet]` included), `desired_state` (`inactive`, `loaded`, `launched`);
/// - reported: `current_state`, `machine_id`, `load_state`, `active_state`, `sub_state` (systemd's, from the agent of
///   the unit's machine) and `hash` (SHA-1 of the unit file).
///
/// providerID: the unit's name. Observation is in bulk: every unit (`GET /units`) and every state row (`GET /state`),
/// following `nextPageToken` through all pages, whatever the number of resources asked about. Create is a `PUT` with
/// the options and the desired state (fleet: 201); a change of options is the same `PUT` (fleet replaces the unit:
/// 201); a change of the desired state alone is a `PUT {"desiredState"}` (204); delete is a `DELETE` (a 404 means the
/// unit is already gone). After a write the unit and its states are read back. A template (`web@.service`) is refused:
/// fleet cannot run one, and otto's configuration expands templates into instances as fleetctl did.
///
/// fleet's refusals become `OttoError`s with code `provider.fleet.http` and fleet's own message, e.g.
/// `fleet at http://10.0.0.5:49153: PUT /units/web@.service: 400 Bad Request: cannot activate template "web@.service"`.
public final class FleetAPIProvider: Provider {
    private typealias U = AttributeName.FleetUnit

    /// The instance name (an inventory `providers:` key).
    public let name: String
    /// Most actions run at once.
    public let concurrencyLimit: Int
    /// Where fleet's API is.
    public let settings: FleetAPISettings
    /// `fleet_unit`.
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes (the same for every instance).
    public static let kindSchemas: [KindSchema] = [unitSchema]

    /// The kind this provider manages.
    public static let kind = "fleet_unit"

    /// `fleet_unit`: a new name is a new unit; options and the desired state change in place; what fleet reports is
    /// never compared.
    public static let unitSchema = KindSchema(kind: kind, attributes: [
        .required(U.name, .string, forceNew: true),
        .required(U.options, .list(.map(.string))),
        .required(U.desiredState, .string),
        .computed(U.currentState, .string), .computed(U.machineID, .string), .computed(U.loadState, .string),
        .computed(U.activeState, .string), .computed(U.subState, .string), .computed(U.hash, .string),
    ])

    let api: FleetAPI

    /// Creates a provider for the API at `settings.endpoint`. Over HTTP, requests go through `client` (counted under
    /// `name`); over SSH, through one pinned session to the machine, opened on first use.
    public init(name: String, settings: FleetAPISettings, concurrency: Int = 16, client: HTTPClient) {
        self.name = name
        self.concurrencyLimit = max(1, concurrency)
        self.settings = settings
        switch settings.endpoint {
        case .http(let root):
            api = FleetAPI(transport: FleetHTTPTransport(root: root, client: client, label: name))
        case .unixSocket(let path, let ssh):
            api = FleetAPI(transport: FleetSSHTransport(socket: path, target: ssh))
        }
    }

    /// See `Provider.observe`: one read of every unit and one of every state row (all pages each), for any number of
    /// requests.
    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        guard kind == Self.kind else { throw unknownKind(kind) }
        guard !requests.isEmpty else { return [:] }
        let api = self.api
        async let unitList = api.units()
        async let stateList = api.states()
        var units: [String: FleetAPIModel.Unit] = [:]
        for unit in try await unitList { if let name = unit.name { units[name] = unit } }
        let rows = try await stateList
        let states = Dictionary(grouping: rows.filter { $0.name != nil }, by: { $0.name ?? "" })
        var out: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            guard let name = request.attributes[U.name]?.stringValue ?? request.providerID, let unit = units[name] else { continue }
            out[request.address] = FleetUnitObservation.make(unit, name: name, states: states[name] ?? [],
                                                             desiredOptions: request.attributes[U.options])
        }
        return out
    }

    /// See `Provider.create`: `PUT /units/NAME` with the options and the desired state, then the unit read back.
    public func create(_ resource: Resource) async throws -> ObservedResource {
        guard resource.kind == Self.kind else { throw unknownKind(resource.kind) }
        let spec = try FleetUnitSpec(resource)
        try await api.put(spec.name, FleetAPIModel.UnitWrite(desiredState: spec.desiredState.rawValue, options: spec.options))
        return try await readBack(spec, resource)
    }

    /// See `Provider.update`: new options are sent with the desired state (fleet replaces the unit); a new desired state
    /// alone is sent alone.
    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        guard resource.kind == Self.kind else { throw unknownKind(resource.kind) }
        let spec = try FleetUnitSpec(resource)
        if changed.contains(U.options) {
            try await api.put(spec.name, FleetAPIModel.UnitWrite(desiredState: spec.desiredState.rawValue, options: spec.options))
        } else if changed.contains(U.desiredState) {
            try await api.put(spec.name, FleetAPIModel.UnitWrite(desiredState: spec.desiredState.rawValue, options: nil))
        }
        return try await readBack(spec, resource)
    }

    /// See `Provider.delete`: `DELETE /units/NAME`; a unit already gone is fine.
    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard address.kind == Self.kind else { throw unknownKind(address.kind) }
        let unit = current.attributes[U.name]?.stringValue ?? (current.providerID.isEmpty ? address.name : current.providerID)
        try await api.delete(unit)
    }

    /// Closes the SSH session, if any.
    public func shutdown() async {
        await api.transport.shutdown()
    }

    /// The unit as fleet has it after a write: `GET /units/NAME` and its state rows.
    private func readBack(_ spec: FleetUnitSpec, _ resource: Resource) async throws -> ObservedResource {
        let api = self.api
        async let unit = api.unit(spec.name)
        async let states = api.states(unitName: spec.name)
        guard let found = try await unit else {
            throw OttoError("provider.fleet.http", "\(api.transport.place): \(resource.address): fleet accepted unit \(spec.name) but does not list it (was it destroyed at the same time?); run again")
        }
        return FleetUnitObservation.make(found, name: spec.name, states: try await states, desiredOptions: resource.attributes[U.options])
    }

    private func unknownKind(_ kind: String) -> OttoError {
        OttoError("provider.fleet.kind", "provider '\(name)' (fleet) does not manage resources of kind '\(kind)'; it manages \(Self.kind)")
    }
}
