import ArgumentParser
import OttoConfig
import OttoCore

/// `otto validate`: parse and check everything; diagnostics as file:line:col: message.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Parse and check sites/, inventory/ and images/.")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        do {
            let ctx = try await ProjectContext.open(global)
            do { _ = try DependencyGraph(ctx.resources).topologicalOrder() } catch { throw DiagnosticsError(error.diagnostics) }
            // Every resource against its kind's declared attributes, as the planner checks them.
            let problems = ProviderSchemas.check(ctx.project)
            if !problems.isEmpty { throw DiagnosticsError(problems) }
            let sites = ctx.project.sites.count
            Terminal.out("The configuration is valid: \(ctx.resources.count) resources in \(sites) site\(sites == 1 ? "" : "s").\n")
        } catch { throw fail(error) }
    }
}
