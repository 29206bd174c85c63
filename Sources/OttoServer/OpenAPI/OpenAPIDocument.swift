import OttoCore
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// The OpenAPI document of the API, `openapi.yaml` in this target's sources. Its JSON text (`text`, in
/// `OpenAPIDocument+JSON.swift`) is made from the YAML at build time by OpenAPIDocumentPlugin; the generated server
/// (swift-openapi-generator) is made from the same file. What the server needs from the document at run time (each
/// operation's auth, query parameters and body) is read from it here, so there is no second list of routes.
enum OpenAPIDocument {
    /// The operation that serves the document (`GET /openapi.json`): ``RequestMiddleware`` sends ``text`` itself as
    /// its body, byte for byte, rather than the generated serializer's re-encoding of ``object``.
    static let operationID = "openapi"

    /// The document as `GET /openapi.json` serves it.
    static let object: OpenAPIObjectContainer = {
        do {
            return try JSONDecoder().decode(OpenAPIObjectContainer.self, from: Data(text.utf8))
        } catch {
            preconditionFailure("openapi.yaml did not turn into a JSON object: \(error)")
        }
    }()

    /// Every operation of the document, in its order.
    static let operations: [APIOperation] = {
        do {
            return try APIOperation.read(from: Data(text.utf8))
        } catch {
            preconditionFailure("openapi.yaml: \(error)")
        }
    }()

    /// Operations by operation id.
    static let operationsByID: [String: APIOperation] = Dictionary(uniqueKeysWithValues: operations.map { ($0.id, $0) })
}

/// One operation of the OpenAPI document as the server enforces it: its route, the scope a token needs, the query
/// parameters it takes and whether it reads a body.
public struct APIOperation: Sendable, Hashable, CustomStringConvertible {
    /// One query parameter.
    public struct QueryParameter: Sendable, Hashable {
        /// Its name.
        public var name: String
        /// True when the request must give it.
        public var required: Bool
        /// True when it may be given several times (an array).
        public var repeatable: Bool
        /// What it is, from the document.
        public var description: String
    }

    /// The operation id (`listInventory`).
    public var id: String
    /// HTTP method.
    public var method: HTTPRequest.Method
    /// Path template, e.g. `/inv/{item}` (trailing slash as the document has it).
    public var path: String
    /// Scope a token needs: nil when the operation's `security` is empty (open to everyone), else `read` for GET and
    /// `write` for the other methods (as the document's security schemes say).
    public var scope: Scope?
    /// The query parameters it takes.
    public var query: [QueryParameter]
    /// Nil when it takes no body; else whether the body is required.
    public var bodyRequired: Bool?

    /// `GET /inv/{item}`
    public var description: String { "\(method.rawValue) \(path)" }

    /// Every operation of the served document.
    public static var all: [APIOperation] { OpenAPIDocument.operations }

    /// True when `requestPath` fits the template (segments compared one by one; `{x}` matches any non-empty segment;
    /// a trailing slash is ignored, as the router ignores it).
    func matches(_ requestPath: String) -> Bool {
        let want = path.split(separator: "/"), have = requestPath.split(separator: "/")
        guard want.count == have.count else { return false }
        return zip(want, have).allSatisfy { w, h in w.hasPrefix("{") || w == h }
    }

    /// The methods some operation allows at `path` (for 405 answers), sorted.
    static func methods(at path: String) -> [String] {
        Array(Set(all.filter { $0.matches(path) }.map(\.method.rawValue))).sorted()
    }

    struct DocumentError: Error, CustomStringConvertible {
        var description: String
    }

    /// The keys of a path item that are operations.
    static let httpMethods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// Reads the operations of a JSON OpenAPI 3.0 document (`$ref`s to `#/components/parameters` resolved).
    static func read(from json: Data) throws -> [APIOperation] {
        guard let doc = try JSONSerialization.jsonObject(with: json) as? [String: Any],
              let paths = doc["paths"] as? [String: Any] else { throw DocumentError(description: "no paths") }
        let globalSecurity = doc["security"] as? [Any] ?? []
        func resolve(_ item: Any) -> [String: Any] {
            guard let object = item as? [String: Any] else { return [:] }
            guard let ref = object["$ref"] as? String else { return object }
            let parts = ref.split(separator: "/").dropFirst().map(String.init)
            var node: Any = doc
            for part in parts { node = (node as? [String: Any])?[part] ?? [:] }
            return node as? [String: Any] ?? [:]
        }
        var operations: [APIOperation] = []
        // JSONSerialization does not keep key order: sort for a stable order.
        for path in paths.keys.sorted() {
            guard let item = paths[path] as? [String: Any] else { continue }
            let shared = (item["parameters"] as? [Any] ?? []).map(resolve)
            for (key, value) in item.sorted(by: { $0.key < $1.key }) where httpMethods.contains(key) {
                guard let op = value as? [String: Any], let id = op["operationId"] as? String else {
                    throw DocumentError(description: "\(key.uppercased()) \(path) has no operationId")
                }
                let method = HTTPRequest.Method(key.uppercased())!
                let security = op["security"] as? [Any] ?? globalSecurity
                var parameters: [String: [String: Any]] = [:]
                for p in shared + (op["parameters"] as? [Any] ?? []).map(resolve) {
                    if let name = p["name"] as? String, p["in"] as? String == "query" { parameters[name] = p }
                }
                let query = parameters.keys.sorted().map { name in
                    let p = parameters[name]!
                    let schema = resolve(p["schema"] ?? [:])
                    return QueryParameter(name: name, required: p["required"] as? Bool ?? false,
                                          repeatable: schema["type"] as? String == "array",
                                          description: p["description"] as? String ?? "")
                }
                let body = (op["requestBody"]).map { resolve($0)["required"] as? Bool ?? false }
                operations.append(APIOperation(id: id, method: method, path: path,
                                               scope: security.isEmpty ? nil : (method == .get ? .read : .write),
                                               query: query, bodyRequired: body))
            }
        }
        return operations
    }
}
