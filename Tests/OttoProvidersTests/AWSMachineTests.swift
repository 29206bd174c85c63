import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// EC2 instances against a real moto_server.
@Suite(.tags(.moto), .endToEnd) struct AWSMachineTests {
    func machine(_ index: Int = 0, image: String = MotoServer.ubuntuXenialAMI, size: String = "t3.micro", name: String? = nil,
                 keyName: String? = nil, groups: [String] = []) -> Resource {
        Resource(address: ResourceAddress(kind: "machine", name: "demo.web[\(index)]"), provider: "aws", attributes: [
            "name": .string(name ?? "demo-web-\(index)"), "group": "web", "site": "demo", "image": .string(image),
            "size": .string(size), "region": "us-east-1", "user_data": "#cloud-config\n",
            "key_name": keyName.map(Value.string) ?? .null, "security_groups": .list(groups.map(Value.string)),
        ])
    }

    /// RunInstances sent straight to moto, the way someone else (or a lost otto request) makes an instance.
    func runOutside(_ server: MotoServer, name: String, tags: [(String, String)] = [], token: String? = nil) async throws -> String {
        var form = "Action=RunInstances&Version=2016-11-15&ImageId=\(MotoServer.ubuntuXenialAMI)&MinCount=1&MaxCount=1&InstanceType=t3.micro"
        if let token { form += "&ClientToken=\(token)" }
        let all = [("Name", name)] + tags
        form += "&TagSpecification.1.ResourceType=instance"
        for (index, (key, value)) in all.enumerated() {
            form += "&TagSpecification.1.Tag.\(index + 1).Key=\(SigV4Signer.uriEncode(key))&TagSpecification.1.Tag.\(index + 1).Value=\(SigV4Signer.uriEncode(value))"
        }
        let answer = try await server.awsCurl(service: "ec2", form: form)
        return try #require(AWSTest.values("instanceId", in: answer).first, "RunInstances answered: \(answer)")
    }

    func state(_ server: MotoServer, _ id: String) async throws -> String? {
        let answer = try await server.awsCurl(service: "ec2", form: "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-id&Filter.1.Value.1=\(id)")
        return answer.components(separatedBy: "<instanceState>").dropFirst().first.flatMap { AWSTest.values("name", in: $0).first }
    }

    func instances(_ server: MotoServer, taggedKey key: String) async throws -> [String] {
        let answer = try await server.awsCurl(service: "ec2", form: "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag:otto:key&Filter.1.Value.1=\(key)")
        return AWSTest.values("instanceId", in: answer)
    }

    @Test func createObserveUpdateReplaceDelete() async throws {
        try await AWSTest.withMoto { server, provider in
            let groupID = try #require(AWSTest.values("groupId", in: try await server.awsCurl(
                service: "ec2", form: "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=web&GroupDescription=web")).first)
            let web = machine(0, keyName: "otto-aws", groups: [groupID])
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(web)]).isEmpty)

            let created = try await provider.create(web, idempotencyKey: "0123456789abcdef0123")
            #expect(created.providerID.hasPrefix("i-"))
            #expect(AWSTest.noDiff(created, web, provider))
            #expect(created.attributes["status"] == "running")
            #expect(created.attributes["ipv4"]?.stringValue?.isEmpty == false)
            #expect(created.attributes["private_ipv4"]?.stringValue?.isEmpty == false)
            #expect(created.attributes["key_name"] == "otto-aws")
            #expect(created.attributes["security_groups"] == .list([.string(groupID)]))
            #expect(created.attributes["ssh_user"] == "admin" && created.attributes["ssh_port"] == 22)
            #expect(created.attributes["ssh_key"] == "/keys/otto" && created.attributes["host_key"] == .null)

            // A second observation, by id or by name, shows no difference with the desired attributes.
            let byID = try await provider.observe(kind: "machine", [AWSTest.request(web, id: created.providerID)])
            #expect(AWSTest.noDiff(byID[web.address], web, provider))
            #expect(byID[web.address]?.attributes == created.attributes)
            let byName = try await provider.observe(kind: "machine", [AWSTest.request(web)])
            #expect(byName[web.address]?.providerID == created.providerID)
            let tags = try await server.awsCurl(service: "ec2", form: "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=\(created.providerID)")
            for expected in ["otto:managed", "otto:address", "machine.demo.web[0]", "otto:key", "0123456789abcdef0123", "otto:group", "otto:site"] {
                #expect(tags.contains(expected))
            }
            #expect(AWSTest.values("clientToken", in: tags) == ["0123456789abcdef0123"])

            // Size (stop, modify, start) and name (tag) change in place.
            var resized = machine(0, size: "t3.small", name: "demo-web-zero", keyName: "otto-aws", groups: [groupID])
            resized.attributes["group"] = "frontend"
            let updated = try await provider.update(resized, current: try #require(byID[web.address]), changed: ["size", "name", "group"])
            #expect(updated.providerID == created.providerID)
            #expect(updated.attributes["size"] == "t3.small" && updated.attributes["status"] == "running")
            let afterUpdate = try await provider.observe(kind: "machine", [AWSTest.request(resized, id: created.providerID)])
            #expect(AWSTest.noDiff(afterUpdate[web.address], resized, provider))

            // Replace (a new image forces it): delete, then create; the old instance is gone.
            try await provider.delete(web.address, current: updated)
            let replacement = machine(0, image: MotoServer.ubuntuTrustyAMI, size: "t3.small", name: "demo-web-zero")
            let second = try await provider.create(replacement, idempotencyKey: "0123456789abcdef0124")
            #expect(second.providerID != created.providerID)
            #expect(try await state(server, created.providerID) == "terminated")
            let old = try await provider.observe(kind: "machine", [AWSTest.request(web, id: created.providerID)])
            #expect(old.isEmpty)
            #expect(AWSTest.noDiff(try await provider.observe(kind: "machine", [AWSTest.request(replacement, id: second.providerID)])[web.address],
                                   replacement, provider))

            try await provider.delete(web.address, current: second)
            try await provider.delete(web.address, current: second)  // already gone: fine
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(replacement, id: second.providerID)]).isEmpty)
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(replacement)]).isEmpty)
        }
    }

    @Test func instanceTerminatedBehindOttosBackIsGone() async throws {
        try await AWSTest.withMoto { server, provider in
            let web = machine(1)
            let created = try await provider.create(web)
            _ = try await server.awsCurl(service: "ec2", form: "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=\(created.providerID)")
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(web, id: created.providerID)]).isEmpty)
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(web)]).isEmpty)
            try await provider.delete(web.address, current: created)  // terminating a terminated instance is fine
        }
    }

    @Test func pendingKeyFindsAnInstanceOfALostRunInstances() async throws {
        try await AWSTest.withMoto { server, provider in
            let web = machine(2)
            // otto's RunInstances reached EC2 but the answer never came back, then otto died: the instance exists with
            // otto's tags and key, and state only knows the key.
            let key = "aaaabbbbccccddddeeee"
            let id = try await runOutside(server, name: "demo-web-2", tags: [("otto:managed", "otto"), ("otto:address", "machine.demo.web[2]"),
                                                                      ("otto:key", key)], token: key)
            var renamed = web
            renamed.attributes["name"] = "some-other-name"  // found by key, not by name
            let found = try await provider.observe(kind: "machine", [ObserveRequest(address: web.address, providerID: nil,
                                                                                    attributes: renamed.attributes, pendingKey: key)])
            #expect(found[web.address]?.providerID == id)
            #expect(found[web.address]?.attributes["name"] == "demo-web-2")
        }
    }

    @Test func lostRunInstancesAnswerMakesNoDuplicate() async throws {
        try await AWSTest.withMoto { server, _ in
            let proxy = try await FaultProxy.start(target: server.endpoint)
            defer { proxy.stop() }
            let provider = AWSTest.provider(endpoint: proxy.endpoint)
            try await proxy.inject("lose", matching: "Action=RunInstances")
            let key = "ffffeeeeddddccccbbbb"
            let created = try await provider.create(machine(3), idempotencyKey: key)
            #expect(try await proxy.hits() == 1)
            #expect(try await instances(server, taggedKey: key) == [created.providerID])
            #expect(created.attributes["status"] == "running")
        }
    }

    @Test func instancesOttoDidNotMakeAreNeverListedOrDeleted() async throws {
        try await AWSTest.withMoto { server, provider in
            let web = machine(4)
            let untagged = try await runOutside(server, name: "demo-web-4")
            let otherInstall = try await runOutside(server, name: "demo-web-4", tags: [("otto:managed", "someone-else"),
                                                                                 ("otto:address", "machine.demo.web[4]")])
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(web)]).isEmpty)
            let created = try await provider.create(web)
            #expect(![untagged, otherInstall].contains(created.providerID))
            let observed = try await provider.observe(kind: "machine", [AWSTest.request(web)])
            #expect(observed[web.address]?.providerID == created.providerID)
            try await provider.delete(web.address, current: created)
            #expect(try await state(server, untagged) == "running")
            #expect(try await state(server, otherInstall) == "running")
            #expect(try await provider.observe(kind: "machine", [AWSTest.request(web)]).isEmpty)
        }
    }

    @Test func importedInstanceIsObservedById() async throws {
        try await AWSTest.withMoto { server, provider in
            let id = try await runOutside(server, name: "legacy")
            let request = ObserveRequest(address: "machine.demo.legacy[0]", providerID: id, attributes: [:])
            let found = try await provider.observe(kind: "machine", [request])
            #expect(found[request.address]?.attributes["name"] == "legacy")
            #expect(found[request.address]?.attributes["image"] == .string(MotoServer.ubuntuXenialAMI))
            #expect(try await provider.observe(kind: "machine", [ObserveRequest(address: "machine.demo.x[0]", providerID: "i-0123456789abcdef0",
                                                                                attributes: [:])]).isEmpty)
        }
    }

    @Test func ec2RefusalsCarryAWSMessageAndNoCredentials() async throws {
        try await AWSTest.withMoto { _, provider in
            let error = await #expect(throws: OttoError.self) { try await provider.create(machine(0, image: "xyz")) }
            #expect(error?.code == "provider.aws.api")
            #expect(error?.message.hasPrefix("AWS refused to run instance demo-web-0 (machine.demo.web[0]): InvalidAMIID.Malformed: ") == true)
            let missingGroup = await #expect(throws: OttoError.self) { try await provider.create(machine(0, groups: ["sg-00000000000000000"])) }
            #expect(missingGroup?.message.contains("InvalidGroup.NotFound") == true)
            for error in [error, missingGroup].compactMap({ $0 }) {
                #expect(!AWSTest.text(error).contains(AWSTest.secret))
                #expect(!AWSTest.text(error).contains("SESSION"))
            }
        }
    }

    @Test func refusedCredentialsGetAHint() async throws {
        // With INITIAL_NO_AUTH_ACTION_COUNT=0 moto checks every access key against its IAM: ours is unknown.
        try await AWSTest.withMoto(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"]) { _, provider in
            let error = await #expect(throws: OttoError.self) { try await provider.observe(kind: "machine", [AWSTest.request(machine())]) }
            #expect(error?.code == "provider.aws.auth")
            #expect(error?.message.contains("AWS refused the credentials of provider `aws` while trying to list instances") == true)
            #expect(error?.message.contains(provider.settings.credentials.accessKeyID) == true)
            #expect(error.map { !AWSTest.text($0).contains(AWSTest.secret) } == true)
            #expect(error.map { !AWSTest.text($0).contains("SESSION") } == true)
        }
    }

    @Test func observationPagesAndWaitsInBulk() async throws {
        try await AWSTest.withMoto(pageSize: 5) { server, provider in
            let machines = (0..<12).map { machine($0) }
            try await withThrowingTaskGroup(of: ObservedResource.self) { group in
                for resource in machines { group.addTask { try await provider.create(resource) } }
                for try await created in group { #expect(created.attributes["status"] == "running") }
            }
            let before = provider.client.http.requestCounts["aws"] ?? 0
            let observed = try await provider.observe(kind: "machine", machines.map { AWSTest.request($0) })
            #expect(observed.count == 12)
            for resource in machines { #expect(AWSTest.noDiff(observed[resource.address], resource, provider)) }
            let calls = (provider.client.http.requestCounts["aws"] ?? 0) - before
            #expect(calls == 3)  // 12 instances, 5 a page
            // 12 launches and their waits: one RunInstances each, and the waits share their polls.
            #expect(before < 12 + 12)
            _ = server
        }
    }
}
