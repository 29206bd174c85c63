import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoProviders

/// `otto images build [NAME]`: builds local images (rootfs layers for the `local` provider) from images/*.yml.
struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build golden images.", subcommands: [Build.self])

    /// `otto images build [NAME]`.
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build one image (and its parents), or all, as local layers; unchanged recipes are never rebuilt.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The image to build (default: every image in images/).") var name: String?
        @Option(name: .long, help: "The local provider whose settings to use (default: the inventory's local provider).")
        var provider: String?

        func run() async throws {
            do {
                let ctx = try await ProjectContext.open(global)
                let images = ctx.project.images
                let locals = ctx.project.inventory.providers.values.filter { $0.type == "local" }.sorted { $0.name < $1.name }
                let config: ProviderConfig?
                if let provider {
                    guard let c = locals.first(where: { $0.name == provider }) else {
                        throw OttoError("images.provider", "no local provider `\(provider)` in inventory/ (local providers: \(locals.map(\.name).joined(separator: ", ")))")
                    }
                    config = c
                } else { config = locals.first }
                let builder = LocalImageBuilder(settings: try LocalSettings(config))
                let names: [String]
                if let name {
                    guard images[name] != nil else {
                        throw OttoError("images.unknown", "image `\(name)` is not defined in images/ (defined: \(images.keys.sorted().joined(separator: ", ")))")
                    }
                    names = [name]
                } else { names = images.keys.sorted() }
                if names.isEmpty { Terminal.out("No images are defined in images/.\n"); return }
                for n in names {
                    let image = try await builder.build(n, recipes: images, projectRoot: ctx.root) { Terminal.out("  \($0)\n") }
                    let how = image.cached ? "cached" : String(format: "built in %.1f s", image.seconds)
                    Terminal.out("\(n)  \(image.shortID)  \(how)\n")
                }
            } catch { throw fail(error) }
        }
    }
}
