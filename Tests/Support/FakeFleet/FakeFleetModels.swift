import Crypto
import Foundation
import OttoCore

/// A machine of the fake fleet cluster: what `GET /fleet/v1/machines` lists.
public struct FakeFleetMachine: Sendable, Hashable {
    /// The machine id (systemd's machine-id in a real cluster).
    public var id: String
    /// The address other machines reach it at.
    public var primaryIP: String
    /// The metadata the machine publishes itself (fleet's `metadata=` setting). Metadata set over the API
    /// (`PATCH /machines`) is kept apart and wins over it.
    public var metadata: [String: String]

    /// Creates a machine.
    public init(id: String, primaryIP: String, metadata: [String: String] = [:]) {
        self.id = id
        self.primaryIP = primaryIP
        self.metadata = metadata
    }
}

/// A unit stored in the fake fleet: its file, its target state and where the engine scheduled it.
public struct FakeFleetUnit: Sendable, Hashable {
    /// The unit's name (`web@1.service`).
    public var name: String
    /// The unit file, as fleet stored it (a new file is a new unit: fleet replaced the entry).
    public let file: FleetUnitFile
    /// `inactive`, `loaded` or `launched`.
    public var desiredState: FleetUnitState
    /// The machine the engine placed it on; nil when unscheduled (and for `Global` units, which every agent runs).
    public var machineID: String?
    /// The file's `[X-Fleet]` constraints, specifiers expanded (read once); nil for a name fleet would not store.
    public let constraints: FleetConstraints?

    /// Creates a unit.
    public init(name: String, file: FleetUnitFile, desiredState: FleetUnitState, machineID: String? = nil) {
        self.name = name
        self.file = file
        self.desiredState = desiredState
        self.machineID = machineID
        self.constraints = FleetUnitName(name).map { FleetConstraints.read(file, name: $0).0 }
    }

    /// SHA-1 (hex) of the unit file's text: what fleet reported as `UnitState.hash`.
    public var hash: String { FakeFleetUnit.sha1(file.text) }

    /// SHA-1 of `text` as lower-case hex.
    public static func sha1(_ text: String) -> String {
        Insecure.SHA1.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// One row of `GET /fleet/v1/state`: what an agent reports about a unit loaded on its machine.
public struct FakeFleetUnitState: Sendable, Hashable {
    /// The unit's name.
    public var name: String
    /// SHA-1 of the unit file the agent loaded.
    public var hash: String
    /// The machine that reports it.
    public var machineID: String
    /// systemd's load state (`loaded`).
    public var loadState: String
    /// systemd's active state (`active`, `inactive`).
    public var activeState: String
    /// systemd's sub state (`running`, `dead`).
    public var subState: String
}

/// One exchange the fake answered while recording (`FakeFleet.recording`): enough to check requests and answers
/// against the discovery document.
public struct FakeFleetExchange: Sendable {
    /// Upper-case method.
    public var method: String
    /// The route as the discovery document writes paths (`units/{unitName}`), or the raw path when no route matched.
    public var route: String
    /// The request body parsed as JSON (nil when empty or not JSON).
    public var requestBody: JSONValue?
    /// The status answered.
    public var status: Int
    /// The answer's body parsed as JSON (nil when empty or not JSON).
    public var responseBody: JSONValue?
    /// The answer's Content-Type.
    public var contentType: String?

    /// Creates an exchange (tests build bad ones to check a checker).
    public init(method: String, route: String, requestBody: JSONValue?, status: Int, responseBody: JSONValue?, contentType: String?) {
        self.method = method
        self.route = route
        self.requestBody = requestBody
        self.status = status
        self.responseBody = responseBody
        self.contentType = contentType
    }
}
