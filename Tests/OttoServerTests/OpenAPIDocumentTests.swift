import Foundation
import HTTPTypes
import Logging
import OpenAPIRuntime
import OttoConfig
@testable import OttoServer
import Synchronization
import Testing

/// The served OpenAPI document is openapi.yaml, it names exactly the routes the generated server registers, with
/// their auth, and every reference in it resolves.
@Suite struct OpenAPIDocumentTests {
    static func text() async throws -> String {
        let f = try ServerFixture()
        return try await f.withClient { c in try await c.get("/openapi.json", as: .anonymous).text }
    }

    static func document() async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try await text().utf8)) as? [String: Any] ?? [:]
    }

    /// The routes `registerHandlers(on:)` of the generated code registers: `GET /inv/{item}`.
    static func registeredRoutes() throws -> Set<String> {
        let f = try ServerFixture()
        let environment = APIEnvironment(configuration: f.configuration(), desired: DesiredStateAPI(store: f.desired), runs: f.runs, walks: f.walks,
                                         releases: f.store, deployments: f.store, metrics: { "" }, statusPage: { "" }, health: { nil },
                                         logger: .init(label: "test"))
        let recorder = RouteRecorder()
        try APIHandlers(environment: environment).registerHandlers(on: recorder, serverURL: Servers.Server1.url())
        return recorder.routes.withLock { $0 }
    }

    @Test func routesMatch() async throws {
        let doc = try await Self.document()
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, item) in paths {
            for (method, operation) in item where method != "parameters" {
                documented.insert("\(method.uppercased()) \(path)")
                let route = try #require(APIOperation.all.first { $0.method.rawValue == method.uppercased() && $0.path == path })
                let security = (operation as? [String: Any])?["security"] as? [Any]
                #expect((security?.isEmpty == true) == (route.scope == nil), "\(route): security \(String(describing: security))")
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                #expect(responses.keys.contains("400"), "\(route) documents 400")
                if route.scope != nil {
                    #expect(responses.keys.contains("401") && responses.keys.contains("403"), "\(route) documents 401 and 403")
                }
            }
        }
        #expect(documented == Set(APIOperation.all.map(\.description)))
        #expect(documented == (try Self.registeredRoutes()))
    }

    /// `GET /openapi.json` serves openapi.yaml: both parsed (the YAML by the configuration reader, not by the Yams
    /// the build uses) and compared value by value.
    @Test func servedDocumentIsTheYAMLFile() async throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/OttoServer/openapi.yaml").standardized.path
        let documents = try YAMLReader.parse(String(contentsOfFile: file, encoding: .utf8), displayPath: "openapi.yaml")
        try #require(documents.count == 1)
        let yaml = documents[0]
        let served = try JSONNodeReader.parse(try await Self.text(), file: "/openapi.json")
        let expected = Tree(yaml), got = Tree(served)
        #expect(got == expected)
        if case .object(let top) = expected { #expect(top.count >= 6) } else { Issue.record("openapi.yaml is not a mapping") }
    }

    @Test func referencesResolve() async throws {
        let text = try await Self.text()
        let doc = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        let components = doc["components"] as? [String: [String: Any]] ?? [:]
        let regex = try Regex(##""\$ref": "#/components/(\w+)/(\w+)""##)
        var count = 0
        for match in text.matches(of: regex) {
            count += 1
            let kind = String(match.output[1].substring ?? ""), name = String(match.output[2].substring ?? "")
            #expect(components[kind]?[name] != nil, "#/components/\(kind)/\(name)")
        }
        #expect(count > 50)
    }
}

/// A parsed document as plain values: mappings compared without their order, scalars by their resolved type.
indirect enum Tree: Equatable {
    case null, bool(Bool), int(Int), double(Double), string(String)
    case array([Tree])
    case object([String: Tree])

    init(_ node: YAMLNode) {
        switch node.content {
        case .sequence(let items): self = .array(items.map(Tree.init))
        case .mapping(let entries):
            self = .object(Dictionary(entries.map { ($0.key.text ?? "", Tree($0.value)) }, uniquingKeysWith: { a, _ in a }))
        case .scalar(let text, _):
            switch node.scalar {
            case .null?: self = .null
            case .bool(let b)?: self = .bool(b)
            case .int(let i)?: self = .int(i)
            case .double?: self = .double(Double(text) ?? .nan)
            case .string(let s)?: self = .string(s)
            case nil: self = .string(text)
            }
        }
    }
}

/// A `ServerTransport` that only notes what is registered.
final class RouteRecorder: ServerTransport, Sendable {
    let routes = Mutex<Set<String>>([])

    func register(_ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?),
                  method: HTTPRequest.Method, path: String) throws {
        routes.withLock { _ = $0.insert("\(method.rawValue) \(path)") }
    }
}
