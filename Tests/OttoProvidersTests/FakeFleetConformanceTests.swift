import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Checks JSON against fleet's discovery document (`Tests/Fixtures/fleet/fleet-v1.json`): each method's response (and
/// request) schema, property names and types, enums; error answers against fleet's error entity, which the document
/// does not describe. What the document leaves out (`PATCH /machines`) is checked for its answer only.
struct FleetDiscoveryChecker {
    /// `schemas` of the document, by id.
    let schemas: [String: JSONValue]
    /// `(httpMethod, path) → (request schema id, response schema id)` from `resources.*.methods`.
    let methods: [String: (request: String?, response: String?)]

    init(document: JSONValue) throws {
        schemas = try #require(document["schemas"]?.object)
        var methods: [String: (request: String?, response: String?)] = [:]
        for (_, resource) in document["resources"]?.object ?? [:] {
            for (_, method) in resource["methods"]?.object ?? [:] {
                guard let verb = method["httpMethod"]?.string, let path = method["path"]?.string else { continue }
                methods["\(verb) \(path)"] = (method["request"]?["$ref"]?.string, method["response"]?["$ref"]?.string)
            }
        }
        self.methods = methods
    }

    /// fleet's error entity (`api/serialization.go`), which the document does not describe.
    static let errorSchema: JSONValue = [
        "type": "object",
        "properties": ["error": ["type": "object", "properties": ["code": ["type": "integer"], "message": ["type": "string"]]]],
    ]

    /// Problems of `value` against `schema`, each with its JSON path.
    func check(_ value: JSONValue, _ schema: JSONValue, at path: String) -> [String] {
        if let ref = schema["$ref"]?.string {
            guard let target = schemas[ref] else { return ["\(path): unknown schema \(ref)"] }
            return check(value, target, at: path)
        }
        var problems: [String] = []
        switch schema["type"]?.string {
        case "object"?:
            guard case .object(let members) = value else { return ["\(path): expected an object, got \(value.text)"] }
            let properties = schema["properties"]?.object ?? [:]
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if let declared = properties[key] {
                    problems += check(member, declared, at: "\(path).\(key)")
                } else if let additional = schema["additionalProperties"] {
                    problems += check(member, additional, at: "\(path).\(key)")
                } else {
                    problems.append("\(path).\(key): not declared by the schema")
                }
            }
        case "array"?:
            guard case .array(let items) = value else { return ["\(path): expected an array, got \(value.text)"] }
            for (i, item) in items.enumerated() { problems += check(item, schema["items"] ?? [:], at: "\(path)[\(i)]") }
        case "string"?:
            guard case .string(let text) = value else { return ["\(path): expected a string, got \(value.text)"] }
            if let allowed = schema["enum"]?.array?.compactMap(\.string), !allowed.contains(text) {
                problems.append("\(path): \(Value.string(text)) is not one of \(allowed.joined(separator: ", "))")
            }
        case "integer"?:
            guard case .int = value else { return ["\(path): expected an integer, got \(value.text)"] }
        default:
            break
        }
        return problems
    }

    /// Problems of one exchange: a known method, its answer's Content-Type and body, its request body.
    func check(_ exchange: FakeFleetExchange) -> [String] {
        let name = "\(exchange.method) \(exchange.route) → \(exchange.status)"
        var problems: [String] = []
        if exchange.status >= 400 {
            if exchange.contentType != "application/json" { problems.append("\(name): an error answer must be application/json") }
            guard let body = exchange.responseBody else { return problems + ["\(name): an error answer must carry fleet's error entity"] }
            problems += check(body, Self.errorSchema, at: "body").map { "\(name): \($0)" }
            if body["error"]?["code"]?.int != exchange.status { problems.append("\(name): error.code is not the status") }
            return problems
        }
        if exchange.method == "PATCH" && exchange.route == "machines" {
            return exchange.status == 204 ? [] : ["\(name): PATCH /machines answers 204"]
        }
        if exchange.method == "GET" && exchange.route == "discovery" {
            return exchange.responseBody?["kind"]?.string == "discovery#restDescription" ? [] : ["\(name): not the discovery document"]
        }
        guard let method = methods["\(exchange.method) \(exchange.route)"] else {
            return ["\(name): the discovery document has no such method"]
        }
        if let request = method.request, let body = exchange.requestBody {
            problems += check(body, ["$ref": .string(request)], at: "request").map { "\(name): \($0)" }
        }
        if let response = method.response {
            guard let body = exchange.responseBody else { return problems + ["\(name): expected a \(response) body"] }
            problems += check(body, ["$ref": .string(response)], at: "body").map { "\(name): \($0)" }
        }
        return problems
    }
}

/// Keeps the fake fleet honest: every exchange of a provider run (and raw calls for what the provider does not use)
/// is checked against fleet's discovery document.
@Suite struct FakeFleetConformanceTests {
    static func checker() throws -> FleetDiscoveryChecker {
        let bytes = try #require(FakeFleet.officialDiscovery(), "Tests/Fixtures/fleet/fleet-v1.json is missing")
        return try FleetDiscoveryChecker(document: try #require(JSONValue.parse(bytes)))
    }

    @Test func everyExchangeMatchesTheDiscoveryDocument() async throws {
        let checker = try Self.checker()
        let fake = FakeFleet(machines: FakeFleetTests.machines, pageSize: 2)
        let server = try await FakeFleetServer.start(fake)
        defer { Task { await server.stop() } }
        await fake.record(true)
        let provider = FleetAPIProvider(name: "fleet", settings: FleetAPISettings(endpoint: .http(root: server.baseURL)),
                                        client: HTTPClient(configuration: HTTPClientConfiguration(retry: .none)))
        var resources: [Resource] = []
        for (i, state) in ["inactive", "loaded", "launched"].enumerated() {
            let r = FleetAPIProviderTests.unit("c\(i).service", state, fleet: i == 2 ? [("MachineMetadata", "role=web")] : [])
            resources.append(r)
            _ = try await provider.create(r)
        }
        let observed = try await provider.observe(kind: "fleet_unit", resources.map { ObserveRequest(address: $0.address, providerID: nil, attributes: $0.attributes) })
        #expect(observed.count == 3)
        let changed = FleetAPIProviderTests.unit("c0.service", "launched", exec: "/bin/true")
        _ = try await provider.update(changed, current: try #require(observed[changed.address]), changed: ["options", "desired_state"])
        try await provider.delete(resources[1].address, current: try #require(observed[resources[1].address]))
        // What the provider does not call, and refusals.
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: .none))
        for (method, path, body) in [("GET", "/machines", nil), ("GET", "/discovery", nil), ("GET", "/state/c2.service", nil),
                                     ("GET", "/units/c2.service", nil), ("GET", "/units/none.service", nil),
                                     ("PUT", "/units/x.service", #"{"desiredState":"launched"}"#),
                                     ("PATCH", "/machines", #"[{"op":"add","path":"/m1/metadata/zone","value":"a"}]"#),
                                     ("PATCH", "/machines", #"[{"op":"nope"}]"#), ("GET", "/units?nextPageToken=bad", nil)] as [(String, String, String?)] {
            var request = HTTPRequest(method: HTTPMethod(rawValue: method), url: server.baseURL + "/fleet/v1" + path,
                                      headers: body == nil ? [:] : ["Content-Type": "application/json"], body: Array((body ?? "").utf8))
            request.retry = RetryPolicy.none
            _ = try? await client.send(request)
        }
        let exchanges = await fake.exchanges
        #expect(exchanges.count > 20)
        var problems: [String] = []
        for exchange in exchanges { problems += checker.check(exchange) }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        // Every method of the document was answered successfully at least once.
        let answered = Set(exchanges.filter { $0.status < 300 }.map { "\($0.method) \($0.route)" })
        for method in checker.methods.keys.sorted() { #expect(answered.contains(method), "\(method) was never exercised") }
        // Paging happened (two per page).
        #expect(exchanges.contains { $0.responseBody?["nextPageToken"] != nil })
        await provider.shutdown()
    }

    @Test func theCheckerCatchesDrift() throws {
        let checker = try Self.checker()
        let bad = [
            FakeFleetExchange(method: "GET", route: "units/{unitName}", requestBody: nil, status: 200,
                              responseBody: ["name": "a.service", "machineId": "m1", "desiredState": "running"], contentType: "application/json"),
            FakeFleetExchange(method: "GET", route: "units", requestBody: nil, status: 200,
                              responseBody: ["units": ["a.service": [:]]], contentType: "application/json"),
            FakeFleetExchange(method: "GET", route: "state", requestBody: nil, status: 200,
                              responseBody: ["states": [["name": "a.service", "hash": 12]]], contentType: "application/json"),
            FakeFleetExchange(method: "PUT", route: "units/{unitName}", requestBody: nil, status: 409,
                              responseBody: ["error": "unit does not exist"], contentType: "text/plain"),
            FakeFleetExchange(method: "POST", route: "units", requestBody: nil, status: 200, responseBody: nil, contentType: nil),
        ]
        let problems = bad.flatMap(checker.check)
        for expected in ["body.machineId: not declared by the schema", "\"running\" is not one of inactive, loaded, launched",
                         "body.units: expected an array", "body.states[0].hash: expected a string", "must be application/json",
                         "body.error: expected an object", "the discovery document has no such method"] {
            #expect(problems.contains { $0.contains(expected) }, "missing \(expected) in:\n\(problems.joined(separator: "\n"))")
        }
    }
}
