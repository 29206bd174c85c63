import Foundation
import OttoConfig
import OttoCore
import Testing
@testable import OttoProviders

/// One content hash per recipe chain for every provider, and machines that name a recipe planning with it.
@Suite struct ImageIdentityTests {
    static func recipes(motd: String = "hello\n") throws -> [String: ImageRecipe] {
        try Project.load(sources: [
            ("images/base.yml", "image: base\nbase: { suite: bookworm }\npackages: [curl]\n"),
            ("images/web.yml", "image: web\nfrom: base\nfiles:\n  - { path: /etc/motd, content: \(Value.string(motd)) }\nrun: [\"true\"]\n"),
        ]).images
    }

    /// The local id is the hash of the same canonical text as before the identity was shared (built layers stay valid).
    @Test func localIdsAreTheCanonicalTextsHash() throws {
        let builder = LocalImageBuilder(settings: LocalSettings())
        let chain = try builder.identify("web", recipes: try Self.recipes(), projectRoot: "/")
        let base = "otto-local-image 1\nbase bookworm include \(LocalImageBuilder.basePackages.joined(separator: ","))\npackage \"curl\"\n"
        #expect(chain[1].id == ContentHash.sha256(Array(base.utf8)))
        let web = "otto-local-image 1\nfrom \(chain[1].id)\nfile \"/etc/motd\" 0644 \"root\" \(ContentHash.sha256(Array("hello\n".utf8)))\nrun \"true\"\n"
        #expect(chain[0].id == ContentHash.sha256(Array(web.utf8)))
    }

    @Test func referencesParse() {
        let hash = String(repeating: "ab", count: 32)
        let reference = ImageIdentity.reference("web", hash: hash)
        #expect(reference == "web@abababababab")
        #expect(ImageIdentity.parseReference(reference)?.recipe == "web")
        #expect(ImageIdentity.parseReference(reference)?.shortHash == "abababababab")
        for other in ["debian-12-x64", "ami-0123456789abcdef0", "123456", "web@xyz", "a@b@c"] {
            #expect(ImageIdentity.parseReference(other) == nil, "\(other)")
        }
    }

    /// A local machine naming a recipe plans as `RECIPE@HASH12`; a changed byte changes it (and `image` forces a
    /// replacement); an image that names no recipe is left alone.
    @Test func localMachinesNamingARecipeChangeWithIt() throws {
        func provider(_ recipes: [String: ImageRecipe]) -> LocalMachineProvider {
            LocalMachineProvider(settings: LocalSettings(stateDir: "/nonexistent"), recipes: recipes, projectRoot: "/")
        }
        let machine = Resource(address: "machine.demo.web[0]", provider: "local", attributes: ["name": "demo-web-0", "image": "web"])
        let before = provider(try Self.recipes()).derive(machine).attributes["image"]?.stringValue ?? ""
        let after = provider(try Self.recipes(motd: "hello!\n")).derive(machine).attributes["image"]?.stringValue ?? ""
        #expect(before.hasPrefix("web@") && after.hasPrefix("web@") && before != after)
        #expect(LocalMachineProvider.kindSchemas[0].forceNew.contains("image"))
        let other = Resource(address: "machine.demo.x[0]", provider: "local", attributes: ["name": "x", "image": "nope"])
        #expect(provider(try Self.recipes()).derive(other).attributes["image"] == "nope")
    }
}
