import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoProviders

/// `otto images build [NAME] | list | prune`: golden images from `images/*.yml` for every machine provider of the
/// inventory: local rootfs layers, DigitalOcean snapshots, EC2 AMIs. The same recipe makes each; an image carrying the
/// recipe's content hash is reused, so an unchanged recipe launches nothing.
struct Images: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build, list and prune golden images.", subcommands: [Build.self, List.self, Prune.self])

    /// Options that choose providers.
    struct Selection: ParsableArguments {
        @Option(name: .long, help: "Only this provider (repeatable; a name from inventory/, or a type: local, digitalocean or do, aws). Env: CLOWD_PROVIDERS or OTTO_PROVIDERS (comma-separated).")
        var provider: [String] = []
    }

    /// `otto images build [NAME]`.
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build one image (and its parents), or all, for each machine provider; unchanged recipes are never rebuilt.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: Selection
        @Argument(help: "The image to build (default: every image in images/).") var name: String?

        func run() async throws {
            do {
                let ctx = try await ProjectContext.open(global)
                let names = try ImageTargets.names(name, in: ctx.project.images)
                if names.isEmpty { Terminal.out("No images are defined in images/.\n"); return }
                let targets = try ImageTargets.resolve(ctx, selection.provider)
                let results = try await withThrowingTaskGroup(of: [(Int, [String])].self) { group in
                    for (index, target) in targets.enumerated() {
                        group.addTask { try await target.build(names, root: ctx.root).map { (index, $0) } }
                    }
                    var rows: [(Int, [String])] = []
                    for try await part in group { rows += part }
                    return rows
                }
                let rows = results.sorted { ($0.0, $0.1[0]) < ($1.0, $1.1[0]) }.map(\.1)
                Terminal.out(TextTable.render([["IMAGE", "PROVIDER", "HASH", "ID", "RESULT"]] + rows))
            } catch { throw fail(error) }
        }
    }

    /// `otto images list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each recipe's hash and where it is built, and images otto made that no recipe produces any more.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: Selection

        func run() async throws {
            do {
                let ctx = try await ProjectContext.open(global)
                var rows: [[String]] = [["IMAGE", "PROVIDER", "HASH", "BUILT"]]
                for target in try ImageTargets.resolve(ctx, selection.provider) {
                    rows += try await target.list(ctx.project.images.keys.sorted(), root: ctx.root)
                }
                Terminal.out(TextTable.render(rows))
            } catch { throw fail(error) }
        }
    }

    /// `otto images prune`.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete images otto made that no recipe produces any more and no machine uses.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: Selection
        @Flag(name: .long, help: "Only say what would be deleted.") var dryRun = false

        func run() async throws {
            do {
                let ctx = try await ProjectContext.open(global)
                var rows: [[String]] = [["PROVIDER", "ID", "NAME", dryRun ? "WOULD DELETE" : "DELETED"]]
                for target in try ImageTargets.resolve(ctx, selection.provider) {
                    rows += try await target.prune(dryRun: dryRun, root: ctx.root).map { $0 + [dryRun ? "yes" : "deleted"] }
                }
                if rows.count == 1 { Terminal.out("Nothing to prune: every image otto made is produced by a recipe or used by a machine.\n") }
                else { Terminal.out(TextTable.render(rows)) }
            } catch { throw fail(error) }
        }
    }
}

/// One provider images are built for.
enum ImageTarget: Sendable {
    case local(name: String, builder: LocalImageBuilder, recipes: [String: ImageRecipe])
    case cloud(name: String, type: String, builder: CloudImageBuilder)

    var label: String {
        switch self {
        case .local(let name, _, _): return name == "local" ? "local" : "\(name) (local)"
        case .cloud(let name, let type, _): return name == type ? name : "\(name) (\(type))"
        }
    }

    /// Builds `names` (recipes in parallel; parents are built once); one table row per image.
    func build(_ names: [String], root: String) async throws -> [[String]] {
        let label = self.label
        return try await withThrowingTaskGroup(of: [String].self) { group in
            for name in names {
                group.addTask {
                    let progress: @Sendable (String) -> Void = { Terminal.err("  \(label): \($0)\n") }
                    switch self {
                    case .local(_, let builder, let recipes):
                        let image = try await builder.build(name, recipes: recipes, projectRoot: root, progress: progress)
                        return [name, label, image.shortID, image.directory, image.cached ? "cached" : String(format: "built in %.1f s", image.seconds)]
                    case .cloud(_, _, let builder):
                        let image = try await builder.build(name, progress: progress)
                        return [name, label, image.shortHash, image.id, image.cached ? "cached" : String(format: "built in %.1f s", image.seconds)]
                    }
                }
            }
            var rows: [[String]] = []
            for try await row in group { rows.append(row) }
            return rows.sorted { $0[0] < $1[0] }
        }
    }

    /// Each recipe's hash and whether it is built; then images no recipe produces.
    func list(_ names: [String], root: String) async throws -> [[String]] {
        switch self {
        case .local(_, let builder, let recipes):
            return try names.map { name in
                let id = try builder.identify(name, recipes: recipes, projectRoot: root)[0].id
                return [name, label, String(id.prefix(12)), builder.isComplete(id) ? builder.directory(id) : "-"]
            }
        case .cloud(_, _, let builder):
            let listed = try await builder.listImages()
            var rows: [[String]] = []
            var produced = Set<String>()
            for name in names {
                let hash = try builder.identify(name)[0].hash
                produced.insert(hash)
                let found = listed.first { $0.hash == hash && $0.available }
                rows.append([name, label, String(hash.prefix(12)), found.map { "\($0.id) (\($0.name))" } ?? "-"])
            }
            for image in listed where !(image.hash.map(produced.contains) ?? false) {
                let what = image.hash == nil ? "half-made: the next build of its recipe settles it" : "no recipe produces it (otto images prune)"
                rows.append(["-", label, image.hash.map { String($0.prefix(12)) } ?? "-", "\(image.id) (\(image.name)): \(what)"])
            }
            return rows
        }
    }

    /// Deletes (or, with `dryRun`, lists) images no recipe produces and no machine uses: [provider, id, name].
    func prune(dryRun: Bool, root: String) async throws -> [[String]] {
        switch self {
        case .local(_, let builder, let recipes):
            return try await builder.prune(recipes: recipes, projectRoot: root, dryRun: dryRun).map { [label, String($0.prefix(12)), builder.directory($0)] }
        case .cloud(_, _, let builder):
            return try await builder.prune(dryRun: dryRun).map { [label, $0.id, $0.name] }
        }
    }
}

/// Which providers `otto images` works on.
enum ImageTargets {
    /// The recipes to build: `name` (checked) or all.
    static func names(_ name: String?, in images: [String: ImageRecipe]) throws -> [String] {
        guard let name else { return images.keys.sorted() }
        guard images[name] != nil else {
            throw OttoError("images.unknown", "image `\(name)` is not defined in images/ (defined: \(images.keys.sorted().joined(separator: ", ")))")
        }
        return [name]
    }

    /// Short names operators use for provider types (`CLOWD_PROVIDERS="do, aws, local"`).
    static let typeAliases = ["do": "digitalocean"]

    /// The machine providers of the inventory (local, digitalocean, aws) that `selected` (or `CLOWD_PROVIDERS`) names by
    /// name or type; all of them when nothing is named. Without any machine provider in the inventory, the default
    /// local settings.
    static func resolve(_ ctx: ProjectContext, _ selected: [String]) throws -> [ImageTarget] {
        var wanted = selected.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init) }
        let environment = ProcessInfo.processInfo.environment
        if wanted.isEmpty, let env = environment["CLOWD_PROVIDERS"] ?? environment["OTTO_PROVIDERS"] {
            wanted = env.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
        }
        let machineTypes: Set<String> = ["local", "digitalocean", "aws"]
        let configs = ctx.project.inventory.providers.values.filter { machineTypes.contains($0.type) }.sorted { $0.name < $1.name }
        let chosen = wanted.isEmpty ? configs : configs.filter { c in
            wanted.contains { $0 == c.name || $0 == c.type || typeAliases[$0] == c.type }
        }
        for w in wanted where !configs.contains(where: { w == $0.name || w == $0.type || typeAliases[w] == $0.type }) {
            // A type with no provider of it (CLOWD_PROVIDERS lists every provider a team uses) is skipped, not an error;
            // an unknown name is a typo.
            if !machineTypes.contains(w) && typeAliases[w] == nil && ctx.project.inventory.providers[w] == nil {
                throw OttoError("images.provider", "no machine provider `\(w)` in inventory/ (machine providers: \(configs.map(\.name).joined(separator: ", ")))")
            }
        }
        if configs.isEmpty && (wanted.isEmpty || wanted.contains("local")) {
            return [.local(name: "local", builder: LocalImageBuilder(settings: LocalSettings()), recipes: ctx.project.images)]
        }
        let providers = try ctx.providers(for: Set(chosen.filter { $0.type != "local" }.map(\.name)))
        return try chosen.map { c in
            switch c.type {
            case "local":
                return .local(name: c.name, builder: LocalImageBuilder(settings: try LocalSettings(c.settingValues)), recipes: ctx.project.images)
            case "digitalocean":
                guard let p = providers[c.name] as? DigitalOceanProvider else { throw OttoError("images.provider", "provider `\(c.name)` is not DigitalOcean") }
                return .cloud(name: c.name, type: c.type, builder: p.images)
            default:
                guard let p = providers[c.name] as? AWSProvider else { throw OttoError("images.provider", "provider `\(c.name)` is not AWS") }
                return .cloud(name: c.name, type: c.type, builder: p.images)
            }
        }
    }
}
