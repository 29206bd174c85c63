import Foundation
import PackagePlugin

/// Turns the target's `openapi.yaml` into `OpenAPIDocument+JSON.swift`, the JSON text `GET /openapi.json` serves, at
/// build time: the document is written once, in YAML, and the server can serve nothing else.
@main struct OpenAPIDocumentPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        guard let target = target as? SwiftSourceModuleTarget else { return [] }
        guard let yaml = target.sourceFiles.first(where: { $0.url.lastPathComponent == "openapi.yaml" })?.url else {
            throw OpenAPIDocumentPluginError(message: "target \(target.name) has no openapi.yaml")
        }
        let output = context.pluginWorkDirectoryURL.appending(component: "OpenAPIDocument+JSON.swift")
        return [
            .buildCommand(displayName: "Converting \(yaml.lastPathComponent) to the served JSON document",
                          executable: try context.tool(named: "OpenAPIDocumentTool").url,
                          arguments: [yaml.path, output.path],
                          inputFiles: [yaml], outputFiles: [output]),
        ]
    }
}

struct OpenAPIDocumentPluginError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
