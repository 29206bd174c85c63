import Foundation
import OttoConfig
import OttoCore
import OttoTestTags
import Testing
@testable import OttoProviders

@Suite(.serialized, .enabled(if: geteuid() == 0, "the local provider needs root"), .tags(.machines), .endToEnd)
struct LocalImageBuilderTests {
    @Test func unchangedRecipeIsCachedAndChangedRecipeGetsNewID() async throws {
        let builder = LocalImageBuilder(settings: LocalTestSupport.settings)
        let recipes = try LocalTestSupport.recipes()
        var start = Date()
        let first = try await builder.build("tweb", recipes: recipes, projectRoot: "/nonexistent") { print("[image] \($0)") }
        print("[timing] image tweb: \(first.cached ? "cached" : "built") in \(LocalTestSupport.seconds(since: start))")
        #expect(first.layers.count == 2)
        #expect(first.layers[0] == builder.directory(first.id) + "/upper")
        #expect(FileManager.default.fileExists(atPath: builder.directory(first.id) + "/complete"))
        #expect(try String(contentsOfFile: first.layers[0] + "/etc/motd", encoding: .utf8) == "otto test layer\n")
        #expect(try String(contentsOfFile: first.layers[0] + "/etc/otto-built", encoding: .utf8) == "built\n")
        // the base is de-personalised
        let base = first.layers[1]
        #expect(try String(contentsOfFile: base + "/etc/machine-id", encoding: .utf8) == "")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/etc/ssh").allSatisfy { !$0.hasPrefix("ssh_host_") })
        #expect(FileManager.default.isExecutableFile(atPath: base + "/usr/sbin/sshd"))
        // no build leftovers in the layer
        #expect(!FileManager.default.fileExists(atPath: first.layers[0] + "/usr/sbin/policy-rc.d"))

        start = Date()
        let second = try await builder.build("tweb", recipes: recipes, projectRoot: "/nonexistent") { _ in }
        print("[timing] image tweb again: \(LocalTestSupport.seconds(since: start))")
        #expect(second.cached)
        #expect(second.id == first.id)
        #expect(try builder.cached("tweb", recipes: recipes, projectRoot: "/nonexistent")?.id == first.id)

        let stamp = UUID().uuidString
        let changed = try LocalTestSupport.recipes(motd: "changed \(stamp)\n")
        #expect(try builder.cached("tweb", recipes: changed, projectRoot: "/nonexistent") == nil)
        let baseCompleteDate = try FileManager.default.attributesOfItem(atPath: builder.directory(try builder.identify("tbase", recipes: recipes, projectRoot: "/").first!.id) + "/complete")[.modificationDate] as? Date
        start = Date()
        let third = try await builder.build("tweb", recipes: changed, projectRoot: "/nonexistent") { _ in }
        print("[timing] changed layer: built in \(LocalTestSupport.seconds(since: start))")
        #expect(!third.cached)
        #expect(third.id != first.id)
        #expect(third.layers[1] == first.layers[1]) // the unchanged base is shared, not rebuilt
        let baseAfter = try FileManager.default.attributesOfItem(atPath: third.layers[1] + "/../complete")[.modificationDate] as? Date
        #expect(baseAfter == baseCompleteDate)
        #expect(try String(contentsOfFile: third.layers[0] + "/etc/motd", encoding: .utf8) == "changed \(stamp)\n")
        try LocalRootFS.removeTree(third.directory) // one-off layer: do not let test runs pile them up
    }

    @Test func halfBuiltLayerIsDiscardedAndRebuilt() async throws {
        let builder = LocalImageBuilder(settings: LocalTestSupport.settings)
        let recipes = try LocalTestSupport.recipes(motd: "half built\n")
        let id = try builder.identify("tweb", recipes: recipes, projectRoot: "/").first!.id
        _ = try await builder.build("tbase", recipes: recipes, projectRoot: "/") { _ in }
        let dir = builder.directory(id)
        try FileManager.default.createDirectory(atPath: dir + "/upper/junk", withIntermediateDirectories: true)
        #expect(try builder.cached("tweb", recipes: recipes, projectRoot: "/") == nil)
        let image = try await builder.build("tweb", recipes: recipes, projectRoot: "/") { _ in }
        #expect(!image.cached)
        #expect(!FileManager.default.fileExists(atPath: dir + "/upper/junk"))
        #expect(try String(contentsOfFile: dir + "/upper/etc/motd", encoding: .utf8) == "half built\n")
        try LocalRootFS.removeTree(dir)
    }

    @Test func layerInstallsPackagesWithoutLeftovers() async throws {
        let builder = LocalImageBuilder(settings: LocalTestSupport.settings)
        let start = Date()
        let image = try await builder.build("tnginx", recipes: try LocalTestSupport.recipes(), projectRoot: "/") { print("[image] \($0)") }
        print("[timing] image tnginx: \(image.cached ? "cached" : "built") in \(LocalTestSupport.seconds(since: start))")
        let layer = image.layers[0]
        #expect(FileManager.default.isExecutableFile(atPath: layer + "/usr/sbin/nginx"))
        #expect(!FileManager.default.fileExists(atPath: layer + "/usr/sbin/policy-rc.d"))
        #expect(try String(contentsOfFile: layer + "/etc/resolv.conf", encoding: .utf8) == "")
        let lists = (try? FileManager.default.contentsOfDirectory(atPath: layer + "/var/lib/apt/lists")) ?? []
        #expect(lists.allSatisfy { $0 == "partial" || $0 == "lock" || $0.hasPrefix(".wh.") }, "\(lists)")
    }

    @Test func unknownImagesAreRejected() throws {
        let builder = LocalImageBuilder(settings: LocalTestSupport.settings)
        #expect(throws: OttoError.self) { try builder.identify("nope", recipes: try LocalTestSupport.recipes(), projectRoot: "/") }
    }
}
