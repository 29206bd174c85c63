import Foundation
import OttoCore

/// Builds `images/*.yml` recipes into content-addressed layers under `<state_dir>/images/<id>/`.
///
/// - A base (no `from`) is a debootstrap `--variant=minbase` tree (`rootfs/`) with systemd, sshd and the recipe's
///   packages, de-personalised (no machine-id, host keys, hostname or resolver of the build host).
/// - A layer with `from:` is the `upper/` directory of an overlay on its parent chain, in which the packages were
///   installed, files written and commands run inside a chroot.
///
/// The id hashes the canonical recipe, the parent's id and the contents of `source:` files, so an unchanged recipe is
/// never rebuilt. A `complete` marker is written last; a layer without it is discarded and rebuilt.
public struct LocalImageBuilder: Sendable {
    /// Provider settings (state directory, mirror, suite).
    public var settings: LocalSettings

    /// Packages every base gets (machines boot systemd and serve ssh; they have no network to fetch more).
    public static let basePackages = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "procps",
                                      "ca-certificates", "coreutils"]

    /// Creates a builder.
    public init(settings: LocalSettings) { self.settings = settings }

    /// `<state_dir>/images`.
    public var imagesDirectory: String { settings.stateDir + "/images" }

    /// The ids of `name` and its parents, topmost first, computed from the recipes (nothing is built).
    public func identify(_ name: String, recipes: [String: ImageRecipe], projectRoot: String) throws -> [(recipe: ImageRecipe, id: String)] {
        let suite = settings.suite
        return try ImageIdentity.chain(name, recipes: recipes, projectRoot: projectRoot, header: "otto-local-image 1") { recipe in
            "base \(recipe.suite ?? suite) include \(Self.basePackages.joined(separator: ","))"
        }.map { ($0.recipe, $0.hash) }
    }

    /// The bytes a recipe file holds (inline content, or the project-relative `source:` file).
    func fileContents(_ f: ImageRecipe.File, projectRoot: String) throws -> [UInt8] {
        try ImageIdentity.fileContents(f, projectRoot: projectRoot)
    }

    /// The image when it is already built and complete, else nil (nothing is built).
    public func cached(_ name: String, recipes: [String: ImageRecipe], projectRoot: String) throws -> LocalImage? {
        let chain = try identify(name, recipes: recipes, projectRoot: projectRoot)
        guard chain.allSatisfy({ isComplete($0.id) }) else { return nil }
        return image(chain, cached: true, seconds: 0)
    }

    /// Builds `name` and whatever parents are missing; returns at once when everything is already built.
    public func build(_ name: String, recipes: [String: ImageRecipe], projectRoot: String,
                      progress: (String) -> Void) async throws -> LocalImage {
        let start = Date()
        let chain = try identify(name, recipes: recipes, projectRoot: projectRoot)
        if chain.allSatisfy({ isComplete($0.id) }) { return image(chain, cached: true, seconds: 0) }
        guard geteuid() == 0 else {
            throw OttoError("image.root", "building local images needs root (debootstrap, mounts and chroot); run otto as root")
        }
        try FileManager.default.createDirectory(atPath: imagesDirectory, withIntermediateDirectories: true)
        // parents first
        for index in chain.indices.reversed() {
            let (recipe, id) = chain[index]
            try FileManager.default.createDirectory(atPath: imagesDirectory + "/.locks", withIntermediateDirectories: true)
            let lock = try await LocalFileLock.acquire("\(imagesDirectory)/.locks/\(id)")
            defer { withExtendedLifetime(lock) {} }
            if !isComplete(id) {
                let layerStart = Date()
                progress("building image \(recipe.name) (\(id.prefix(12)))\(recipe.from == nil ? " with debootstrap" : "")")
                let dir = directory(id)
                try await discardPartial(dir)
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                let parentLayers = index + 1 < chain.count ? layers(Array(chain[(index + 1)...])) : []
                do {
                    if recipe.from == nil { try await buildBase(recipe, dir: dir, projectRoot: projectRoot) }
                    else { try await buildLayer(recipe, dir: dir, parentLayers: parentLayers, projectRoot: projectRoot) }
                } catch {
                    try? await LocalRootFS(root: dir).unmountAll()
                    throw OttoError("image.build", "building image `\(recipe.name)` failed; the log is \(dir)/build.log", cause: error)
                }
                try LocalHost.write(Self.metadata(recipe, id: id, parent: index + 1 < chain.count ? chain[index + 1].id : nil),
                                    to: dir + "/image.json")
                try LocalHost.write("", to: dir + "/complete") // last: marks the layer usable
                progress("built image \(recipe.name) (\(id.prefix(12))) in \(String(format: "%.1f", Date().timeIntervalSince(layerStart))) s")
            }
        }
        return image(chain, cached: false, seconds: Date().timeIntervalSince(start))
    }

    /// Deletes the layers no recipe produces any more and no machine of this state directory uses; returns their ids
    /// (with `dryRun`, the ids it would delete).
    public func prune(recipes: [String: ImageRecipe], projectRoot: String, dryRun: Bool) async throws -> [String] {
        var wanted = Set<String>()
        for name in recipes.keys { for link in try identify(name, recipes: recipes, projectRoot: projectRoot) { wanted.insert(link.id) } }
        let machines = settings.stateDir + "/machines"
        var used = Set<String>()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: machines)) ?? [] {
            guard let record = LocalMachineRecord.load(machines + "/" + entry + "/machine.json") else { continue }
            for layer in record.layers { used.insert((layer as NSString).deletingLastPathComponent) }
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? []
        let doomed = entries.filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) && !wanted.contains($0) && !used.contains(directory($0)) }.sorted()
        guard !dryRun, !doomed.isEmpty else { return doomed }
        try FileManager.default.createDirectory(atPath: imagesDirectory + "/.locks", withIntermediateDirectories: true)
        for id in doomed {
            let lock = try await LocalFileLock.acquire("\(imagesDirectory)/.locks/\(id)")
            defer { withExtendedLifetime(lock) {} }
            try await discardPartial(directory(id))
        }
        return doomed
    }

    /// `<state_dir>/images/<id>`.
    public func directory(_ id: String) -> String { "\(imagesDirectory)/\(id)" }

    /// True when layer `id` was built completely.
    public func isComplete(_ id: String) -> Bool { FileManager.default.fileExists(atPath: directory(id) + "/complete") }

    private func image(_ chain: [(recipe: ImageRecipe, id: String)], cached: Bool, seconds: Double) -> LocalImage {
        LocalImage(name: chain[0].recipe.name, id: chain[0].id, layers: layers(chain), directory: directory(chain[0].id),
                   cached: cached, seconds: seconds)
    }

    /// Layer directories of a chain (topmost first).
    private func layers(_ chain: [(recipe: ImageRecipe, id: String)]) -> [String] {
        chain.map { $0.recipe.from == nil ? directory($0.id) + "/rootfs" : directory($0.id) + "/upper" }
    }

    private static func metadata(_ recipe: ImageRecipe, id: String, parent: String?) -> String {
        let fields: [String: Value] = ["name": .string(recipe.name), "id": .string(id), "parent": parent.map(Value.string) ?? .null]
        let data = (try? JSONEncoder().encode(fields)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Removes a half-built layer (unmounting whatever a crashed build left mounted in it).
    private func discardPartial(_ dir: String) async throws {
        guard FileManager.default.fileExists(atPath: dir) else { return }
        try await LocalRootFS(root: dir).unmountAll()
        try LocalRootFS.removeTree(dir)
    }
}
