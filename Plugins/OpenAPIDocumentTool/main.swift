// Build-time tool of OpenAPIDocumentPlugin: `OpenAPIDocumentTool IN.yaml OUT.swift` reads the OpenAPI document in YAML
// and writes a Swift file holding it as JSON text (keys in the YAML's order, two-space indentation), the body of
// `GET /openapi.json`. YAML scalars are typed as YAML 1.1 core resolves them (Yams): quoted ones stay strings.
import Foundation
import Yams

struct ToolError: Error, CustomStringConvertible {
    var description: String
}

func json(_ node: Node, indent: String, into out: inout String) throws {
    let inner = indent + "  "
    switch node {
    case .mapping(let mapping):
        if mapping.isEmpty { out += "{}"; return }
        out += "{\n"
        for (i, (key, value)) in mapping.enumerated() {
            guard case .scalar(let k) = key else { throw ToolError(description: "line \(key.mark?.line ?? 0): keys must be scalars") }
            out += inner + quoted(k.string) + ": "
            try json(value, indent: inner, into: &out)
            out += i == mapping.count - 1 ? "\n" : ",\n"
        }
        out += indent + "}"
    case .sequence(let sequence):
        if sequence.isEmpty { out += "[]"; return }
        out += "[\n"
        for (i, item) in sequence.enumerated() {
            out += inner
            try json(item, indent: inner, into: &out)
            out += i == sequence.count - 1 ? "\n" : ",\n"
        }
        out += indent + "]"
    case .scalar(let scalar):
        switch Tag.Name(rawValue: node.tag.rawValue) {
        case .null: out += "null"
        case .bool:
            guard let b = Bool.construct(from: scalar) else { throw ToolError(description: "bad boolean \(scalar.string)") }
            out += b ? "true" : "false"
        case .int:
            guard let i = Int.construct(from: scalar) else { throw ToolError(description: "bad integer \(scalar.string)") }
            out += String(i)
        case .float:
            guard let d = Double.construct(from: scalar), d.isFinite else { throw ToolError(description: "bad number \(scalar.string)") }
            out += d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) + ".0" : String(d)
        default: out += quoted(scalar.string)
        }
    case .alias:
        throw ToolError(description: "YAML aliases are not used in openapi.yaml")
    }
}

func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20 || u.value == 0x7F: out += String(format: "\\u%04x", u.value)
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: OpenAPIDocumentTool IN.yaml OUT.swift\n".utf8))
    exit(2)
}
do {
    let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
    guard let root = try Yams.compose(yaml: text) else { throw ToolError(description: "the document is empty") }
    var body = ""
    try json(root, indent: "", into: &body)
    var hashes = "#"
    while body.contains("\"" + hashes) || body.contains("\\" + hashes) { hashes += "#" }
    let source = """
        // Generated at build time by OpenAPIDocumentPlugin from openapi.yaml: do not edit.
        extension OpenAPIDocument {
            /// The OpenAPI document as JSON text, exactly what `GET /openapi.json` serves.
            static let text = \(hashes)\"\"\"
        \(body)
        \"\"\"\(hashes)
        }

        """
    try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("\(arguments[1]): \(error)\n".utf8))
    exit(1)
}
