import ArgumentParser
import Foundation
import OttoCore

/// `otto graph`: the dependency graph as DOT or JSON.
struct Graph: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the dependency graph (dot or json).")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "dot or json.") var format: String = "dot"

    func run() async throws {
        do {
            guard format == "dot" || format == "json" else { throw OttoError("cli.flags", "--format must be dot or json, not \(format)") }
            let ctx = try await ProjectContext.open(global)
            let graph = DependencyGraph(ctx.resources)
            do { _ = try graph.topologicalOrder() } catch { throw DiagnosticsError(error.diagnostics) }
            if format == "json" {
                let nodes = graph.nodes.map { a in ["address": a.description, "depends_on": graph.dependencies(of: a).map(\.description)] as [String: Any] }
                let data = try JSONSerialization.data(withJSONObject: ["nodes": nodes], options: [.sortedKeys, .prettyPrinted])
                Terminal.out(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                var out = "digraph otto {\n  rankdir=LR;\n"
                for n in graph.nodes { out += "  \"\(n)\";\n" }
                for e in graph.edges { out += "  \"\(e.from)\" -> \"\(e.to)\";\n" }
                Terminal.out(out + "}\n")
            }
        } catch { throw fail(error) }
    }
}
