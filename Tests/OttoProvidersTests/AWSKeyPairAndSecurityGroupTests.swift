import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// EC2 key pairs and security groups against a real moto_server.
@Suite(.tags(.moto), .endToEnd) struct AWSKeyPairAndSecurityGroupTests {
    /// A fresh ed25519 public key line (`ssh-ed25519 AAAA… comment`).
    func publicKey(comment: String = "otto@test") async throws -> String {
        let dir = try TempDir(prefix: "otto-awskey")
        defer { dir.cleanup() }
        let result = try await runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", dir.file("key")])
        #expect(result.status == 0)
        return try String(contentsOfFile: dir.file("key.pub"), encoding: .utf8)
    }

    func key(_ publicKey: String, name: String = "otto-aws") -> Resource {
        Resource(address: "ssh_key.aws", provider: "aws", attributes: ["name": .string(name), "public_key": .string(publicKey)])
    }

    func group(_ ports: [Int], cidr: String = "0.0.0.0/0", extra: [Value] = []) -> Resource {
        Resource(address: "security_group.demo", provider: "aws", attributes: [
            "name": "otto-demo", "description": "otto site demo",
            "ingress": .list(ports.map { ["protocol": "tcp", "port": .int($0), "cidr": .string(cidr)] } + extra),
        ])
    }

    func importOutside(_ server: MotoServer, name: String, publicKey: String) async throws {
        let material = SigV4Signer.uriEncode(Data(publicKey.utf8).base64EncodedString())
        let answer = try await server.awsCurl(service: "ec2", form: "Action=ImportKeyPair&Version=2016-11-15&KeyName=\(name)&PublicKeyMaterial=\(material)")
        #expect(answer.contains("<keyName>\(name)</keyName>"))
    }

    @Test func keyPairLifecycle() async throws {
        try await AWSTest.withMoto { server, provider in
            let first = key(try await publicKey())
            #expect(try await provider.observe(kind: "ssh_key", [AWSTest.request(first)]).isEmpty)
            let created = try await provider.create(first)
            #expect(created.providerID.hasPrefix("key-"))
            #expect(AWSTest.noDiff(created, first, provider))
            #expect(created.attributes["owned"] == true)
            #expect(created.attributes["fingerprint"]?.stringValue?.isEmpty == false)
            let observed = try await provider.observe(kind: "ssh_key", [AWSTest.request(first, id: created.providerID)])
            #expect(observed[first.address]?.attributes == created.attributes)

            // A new key forces a replacement: delete, then import again under the same name.
            let second = key(try await publicKey())
            let current = try #require(try await provider.observe(kind: "ssh_key", [AWSTest.request(second)])[second.address])
            #expect(current.attributes["public_key"] != second.attributes["public_key"])
            try await provider.delete(second.address, current: current)
            let replaced = try await provider.create(second)
            #expect(AWSTest.noDiff(try await provider.observe(kind: "ssh_key", [AWSTest.request(second)])[second.address], second, provider))
            try await provider.delete(second.address, current: replaced)
            try await provider.delete(second.address, current: replaced)
            #expect(try await provider.observe(kind: "ssh_key", [AWSTest.request(second)]).isEmpty)
            _ = server
        }
    }

    @Test func keyPairsOttoDidNotMakeAreAdoptedButNeverDeleted() async throws {
        try await AWSTest.withMoto { server, provider in
            let material = try await publicKey(comment: "operator@laptop")
            try await importOutside(server, name: "otto-aws", publicKey: material)
            // Same key, another comment: adopted as it is, not owned.
            let wanted = key(material.replacingOccurrences(of: "operator@laptop", with: "otto@ci"))
            let adopted = try await provider.create(wanted)
            #expect(adopted.attributes["owned"] == false)
            #expect(AWSTest.noDiff(adopted, wanted, provider))
            try await provider.delete(wanted.address, current: adopted)
            #expect(try await server.awsCurl(service: "ec2", form: "Action=DescribeKeyPairs&Version=2016-11-15").contains("<keyName>otto-aws</keyName>"))

            // Another key under the name otto wants: a clear error, nothing changed.
            let conflicting = key(try await publicKey())
            let error = await #expect(throws: OttoError.self) { try await provider.create(conflicting) }
            #expect(error?.code == "provider.aws.key_conflict")
            #expect(error?.message.contains("otto-aws") == true)
        }
    }

    @Test func securityGroupLifecycleAndDrift() async throws {
        try await AWSTest.withMoto { server, provider in
            let web = group([22, 80])
            #expect(try await provider.observe(kind: "security_group", [AWSTest.request(web)]).isEmpty)
            let created = try await provider.create(web)
            #expect(created.providerID.hasPrefix("sg-"))
            #expect(AWSTest.noDiff(created, web, provider))
            #expect(created.attributes["vpc_id"]?.stringValue?.hasPrefix("vpc-") == true)
            #expect(created.attributes["owned"] == true)
            let observed = try #require(try await provider.observe(kind: "security_group", [AWSTest.request(web, id: created.providerID)])[web.address])
            #expect(AWSTest.noDiff(observed, web, provider))

            // Ports change: 80 goes, 443 (IPv4 and IPv6) comes.
            let changed = group([22, 443], extra: [["protocol": "tcp", "port": 443, "cidr": "::/0"]])
            let updated = try await provider.update(changed, current: observed, changed: ["ingress"])
            #expect(AWSTest.noDiff(updated, changed, provider))
            let afterUpdate = try #require(try await provider.observe(kind: "security_group", [AWSTest.request(changed, id: created.providerID)])[web.address])
            #expect(AWSTest.noDiff(afterUpdate, changed, provider))

            // Someone revokes port 22: observation shows it, an update puts it back.
            _ = try await server.awsCurl(service: "ec2", form: "Action=RevokeSecurityGroupIngress&Version=2016-11-15&GroupId=\(created.providerID)&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=0.0.0.0/0")
            let drifted = try #require(try await provider.observe(kind: "security_group", [AWSTest.request(changed, id: created.providerID)])[web.address])
            #expect(!AWSTest.noDiff(drifted, changed, provider))
            #expect(drifted.attributes["ingress"]?.listValue?.count == 2)
            _ = try await provider.update(changed, current: drifted, changed: ["ingress"])
            #expect(AWSTest.noDiff(try await provider.observe(kind: "security_group", [AWSTest.request(changed)])[web.address], changed, provider))

            try await provider.delete(web.address, current: drifted)
            try await provider.delete(web.address, current: drifted)
            #expect(try await provider.observe(kind: "security_group", [AWSTest.request(changed, id: created.providerID)]).isEmpty)
        }
    }

    @Test func groupsOttoDidNotMakeAreAdoptedButNeverDeleted() async throws {
        try await AWSTest.withMoto { server, provider in
            let answer = try await server.awsCurl(service: "ec2", form: "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=otto-demo&GroupDescription=theirs")
            let theirs = try #require(AWSTest.values("groupId", in: answer).first)
            _ = try await server.awsCurl(service: "ec2", form: "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=unrelated&GroupDescription=x")
            let web = group([22])
            let observed = try #require(try await provider.observe(kind: "security_group", [AWSTest.request(web)])[web.address])
            #expect(observed.providerID == theirs && observed.attributes["owned"] == false)
            let adopted = try await provider.create(web)  // the group exists: adopted with the rules set
            #expect(adopted.providerID == theirs && adopted.attributes["owned"] == false)
            try await provider.delete(web.address, current: adopted)
            #expect(try await server.awsCurl(service: "ec2", form: "Action=DescribeSecurityGroups&Version=2016-11-15").contains(theirs))
        }
    }

    @Test func groupDeleteWaitsForInstancesToLetGo() async throws {
        try await AWSTest.withMoto { server, _ in
            let proxy = try await FaultProxy.start(target: server.endpoint)
            defer { proxy.stop() }
            let provider = AWSTest.provider(endpoint: proxy.endpoint)
            let created = try await provider.create(group([22]))
            let inUse = #"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>DependencyViolation</Code><Message>resource sg has a dependent object</Message></Error></Errors><RequestID>x</RequestID></Response>"#
            try await proxy.inject("respond", matching: "Action=DeleteSecurityGroup", count: 2, status: 400, body: inUse)
            try await provider.delete("security_group.demo", current: created)
            #expect(try await proxy.hits() == 2)
            #expect(try await provider.observe(kind: "security_group", [AWSTest.request(group([22]), id: created.providerID)]).isEmpty)

            // Still in use when the wait runs out: the error says so.
            let again = try await provider.create(group([22]))
            try await proxy.inject("respond", matching: "Action=DeleteSecurityGroup", count: 1000, status: 400, body: inUse)
            let error = await #expect(throws: OttoError.self) { try await provider.delete("security_group.demo", current: again) }
            #expect(error?.code == "provider.aws.in_use")
            #expect(error?.message.contains("DependencyViolation") == true)
        }
    }
}
