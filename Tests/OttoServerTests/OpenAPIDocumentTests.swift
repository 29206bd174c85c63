import Foundation
import OttoServer
import Testing

/// The hand-written OpenAPI document names exactly the routes the server has, with their auth, and every reference in
/// it resolves.
@Suite struct OpenAPIDocumentTests {
    static func text() async throws -> String {
        let f = try ServerFixture()
        return try await f.withClient { c in try await c.get("/openapi.json", as: .anonymous).text }
    }

    static func document() async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(try await text().utf8)) as? [String: Any] ?? [:]
    }

    @Test func routesMatch() async throws {
        let doc = try await Self.document()
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, item) in paths {
            for (method, operation) in item where method != "parameters" {
                documented.insert("\(method.uppercased()) \(path)")
                let route = try #require(RouteTable.all.first { $0.method.rawValue == method.uppercased() && $0.path == path })
                let security = (operation as? [String: Any])?["security"] as? [Any]
                #expect((security?.isEmpty == true) == (route.scope == nil), "\(route): security \(String(describing: security))")
                let responses = (operation as? [String: Any])?["responses"] as? [String: Any] ?? [:]
                #expect(responses.keys.contains("400"), "\(route) documents 400")
                if route.scope != nil {
                    #expect(responses.keys.contains("401") && responses.keys.contains("403"), "\(route) documents 401 and 403")
                }
            }
        }
        #expect(documented == Set(RouteTable.all.map(\.description)))
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
