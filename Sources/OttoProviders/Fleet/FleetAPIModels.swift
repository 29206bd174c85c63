import OttoCore

/// The entities of fleet's v1 API (its discovery document's `schemas`). Every field is optional: fleet's server left
/// empty ones out (Go's `omitempty`), lists included.
enum FleetAPIModel {
    /// `Unit`: a unit file and its states. `options` are `UnitOption`s (`FleetUnitOption` has their shape).
    struct Unit: Codable, Sendable {
        var name: String?
        var options: [FleetUnitOption]?
        var desiredState: String?
        var currentState: String?
        var machineID: String?
    }

    /// `UnitPage`.
    struct UnitPage: Decodable, Sendable {
        var units: [Unit]?
        var nextPageToken: String?
    }

    /// `UnitState`: what the agent of one machine reports about a unit loaded there.
    struct UnitState: Decodable, Sendable {
        var name: String?
        var hash: String?
        var machineID: String?
        var systemdLoadState: String?
        var systemdActiveState: String?
        var systemdSubState: String?
    }

    /// `UnitStatePage`.
    struct UnitStatePage: Decodable, Sendable {
        var states: [UnitState]?
        var nextPageToken: String?
    }

    /// The body of `PUT /units/{name}`: options (create or replace) and the desired state, or the desired state alone.
    struct UnitWrite: Encodable, Sendable {
        var desiredState: String
        var options: [FleetUnitOption]?
    }
}

/// A page of a fleet list: its items and the token of the next page.
protocol FleetAPIPage: Decodable, Sendable {
    associatedtype Item: Sendable
    var pageItems: [Item] { get }
    var nextPageToken: String? { get }
}

extension FleetAPIModel.UnitPage: FleetAPIPage {
    var pageItems: [FleetAPIModel.Unit] { units ?? [] }
}

extension FleetAPIModel.UnitStatePage: FleetAPIPage {
    var pageItems: [FleetAPIModel.UnitState] { states ?? [] }
}
