import Foundation
import OttoCore

/// The control side of the fake fleet, for tests: as Swift calls on the actor, and over HTTP under `/_fake` (no auth)
/// for a fake reached from another process or over SSH:
///
/// - `GET /_fake/counts`: requests answered, by `METHOD /route` (`{"GET /units": 2, "PUT /units/{unitName}": 150}`);
///   `DELETE /_fake/counts` sets them back to zero.
/// - `POST /_fake/machines` with `{"id": "…", "primaryIP": "…", "metadata": {…}}`: a machine joins (201).
/// - `DELETE /_fake/machines/{id}`: a machine leaves, as when its presence expired in etcd (fleet: 30 s after its
///   last heartbeat); its units are placed elsewhere by the engine pass that follows at once (204; 404 when unknown).
///
/// Every change is followed by one engine pass before the call returns.
extension FakeFleet {
    /// Requests answered so far, by `METHOD /route` (`GET /units`, `GET /units/{unitName}`, `GET /state`, ...).
    public var requestCounts: [String: Int] { counts }

    /// Requests answered for `method` on `route` (`requestCount("GET", "/units")`).
    public func requestCount(_ method: String, _ route: String) -> Int { counts["\(method.uppercased()) \(route)"] ?? 0 }

    /// Requests answered with `method`, every route together.
    public func requestCount(method: String) -> Int {
        counts.filter { $0.key.hasPrefix(method.uppercased() + " ") }.values.reduce(0, +)
    }

    /// Sets every request count back to zero.
    public func resetCounts() { counts = [:] }

    /// A machine joins the cluster (or comes back with new settings); then one engine pass.
    public func addMachine(_ machine: FakeFleetMachine) {
        machines[machine.id] = machine
        reconcile()
    }

    /// Machine `id` leaves the cluster (its presence expired); its units are placed elsewhere by the engine pass that
    /// follows at once. False when there was no such machine.
    @discardableResult
    public func removeMachine(_ id: String) -> Bool {
        guard machines.removeValue(forKey: id) != nil else { return false }
        reconcile()
        return true
    }

    /// The machines present, sorted by id, with their metadata as the API shows it.
    public var machineList: [FakeFleetMachine] {
        machines.keys.sorted().compactMap { id in machines[id].map { FakeFleetMachine(id: id, primaryIP: $0.primaryIP, metadata: metadata(of: id)) } }
    }

    /// Every unit, sorted by name.
    public var unitList: [FakeFleetUnit] { units.keys.sorted().compactMap { units[$0] } }

    /// The unit called `name`.
    public func unit(_ name: String) -> FakeFleetUnit? { units[name] }

    /// Answers every request for `path` (`/fleet/v1/units/x.service`) with `response` from now on, whatever the
    /// method, instead of what fleet would say: an HTML error page of a proxy in front of fleet, a body that is not
    /// JSON. Nil stops it.
    public func inject(_ response: FakeHTTPResponse?, forPath path: String) {
        injected[path] = response
    }

    /// Starts keeping every `/fleet/v1` exchange (dropping those kept so far), or stops.
    public func record(_ on: Bool) {
        recording = on
        recorded = []
    }

    /// The exchanges kept since `record(true)`.
    public var exchanges: [FakeFleetExchange] { recorded }

    /// Answers a `/_fake` call.
    func control(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let segments = request.segments
        switch (request.method, Array(segments.dropFirst())) {
        case ("GET", ["counts"]):
            return .fleetJSON(200, .object(counts.mapValues(JSONValue.int)))
        case ("DELETE", ["counts"]):
            counts = [:]
            return FakeHTTPResponse(status: 204)
        case ("POST", ["machines"]):
            guard let json = request.json, let id = json["id"]?.string, !id.isEmpty else {
                return Self.error(400, "a machine needs an id: {\"id\": \"…\", \"primaryIP\": \"…\", \"metadata\": {…}}")
            }
            let metadata = json["metadata"]?.object?.compactMapValues(\.string) ?? [:]
            addMachine(FakeFleetMachine(id: id, primaryIP: json["primaryIP"]?.string ?? "", metadata: metadata))
            return FakeHTTPResponse(status: 201)
        case ("DELETE", let path) where path.count == 2 && path[0] == "machines":
            return removeMachine(path[1]) ? FakeHTTPResponse(status: 204) : Self.error(404, "no machine \(Self.quoted(path[1]))")
        default:
            return Self.error(404, "the fake's control API has GET/DELETE /_fake/counts, POST /_fake/machines, DELETE /_fake/machines/{id}")
        }
    }
}
