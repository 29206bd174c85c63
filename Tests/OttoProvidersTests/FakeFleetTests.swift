import Foundation
import OttoCore
import OttoTestSupport
import Testing

/// The fake fleet behaves as fleet's API server did (shared/specs/fleet-behaviour.md), called directly (no HTTP).
@Suite struct FakeFleetTests {
    static let machines = [
        FakeFleetMachine(id: "m1", primaryIP: "10.213.0.11", metadata: ["role": "web", "disk": "ssd"]),
        FakeFleetMachine(id: "m2", primaryIP: "10.213.0.12", metadata: ["role": "web"]),
        FakeFleetMachine(id: "m3", primaryIP: "10.213.0.13", metadata: ["role": "db"]),
    ]

    static func options(exec: String = "/usr/bin/sleep 3000", fleet: [(String, String)] = []) -> String {
        var items = [#"{"section":"Service","name":"ExecStart","value":"\#(exec)"}"#]
        for (name, value) in fleet { items.append(#"{"section":"X-Fleet","name":"\#(name)","value":"\#(value)"}"#) }
        return "[" + items.joined(separator: ",") + "]"
    }

    func call(_ fake: FakeFleet, _ method: String, _ path: String, query: String = "", _ body: String? = nil,
              contentType: String? = "application/json") async -> FakeHTTPResponse {
        var headers: [String: String] = [:]
        if let contentType, body != nil { headers["Content-Type"] = contentType }
        return await fake.handle(FakeHTTPRequest(method: method, path: "/fleet/v1" + path, rawQuery: query, headers: headers,
                                                 body: body.map { Array($0.utf8) } ?? []))
    }

    func put(_ fake: FakeFleet, _ name: String, _ body: String) async -> FakeHTTPResponse {
        await call(fake, "PUT", "/units/" + name, body)
    }

    func errorMessage(_ response: FakeHTTPResponse) -> String? {
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.json?["error"]?["code"]?.int == response.status)
        return response.json?["error"]?["message"]?.string
    }

    @Test func putFollowsFleetsRules() async {
        let fake = FakeFleet(machines: Self.machines)
        // A new unit without options: 409.
        var r = await put(fake, "a.service", #"{"desiredState":"launched"}"#)
        #expect(r.status == 409)
        #expect(errorMessage(r) == "unit does not exist and options field empty")
        // With options: 201, inactive by default.
        r = await put(fake, "a.service", #"{"options":\#(Self.options())}"#)
        #expect(r.status == 201)
        #expect(await fake.unit("a.service")?.desiredState == .inactive)
        // Same options without desiredState: 409; with: 204.
        r = await put(fake, "a.service", #"{"options":\#(Self.options())}"#)
        #expect(r.status == 409)
        #expect(errorMessage(r) == "must provide DesiredState to update existing unit")
        r = await put(fake, "a.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        #expect(r.status == 204)
        r = await put(fake, "a.service", #"{"desiredState":"loaded"}"#)
        #expect(r.status == 204)
        #expect(await fake.unit("a.service")?.desiredState == .loaded)
        // Different options: replaced, 201.
        r = await put(fake, "a.service", #"{"desiredState":"launched","options":\#(Self.options(exec: "/bin/true"))}"#)
        #expect(r.status == 201)
        #expect(await fake.unit("a.service")?.file.options.first?.value == "/bin/true")
        // Name in the body differs from the path: 400.
        r = await put(fake, "a.service", #"{"name":"b.service","desiredState":"launched"}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r) == #"name in URL "a.service" differs from unit name in request body "b.service""#)
        // Not JSON: 415.
        r = await call(fake, "PUT", "/units/a.service", #"{"desiredState":"launched"}"#, contentType: "text/plain")
        #expect(r.status == 415)
        #expect(errorMessage(r) == "only acceptable Content-Type is application/json")
        r = await call(fake, "PUT", "/units/a.service", #"{"desiredState":"launched"}"#, contentType: "application/json; charset=utf-8")
        #expect(r.status == 204)
        // An unknown desired state, a bad name, a body that is not a unit: 400.
        r = await put(fake, "a.service", #"{"desiredState":"running"}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r)?.contains("running") == true)
        r = await put(fake, "a.bogus", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r) == #"invalid unit type: "bogus""#)
        r = await put(fake, "a.service", #"{"options":"nope"}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r)?.hasPrefix("unable to decode body: ") == true)
        r = await put(fake, "a.service", "not json")
        #expect(r.status == 400)
    }

    @Test func templatesAreStoredButNeverActivated() async {
        let fake = FakeFleet(machines: Self.machines)
        var r = await put(fake, "web@.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r) == #"cannot activate template "web@.service""#)
        r = await put(fake, "web@.service", #"{"desiredState":"inactive","options":\#(Self.options())}"#)
        #expect(r.status == 201)
        r = await put(fake, "web@.service", #"{"desiredState":"loaded"}"#)
        #expect(r.status == 400)
        #expect(errorMessage(r) == #"cannot activate template "web@.service""#)
        // Its instance runs.
        r = await put(fake, "web@1.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        #expect(r.status == 201)
        #expect(await fake.unit("web@1.service")?.machineID != nil)
    }

    @Test func refusedFleetCombinationsAre400() async {
        let fake = FakeFleet(machines: Self.machines)
        let cases: [[(String, String)]] = [
            [("MachineID", "m1"), ("Conflicts", "x*")], [("MachineID", "m1"), ("MachineOf", "a.service")],
            [("MachineID", "m1"), ("Global", "true")], [("MachineID", "m1"), ("Replaces", "a.service")],
            [("Global", "true"), ("MachineOf", "a.service")], [("Global", "true"), ("Replaces", "a.service")],
            [("Conflicts", "a*"), ("Replaces", "b.service")],
        ]
        for fleet in cases {
            let r = await put(fake, "bad.service", #"{"desiredState":"launched","options":\#(Self.options(fleet: fleet))}"#)
            #expect(r.status == 400, "\(fleet)")
            #expect(errorMessage(r)?.contains("cannot be combined with") == true, "\(fleet)")
        }
        #expect(await fake.unitList.isEmpty)
    }

    @Test func getAndDeleteOfMissingUnitsAre404() async {
        let fake = FakeFleet(machines: Self.machines)
        var r = await call(fake, "GET", "/units/none.service")
        #expect(r.status == 404)
        #expect(errorMessage(r) == "unit does not exist")
        r = await call(fake, "DELETE", "/units/none.service")
        #expect(r.status == 404)
        #expect(errorMessage(r) == "unit does not exist")
        r = await call(fake, "GET", "/state/none.service")
        #expect(r.status == 404)
        r = await call(fake, "POST", "/units/none.service", "{}")
        #expect(r.status == 405)
        r = await call(fake, "GET", "/nothing")
        #expect(r.status == 404)
        #expect(errorMessage(r) == "")
        _ = await put(fake, "a.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        r = await call(fake, "DELETE", "/units/a.service")
        #expect(r.status == 204)
        #expect(await fake.unitList.isEmpty)
        #expect(await fake.states.isEmpty)
    }

    @Test func pageTokensAreFleets() async throws {
        #expect(FakeFleetPageToken(limit: 100, page: 2).encoded == "ZAACAA==")
        #expect(FakeFleetPageToken(encoded: "ZAACAA==") == FakeFleetPageToken(limit: 100, page: 2))
        #expect(FakeFleetPageToken(encoded: "ZAACAA") == FakeFleetPageToken(limit: 100, page: 2))
        #expect(FakeFleetPageToken(encoded: "ZAAAAA==") == nil)  // page 0
        #expect(FakeFleetPageToken(encoded: "nope!") == nil)

        let fake = FakeFleet(machines: Self.machines)
        for i in 0..<250 {
            _ = await put(fake, String(format: "u%03d.service", i), #"{"desiredState":"launched","options":\#(Self.options())}"#)
        }
        var names: [String] = []
        var query = ""
        var pages = 0
        while true {
            let r = await call(fake, "GET", "/units", query: query)
            #expect(r.status == 200)
            pages += 1
            let items = r.json?["units"]?.array ?? []
            #expect(items.count <= 100)
            names += items.compactMap { $0["name"]?.string }
            guard let token = r.json?["nextPageToken"]?.string else { break }
            query = "nextPageToken=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)
        }
        #expect(pages == 3)
        #expect(names == (0..<250).map { String(format: "u%03d.service", $0) })
        // States page the same way, and filter.
        let states = await call(fake, "GET", "/state")
        #expect(states.json?["states"]?.array?.count == 100)
        #expect(states.json?["nextPageToken"]?.string == "ZAACAA==")
        let one = await call(fake, "GET", "/state", query: "unitName=u007.service")
        #expect(one.json?["states"]?.array?.count == 1)
        #expect(one.json?["nextPageToken"] == nil)
        let onM3 = await call(fake, "GET", "/state", query: "machineID=m3&nextPageToken=ZAABAA%3D%3D")
        #expect(onM3.json?["states"]?.array?.allSatisfy { $0["machineID"]?.string == "m3" } == true)
        #expect(onM3.json?["states"]?.array?.count == 83)
        // A token fleet could not use.
        for bad in ["garbage", "CgABAA==", "ZAAAAA=="] {
            let r = await call(fake, "GET", "/units", query: "nextPageToken=\(bad)")
            #expect(r.status == 400)
            #expect(errorMessage(r) == "invalid value of nextPageToken query parameter")
        }
        // An empty list leaves `units` out, as Go's omitempty did.
        let empty = await call(FakeFleet(), "GET", "/units")
        #expect(empty.status == 200)
        #expect(empty.json == [:])
    }

    @Test func exactlyOnePageStillAnnouncesAnEmptyNextPage() async {
        let fake = FakeFleet(machines: Self.machines, pageSize: 2)
        _ = await put(fake, "a.service", #"{"desiredState":"inactive","options":\#(Self.options())}"#)
        _ = await put(fake, "b.service", #"{"desiredState":"inactive","options":\#(Self.options())}"#)
        let first = await call(fake, "GET", "/units")
        #expect(first.json?["units"]?.array?.count == 2)
        let token = first.json?["nextPageToken"]?.string
        #expect(token == FakeFleetPageToken(limit: 2, page: 2).encoded)
        let second = await call(fake, "GET", "/units", query: "nextPageToken=\(token ?? "")")
        #expect(second.json == [:])
    }

    @Test func engineStatesFollowDesiredStates() async throws {
        let fake = FakeFleet(machines: Self.machines)
        _ = await put(fake, "a.service", #"{"desiredState":"inactive","options":\#(Self.options())}"#)
        var unit = await call(fake, "GET", "/units/a.service")
        #expect(unit.json?["currentState"]?.string == "inactive")
        #expect(unit.json?["machineID"] == nil)
        #expect(await fake.states.isEmpty)

        _ = await put(fake, "a.service", #"{"desiredState":"loaded"}"#)
        unit = await call(fake, "GET", "/units/a.service")
        #expect(unit.json?["currentState"]?.string == "loaded")
        #expect(unit.json?["machineID"]?.string == "m1")
        var state = await call(fake, "GET", "/state/a.service")
        #expect(state.json?["systemdLoadState"]?.string == "loaded")
        #expect(state.json?["systemdActiveState"]?.string == "inactive")
        #expect(state.json?["systemdSubState"]?.string == "dead")
        let file = try #require(await fake.unit("a.service")?.file)
        #expect(state.json?["hash"]?.string == FakeFleetUnit.sha1(file.text))
        #expect(state.json?["hash"]?.string?.count == 40)

        _ = await put(fake, "a.service", #"{"desiredState":"launched"}"#)
        state = await call(fake, "GET", "/state/a.service")
        #expect(state.json?["systemdActiveState"]?.string == "active")
        #expect(state.json?["systemdSubState"]?.string == "running")
    }

    @Test func placementHonoursConstraintsAndLoad() async {
        let fake = FakeFleet(machines: Self.machines)
        func launch(_ name: String, _ fleet: [(String, String)] = []) async {
            let r = await put(fake, name, #"{"desiredState":"launched","options":\#(Self.options(fleet: fleet))}"#)
            #expect(r.status == 201, "\(name): \(r.json?.text ?? "")")
        }
        // Least loaded, ties by id.
        await launch("a.service")
        await launch("b.service")
        await launch("c.service")
        #expect(await fake.unitList.map { $0.machineID } == ["m1", "m2", "m3"])
        await launch("pinned.service", [("MachineID", "m3")])
        #expect(await fake.unit("pinned.service")?.machineID == "m3")
        await launch("ssd.service", [("MachineMetadata", "disk=ssd")])
        #expect(await fake.unit("ssd.service")?.machineID == "m1")
        await launch("either.service", [("MachineMetadata", "role=db"), ("MachineMetadata", "role=web")])
        #expect(await fake.unit("either.service")?.machineID == "m2")
        await launch("beside.service", [("MachineOf", "pinned.service")])
        #expect(await fake.unit("beside.service")?.machineID == "m3")
        // Conflicts, checked both ways: web-1 avoids the machine of web-0, and a unit conflicting with nothing still
        // cannot land where a unit conflicts with it.
        await launch("web-0.service", [("Conflicts", "web-*.service")])
        await launch("web-1.service", [("Conflicts", "web-*.service")])
        let w0 = await fake.unit("web-0.service")?.machineID
        let w1 = await fake.unit("web-1.service")?.machineID
        #expect(w0 != nil && w1 != nil && w0 != w1)
        await launch("nowhere.service", [("MachineMetadata", "role=gpu")])
        #expect(await fake.unit("nowhere.service")?.machineID == nil)
        let nowhere = await fake.placement(of: "nowhere.service")
        #expect(nowhere?.outcome == .unplaceable)
        #expect(nowhere?.reason.isEmpty == false)
        #expect((await call(fake, "GET", "/units/nowhere.service")).json?["currentState"]?.string == "inactive")
        // Global units run on every matching machine and are placed by no one.
        await launch("agent.service", [("Global", "true"), ("MachineMetadata", "role=web")])
        #expect(await fake.unit("agent.service")?.machineID == nil)
        #expect(await fake.states.filter { $0.name == "agent.service" }.map(\.machineID) == ["m1", "m2"])
    }

    @Test func droppedMachinesUnitsArePlacedElsewhere() async {
        let fake = FakeFleet(machines: Self.machines)
        _ = await put(fake, "a.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        _ = await put(fake, "pinned.service", #"{"desiredState":"launched","options":\#(Self.options(fleet: [("MachineID", "m1")]))}"#)
        #expect(await fake.unit("a.service")?.machineID == "m1")
        // Over the control API, as a test in another process would.
        let dropped = await fake.handle(FakeHTTPRequest(method: "DELETE", path: "/_fake/machines/m1"))
        #expect(dropped.status == 204)
        #expect(await fake.unit("a.service")?.machineID == "m2")
        #expect(await fake.unit("pinned.service")?.machineID == nil)
        #expect(await fake.states.map(\.name) == ["a.service"])
        // The machine comes back: the pinned unit runs again; the other stays where it is.
        let back = await fake.handle(FakeHTTPRequest(method: "POST", path: "/_fake/machines",
                                                     body: Array(#"{"id":"m1","primaryIP":"10.213.0.11"}"#.utf8)))
        #expect(back.status == 201)
        #expect(await fake.unit("pinned.service")?.machineID == "m1")
        #expect(await fake.unit("a.service")?.machineID == "m2")
        #expect(await fake.handle(FakeHTTPRequest(method: "DELETE", path: "/_fake/machines/zz")).status == 404)
    }

    @Test func patchingMetadataMovesUnits() async {
        let fake = FakeFleet(machines: Self.machines)
        _ = await put(fake, "db.service", #"{"desiredState":"launched","options":\#(Self.options(fleet: [("MachineMetadata", "role=db")]))}"#)
        #expect(await fake.unit("db.service")?.machineID == "m3")
        // m3 stops being a db machine and m2 becomes one (JSON Patch's value, and fleet's own `{"value": …}` form).
        let patch = #"[{"op":"replace","path":"/m3/metadata/role","value":"web"},{"op":"add","path":"/m2/metadata/role","value":{"value":"db"}}]"#
        var r = await call(fake, "PATCH", "/machines", patch)
        #expect(r.status == 204)
        #expect(await fake.unit("db.service")?.machineID == "m2")
        let machines = await call(fake, "GET", "/machines")
        #expect(machines.json?["machines"]?.array?.first { $0["id"]?.string == "m2" }?["metadata"]?["role"]?.string == "db")
        r = await call(fake, "PATCH", "/machines", #"[{"op":"remove","path":"/m2/metadata/role"}]"#)
        #expect(r.status == 204)
        #expect(await fake.unit("db.service")?.machineID == nil)
        // Refusals, none applied.
        for (body, message) in [
            (#"[{"op":"move","path":"/m1/metadata/x","value":"y"}]"#, "invalid op: expect add, remove, or replace"),
            (#"[{"op":"add","path":"/m1/x","value":"y"}]"#, "machine metadata path invalid"),
            (#"[{"op":"add","path":"/m1/metadata/x"}]"#, "invalid value: add and replace require a value"),
        ] {
            r = await call(fake, "PATCH", "/machines", body)
            #expect(r.status == 400)
            #expect(errorMessage(r) == message)
        }
        r = await call(fake, "PATCH", "/machines", "[]", contentType: "text/plain")
        #expect(r.status == 415)
    }

    @Test func discoveryServesTheOfficialDocument() async throws {
        let fake = FakeFleet()
        let r = await call(fake, "GET", "/discovery")
        #expect(r.status == 200)
        #expect(r.json?["id"]?.string == "fleet:v1")
        // The copy in Tests/Fixtures is the official one (when the official copy is at hand to compare).
        let official = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/specs/fleet-v1.json").path
        let copy = try #require(FakeFleet.officialDiscovery())
        #expect(r.body == copy)
        if let shared = FileManager.default.contents(atPath: official) { #expect([UInt8](shared) == copy) }
    }

    @Test func countsAndTheControlAPI() async {
        let fake = FakeFleet(machines: Self.machines)
        _ = await call(fake, "GET", "/units")
        _ = await call(fake, "GET", "/units")
        _ = await put(fake, "a.service", #"{"desiredState":"launched","options":\#(Self.options())}"#)
        #expect(await fake.requestCount("GET", "/units") == 2)
        #expect(await fake.requestCount("PUT", "/units/{unitName}") == 1)
        #expect(await fake.requestCount(method: "GET") == 2)
        let counts = await fake.handle(FakeHTTPRequest(method: "GET", path: "/_fake/counts"))
        #expect(counts.json?["GET /units"]?.int == 2)
        _ = await fake.handle(FakeHTTPRequest(method: "DELETE", path: "/_fake/counts"))
        #expect(await fake.requestCounts.isEmpty)
    }
}
