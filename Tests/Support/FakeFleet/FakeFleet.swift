import Foundation
import OttoCore

/// A fake of fleet's v1 HTTP API (`/fleet/v1/`), written from fleet's discovery document (`Tests/Fixtures/fleet/
/// fleet-v1.json`, the official `schema/v1.json`) and the server's behaviour as fleet's `api/*.go` had it (see
/// `shared/specs/fleet-behaviour.md`), for tests: units (`GET`/`PUT`/`DELETE /units/{name}`, `GET /units`), unit
/// states (`GET /state` with the `machineID` and `unitName` filters, `GET /state/{name}`), machines (`GET /machines`,
/// `PATCH /machines` with JSON Patch on `/<id>/metadata/<key>`) and `GET /discovery`.
///
/// What fleet's server did that the schema does not say, and the fake does too: a new unit without options is a 409,
/// with options a 201; an existing unit sent with different options is replaced (201); a body without options must
/// carry `desiredState` (204) or is a 409; a body whose `name` differs from the path is a 400; a `Content-Type` other
/// than `application/json` on `PUT`/`PATCH` is a 415; `DELETE` or `GET` of a missing unit is a 404; a template
/// (`web@.service`) with a desired state other than `inactive` is a 400 "cannot activate template" (fleet checked this
/// only for existing units; the fake checks it on creation too); `[X-Fleet]` problems that `FleetConstraints.read` finds
/// (the refused combinations, malformed values, unknown keys) are a 400; errors are `{"error": {"code": N,
/// "message": "…"}}` as `application/json`; lists are paged (at most `pageSize` items, 100 as in fleet; the token is
/// base64url of two little-endian `UInt16`s, the page size and the page, and an unusable one is a 400 "invalid value of
/// nextPageToken query parameter"; a page that ends exactly at the last item still announces an empty next page, as
/// fleet's did); empty lists and fields are left out of answers (Go's `omitempty`); `UnitState.hash` is the SHA-1 of
/// `FleetUnitFile(options:).text`. `PATCH /machines` takes the value as JSON Patch writes it (`"value": "x"`) and as
/// fleet's server decoded it (`"value": {"value": "x"}`).
///
/// A simulated engine and agents stand behind the API: the machines are given at start (and added or dropped through
/// the control calls); every unit that is not `inactive` is placed by otto's `FleetScheduler` (fleet's rules: the
/// least-loaded machine it can run on, ties by machine id, honouring `MachineID`, `MachineMetadata`, `MachineOf`,
/// `Conflicts`, `Replaces` and `Global`; a placed unit stays while it can); a placed
/// unit's state follows its desired state at once (`launched`: systemd `loaded`/`active`/`running`; `loaded`:
/// `loaded`/`inactive`/`dead`; `inactive`: no state row). **The engine pass runs synchronously after every change**
/// (a unit written or deleted, metadata patched, a machine added or dropped), so a test reads the outcome with its
/// next request: there is no 2 s engine interval, no 5 s agent interval and no 30 s presence expiry to wait for.
///
/// It answers `FakeHTTPRequest`s (`handle(_:)`), so it runs in-process behind `FakeFleetServer` (on a loopback port, a
/// unix socket, or both). Besides `/fleet/v1` it serves a control API under `/_fake` (see `FakeFleet+Control.swift`).
public actor FakeFleet {
    /// Items per page of every list (fleet's `tokenLimit`, 100).
    public let pageSize: Int
    /// Units by name.
    var units: [String: FakeFleetUnit] = [:]
    /// Machines present in the cluster, by id.
    var machines: [String: FakeFleetMachine] = [:]
    /// Metadata set over the API (`PATCH /machines`), by machine id; kept while a machine is away, as fleet kept it.
    var dynamicMetadata: [String: [String: String]] = [:]
    /// Requests answered, by `METHOD /route` (`GET /units`, `PUT /units/{unitName}`, ...).
    var counts: [String: Int] = [:]
    /// Exchanges kept while `recording` is on.
    var recorded: [FakeFleetExchange] = []
    /// Whether exchanges are kept (for checks against the discovery document).
    public internal(set) var recording = false
    /// The discovery document served at `GET /fleet/v1/discovery`.
    let discovery: [UInt8]
    /// Where the last engine pass put each unit (`FleetScheduler.schedule`), by unit name.
    var placements: [String: FleetPlacement] = [:]
    /// Canned answers by request path (`inject(_:forPath:)`), given instead of fleet's.
    var injected: [String: FakeHTTPResponse] = [:]

    /// The API's path prefix.
    public static let prefix = "/fleet/v1"

    /// A cluster of `machines`. `pageSize` is the most items a list page holds (1...100; fleet used 100).
    /// `discovery` is the document `GET /discovery` serves; nil reads `Tests/Fixtures/fleet/fleet-v1.json`.
    public init(machines: [FakeFleetMachine] = [], pageSize: Int = 100, discovery: [UInt8]? = nil) {
        self.pageSize = min(100, max(1, pageSize))
        for m in machines { self.machines[m.id] = m }
        self.discovery = discovery ?? FakeFleet.officialDiscovery() ?? Array(#"{"error":"discovery document not found"}"#.utf8)
    }

    /// The package's copy of fleet's discovery document, read from `Tests/Fixtures/fleet/fleet-v1.json` beside this
    /// source tree; nil when it is not there.
    public static func officialDiscovery() -> [UInt8]? {
        FileManager.default.contents(atPath: discoveryPath).map { [UInt8]($0) }
    }

    /// Where the package's copy of the discovery document is.
    public static var discoveryPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fleet/fleet-v1.json").path
    }

    // MARK: - Answering requests

    /// Answers one request: the control API under `/_fake`, or a `/fleet/v1` call (counted, and recorded while
    /// recording is on).
    public func handle(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        if request.path == "/_fake" || request.path.hasPrefix("/_fake/") { return control(request) }
        let route = FakeFleetRoute.match(request.path)
        let key = "\(request.method) \(route?.template ?? request.path)"
        counts[key, default: 0] += 1
        let response = injected[request.path] ?? route.map { answer(request, route: $0) } ?? Self.error(404, "")
        if recording {
            recorded.append(FakeFleetExchange(method: request.method, route: route?.discoveryPath ?? request.path, requestBody: request.json,
                                              status: response.status, responseBody: response.json,
                                              contentType: response.headers["Content-Type"]))
        }
        return response
    }

    private func answer(_ request: FakeHTTPRequest, route: FakeFleetRoute) -> FakeHTTPResponse {
        switch (route, request.method) {
        case (.units, "GET"): return listUnits(request)
        case (.units, _): return Self.error(405, "only GET supported against this resource")
        case (.unit(let name), "GET"): return getUnit(name)
        case (.unit(let name), "PUT"): return setUnit(name, request)
        case (.unit(let name), "DELETE"): return destroyUnit(name)
        case (.unit, _): return Self.error(405, "only GET, PUT and DELETE supported against this resource")
        case (.states, "GET"): return listStates(request)
        case (.state(let name), "GET"): return getState(name)
        case (.states, _), (.state, _): return Self.error(405, "only GET supported against this resource")
        case (.machines, "GET"): return listMachines(request)
        case (.machines, "PATCH"): return patchMachines(request)
        case (.machines, _): return Self.error(405, "only GET and PATCH supported against this resource")
        case (.discovery, "GET"): return FakeHTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: discovery)
        case (.discovery, _): return Self.error(400, "only HTTP GET supported against this resource")
        case (.root, _): return Self.error(405, "")
        }
    }

    // MARK: - Shared pieces

    /// fleet's error entity: `{"error": {"code": N, "message": "…"}}` as `application/json`.
    static func error(_ status: Int, _ message: String) -> FakeHTTPResponse {
        .fleetJSON(status, ["error": ["code": .int(status), "message": .string(message)]])
    }

    /// The page token of a list request (the first page without one); nil when the token cannot be used (not
    /// decodable, given twice, or for another page size: fleet's `validatePageToken`).
    func pageToken(_ request: FakeHTTPRequest) -> FakeFleetPageToken? {
        let values = request.rawQuery.split(separator: "&").filter { $0.hasPrefix("nextPageToken=") }
        guard !values.isEmpty else { return FakeFleetPageToken(limit: UInt16(pageSize), page: 1) }
        guard values.count == 1, let text = request.query["nextPageToken"], let token = FakeFleetPageToken(encoded: text),
              Int(token.limit) == pageSize else { return nil }
        return token
    }

    /// One page of `items` under `key`, or a 400 for a bad token.
    func page(_ items: [JSONValue], key: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let token = pageToken(request) else {
            return Self.error(400, "invalid value of nextPageToken query parameter")
        }
        let (slice, more) = token.slice(items)
        var body: [String: JSONValue] = [:]
        if !slice.isEmpty { body[key] = .array(slice) }
        if more { body["nextPageToken"] = .string(token.next.encoded) }
        return .fleetJSON(200, .object(body))
    }

    /// The request's body as JSON when its Content-Type is `application/json` (parameters allowed), else the 415
    /// fleet answered.
    func jsonContent(_ request: FakeHTTPRequest) -> FakeHTTPResponse? {
        guard let type = request.headers["content-type"] else {
            return Self.error(415, "expected 1 Content-Type, got 0")
        }
        let media = type.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard media == "application/json" else { return Self.error(415, "only acceptable Content-Type is application/json") }
        return nil
    }
}

extension FakeHTTPResponse {
    /// A JSON answer with fleet's Content-Type.
    static func fleetJSON(_ status: Int, _ value: JSONValue) -> FakeHTTPResponse {
        FakeHTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: value.bytes)
    }
}

/// The `/fleet/v1` resources the fake serves.
enum FakeFleetRoute: Sendable, Equatable {
    case root, units, unit(String), states, state(String), machines, discovery

    /// The route as counted: `/units/{unitName}`.
    var template: String {
        switch self {
        case .root: return "/"
        case .units: return "/units"
        case .unit: return "/units/{unitName}"
        case .states: return "/state"
        case .state: return "/state/{unitName}"
        case .machines: return "/machines"
        case .discovery: return "/discovery"
        }
    }

    /// The path as the discovery document writes it (`units/{unitName}`).
    var discoveryPath: String { String(template.dropFirst()) }

    /// The route of a request path; nil outside `/fleet/v1` or for paths fleet did not serve (a 404).
    static func match(_ path: String) -> FakeFleetRoute? {
        guard path == FakeFleet.prefix || path.hasPrefix(FakeFleet.prefix + "/") else { return nil }
        let rest = path.dropFirst(FakeFleet.prefix.count)
        if rest.isEmpty { return .root }
        let segments = rest.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let decoded = segments.map { $0.removingPercentEncoding ?? $0 }
        switch (decoded.count, decoded.first) {
        case (1, "units"): return .units
        case (2, "units") where !decoded[1].isEmpty: return .unit(decoded[1])
        case (1, "state"): return .states
        case (2, "state") where !decoded[1].isEmpty: return .state(decoded[1])
        case (1, "machines"): return .machines
        case (1, "discovery"): return .discovery
        default: return nil
        }
    }
}
