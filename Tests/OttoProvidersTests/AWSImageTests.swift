import Foundation
import OttoConfig
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// AMIs built from recipes, against a real moto_server: found by their hash tag and reused (nothing launched), machines
/// that name a recipe resolve to it, a changed recipe gets a new hash, and prune deletes only what no recipe produces
/// and no instance uses. (Builds themselves boot machines: see the end-to-end image tests.)
@Suite(.tags(.moto), .endToEnd) struct AWSImageTests {
    static func recipes(motd: String = "hello\n") throws -> [String: ImageRecipe] {
        try Project.load(sources: [
            ("images/base.yml", "image: base\nbase: { suite: bookworm }\nrun: [\"echo base > /etc/otto-base\"]\n"),
            ("images/web.yml", "image: web\nfrom: base\nfiles:\n  - { path: /etc/motd, content: \(Value.string(motd)) }\n"),
        ]).images
    }

    /// CreateImage of a throwaway instance, tagged as otto tags what it builds; returns the AMI id.
    func seedImage(_ server: MotoServer, name: String, hash: String?) async throws -> String {
        let run = try await server.awsCurl(service: "ec2", form: "Action=RunInstances&Version=2016-11-15&ImageId=\(MotoServer.ubuntuXenialAMI)&MinCount=1&MaxCount=1&InstanceType=t3.micro")
        let instance = try #require(AWSTest.values("instanceId", in: run).first)
        let made = try await server.awsCurl(service: "ec2", form: "Action=CreateImage&Version=2016-11-15&InstanceId=\(instance)&Name=\(name)")
        let image = try #require(AWSTest.values("imageId", in: made).first, "CreateImage answered \(made)")
        if let hash {
            _ = try await server.awsCurl(service: "ec2", form: "Action=CreateTags&Version=2016-11-15&ResourceId.1=\(image)&Tag.1.Key=otto:image_hash&Tag.1.Value=\(hash)")
        }
        _ = try await server.awsCurl(service: "ec2", form: "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=\(instance)")
        return image
    }

    func liveInstances(_ server: MotoServer) async throws -> Int {
        let answer = try await server.awsCurl(service: "ec2", form: "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name&Filter.1.Value.1=pending&Filter.1.Value.2=running&Filter.1.Value.3=stopped")
        return AWSTest.values("instanceId", in: answer).count
    }

    @Test func builtImagesAreReusedByHashAndMachinesResolveToThem() async throws {
        let server = try await MotoServer.start()
        defer { server.stop() }
        let recipes = try Self.recipes()
        let provider = AWSTest.provider(endpoint: server.endpoint, recipes: recipes, baseImage: MotoServer.ubuntuXenialAMI)
        let chain = try provider.images.identify("web")
        #expect(chain.map(\.recipe.name) == ["web", "base"])
        #expect(chain[0].hash != chain[1].hash)
        // The same recipes on another base AMI are other images.
        let other = AWSTest.provider(endpoint: server.endpoint, recipes: recipes, baseImage: MotoServer.ubuntuTrustyAMI)
        #expect(try other.images.identify("web")[0].hash != chain[0].hash)

        let baseAMI = try await seedImage(server, name: CloudImage.name(recipe: "base", hash: chain[1].hash), hash: chain[1].hash)
        let webAMI = try await seedImage(server, name: CloudImage.name(recipe: "web", hash: chain[0].hash), hash: chain[0].hash)
        let instancesBefore = try await liveInstances(server)
        let built = try await provider.images.build("web") { _ in }
        #expect(built.cached && built.id == webAMI && built.hash == chain[0].hash)
        #expect(try await provider.images.cached("base")?.id == baseAMI)
        #expect(try await liveInstances(server) == instancesBefore)  // nothing launched

        // A machine naming the recipe plans as `web@HASH12`, and is made from the AMI.
        let machine = Resource(address: "machine.demo.web[0]", provider: "aws", attributes: [
            "name": "demo-web-0", "image": "web", "size": "t3.micro", "security_groups": .list([]),
        ])
        let derived = provider.derive(machine)
        #expect(derived.attributes["image"] == .string(ImageIdentity.reference("web", hash: chain[0].hash)))
        let created = try await provider.create(derived, idempotencyKey: "k-web-0")
        #expect(created.attributes["image"] == derived.attributes["image"])
        let answer = try await server.awsCurl(service: "ec2", form: "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=\(created.providerID)")
        #expect(AWSTest.values("imageId", in: answer).first == webAMI)
        let seen = try await provider.observe(kind: "machine", [AWSTest.request(derived, id: created.providerID)])
        #expect(AWSTest.noDiff(seen[derived.address], derived, provider))

        // One changed byte: a new hash for web (base unchanged), and the running machine would be replaced.
        let changed = AWSTest.provider(endpoint: server.endpoint, recipes: try Self.recipes(motd: "hello!\n"), baseImage: MotoServer.ubuntuXenialAMI)
        let newChain = try changed.images.identify("web")
        #expect(newChain[0].hash != chain[0].hash && newChain[1].hash == chain[1].hash)
        #expect(changed.derive(machine).attributes["image"] != derived.attributes["image"])
        #expect(provider.schema(for: "machine")?.forceNew.contains("image") == true)

        // Prune with the changed recipes: the old web AMI is no recipe's, but an instance runs from it: kept.
        #expect(try await changed.images.prune(dryRun: false).isEmpty)
        try await provider.delete(derived.address, current: created)
        let pruned = try await changed.images.prune(dryRun: false)
        #expect(pruned.map(\.id) == [webAMI])
        let listed = try await changed.images.listImages()
        #expect(listed.map(\.id) == [baseAMI])
    }

    @Test func buildingNeedsABaseImageAndALoginKey() async throws {
        let provider = AWSTest.provider(endpoint: "http://127.0.0.1:9", recipes: try Self.recipes())
        #expect(throws: OttoError.self) { try provider.images.identify("web") }
        // Without a base AMI a recipe name is not resolved: the machine's image stays as written.
        let machine = Resource(address: "machine.demo.web[0]", provider: "aws", attributes: ["name": "x", "image": "web", "size": "t3.micro"])
        #expect(provider.derive(machine).attributes["image"] == "web")
    }
}
