import Foundation
import OttoCore
import Synchronization

/// The content hash that names a built image, the same idea for every provider: the canonical text of the recipe
/// (packages, files with the SHA-256 of their bytes, commands), its parent's hash, and for a base the provider's
/// starting point (the local debootstrap suite and packages, DigitalOcean's base image slug, AWS's base AMI).
/// An image carrying the hash is reused; one changed byte makes a new one.
public enum ImageIdentity {
    /// One recipe of a chain and its hash.
    public struct Link: Sendable, Hashable {
        /// The recipe.
        public var recipe: ImageRecipe
        /// Its hash (SHA-256 hex).
        public var hash: String
    }

    /// `name` and its parents, topmost first, with their hashes. `header` starts every canonical text; `base` is the
    /// line that stands for where a recipe without `from` starts.
    public static func chain(_ name: String, recipes: [String: ImageRecipe], projectRoot: String, header: String,
                             base: (ImageRecipe) -> String) throws -> [Link] {
        var chain: [ImageRecipe] = []
        var seen: Set<String> = []
        var current: String? = name
        while let n = current {
            guard seen.insert(n).inserted else {
                throw OttoError("image.cycle", "image `\(name)` is built from itself through \(chain.map(\.name).joined(separator: " → "))")
            }
            guard let recipe = recipes[n] else {
                throw OttoError("image.unknown", "image `\(n)` is not defined: add images/\(n).yml (known: \(recipes.keys.sorted().joined(separator: ", ")))")
            }
            chain.append(recipe)
            current = recipe.from?.value
        }
        var out: [Link] = []
        var parent: String?
        for recipe in chain.reversed() {
            var lines = [header]
            if let parent { lines.append("from \(parent)") } else { lines.append(base(recipe)) }
            for p in recipe.packages { lines.append("package \(Value.string(p))") }
            for f in recipe.files {
                let bytes = try fileContents(f, projectRoot: projectRoot)
                lines.append("file \(Value.string(f.path)) \(f.mode) \(Value.string(f.owner)) \(ContentHash.sha256(bytes))")
            }
            for r in recipe.run { lines.append("run \(Value.string(r))") }
            let hash = ContentHash.sha256(Array((lines.joined(separator: "\n") + "\n").utf8))
            out.append(Link(recipe: recipe, hash: hash))
            parent = hash
        }
        return out.reversed()
    }

    /// The bytes a recipe file holds (inline content, or the project-relative `source:` file).
    public static func fileContents(_ f: ImageRecipe.File, projectRoot: String) throws -> [UInt8] {
        if let content = f.content { return Array(content.utf8) }
        let source = f.source ?? ""
        let path = source.hasPrefix("/") ? source : projectRoot + "/" + source
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OttoError("image.source", "cannot read \(path) (the `source:` of \(f.path))")
        }
        return Array(data)
    }

    /// How a machine names a built image in its `image` attribute: `RECIPE@HASH12`.
    public static func reference(_ recipe: String, hash: String) -> String { "\(recipe)@\(hash.prefix(12))" }

    /// The recipe and short hash of a `RECIPE@HASH12` reference, nil for anything else (a slug, an id).
    public static func parseReference(_ text: String) -> (recipe: String, shortHash: String)? {
        let parts = text.split(separator: "@")
        guard parts.count == 2, parts[1].count == 12, parts[1].allSatisfy(\.isHexDigit) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}

/// The recipe hashes one provider instance computed (recipe name → hash), so `derive` reads recipes' files once per
/// run; shared by the local, DigitalOcean and AWS providers.
final class RecipeHashes: Sendable {
    private let cache = Mutex<[String: String]>([:])

    /// `RECIPE@HASH12` for `image` when it names one of `recipes`, else nil; `identify` computes a recipe's hash
    /// (nil when it cannot: the create reports why).
    func reference(_ image: String, recipes: [String: ImageRecipe], identify: (String) throws -> String) -> String? {
        guard recipes[image] != nil else { return nil }
        return cache.withLock { known in
            if let hash = known[image] { return ImageIdentity.reference(image, hash: hash) }
            guard let hash = try? identify(image) else { return nil }
            known[image] = hash
            return ImageIdentity.reference(image, hash: hash)
        }
    }
}
