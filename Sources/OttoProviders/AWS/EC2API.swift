import Foundation
import OttoHTTP

/// The EC2 operations otto uses. They throw `AWSServiceError` / `HTTPError` as they come; callers wrap them.
extension AWSClient {
    // MARK: Instances

    /// Every instance matching `filters`, all pages (MaxResults 1000 + NextToken).
    func describeInstances(filters: [(String, [String])]) async throws -> [EC2Instance] {
        var instances: [EC2Instance] = []
        var token: String?
        repeat {
            var query = EC2Query()
            for (name, values) in filters { query.filter(name, values) }
            query.set("MaxResults", String(ec2PageSize))
            if let token { query.set("NextToken", token) }
            let page = try await ec2("DescribeInstances", query, idempotent: true)
            for reservation in page.items("reservationSet") {
                instances += reservation.items("instancesSet").map(EC2Instance.init)
            }
            token = page.string("nextToken")
        } while token != nil
        return instances
    }

    /// What RunInstances needs for one instance.
    struct InstanceSpec: Sendable {
        var imageID: String
        var instanceType: String
        var keyName: String?
        var securityGroupIDs: [String]
        var userData: String?
        var tags: [(String, String)]
        /// The idempotency key (EC2 `ClientToken`, at most 64 ASCII characters).
        var clientToken: String
    }

    /// RunInstances for one instance. Not retried blindly by the HTTP client (see `AWSProvider.runInstance`).
    func runInstance(_ spec: InstanceSpec) async throws -> EC2Instance {
        var query = EC2Query()
        query.set("ImageId", spec.imageID)
        query.set("InstanceType", spec.instanceType)
        query.set("MinCount", "1")
        query.set("MaxCount", "1")
        query.set("ClientToken", spec.clientToken)
        if let key = spec.keyName { query.set("KeyName", key) }
        query.list("SecurityGroupId", spec.securityGroupIDs)
        if let data = spec.userData, !data.isEmpty { query.set("UserData", Data(data.utf8).base64EncodedString()) }
        query.tags(for: "instance", spec.tags)
        let answer = try await ec2("RunInstances", query, idempotent: false)
        guard let item = answer.items("instancesSet").first else {
            throw AWSServiceError(status: 200, code: "EmptyResponse", message: "RunInstances returned no instance", httpDescription: "POST \(ec2URL)")
        }
        return EC2Instance(item)
    }

    /// TerminateInstances; returns each instance's state after the call.
    func terminateInstances(_ ids: [String]) async throws -> [String: String] {
        var query = EC2Query()
        query.list("InstanceId", ids)
        let answer = try await ec2("TerminateInstances", query, idempotent: true)
        var states: [String: String] = [:]
        for item in answer.items("instancesSet") {
            if let id = item.string("instanceId") { states[id] = item.string("currentState", "name") ?? "" }
        }
        return states
    }

    /// StopInstances or StartInstances (`action`).
    func changeInstanceState(_ action: String, _ ids: [String]) async throws {
        var query = EC2Query()
        query.list("InstanceId", ids)
        _ = try await ec2(action, query, idempotent: true)
    }

    /// ModifyInstanceAttribute InstanceType (the instance must be stopped).
    func modifyInstanceType(_ id: String, _ type: String) async throws {
        var query = EC2Query()
        query.set("InstanceId", id)
        query.set("InstanceType.Value", type)
        _ = try await ec2("ModifyInstanceAttribute", query, idempotent: true)
    }

    /// CreateTags (adds or overwrites) on resources.
    func createTags(_ ids: [String], _ tags: [(String, String)]) async throws {
        guard !tags.isEmpty else { return }
        var query = EC2Query()
        query.list("ResourceId", ids)
        for (index, (key, value)) in tags.enumerated() {
            query.set("Tag.\(index + 1).Key", key)
            query.set("Tag.\(index + 1).Value", value)
        }
        _ = try await ec2("CreateTags", query, idempotent: true)
    }

    /// DeleteTags (the given keys, whatever their values) on resources.
    func deleteTags(_ ids: [String], keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        var query = EC2Query()
        query.list("ResourceId", ids)
        for (index, key) in keys.enumerated() { query.set("Tag.\(index + 1).Key", key) }
        _ = try await ec2("DeleteTags", query, idempotent: true)
    }

    // MARK: Images

    /// The account's own AMIs matching `filters`.
    func describeImages(filters: [(String, [String])]) async throws -> [EC2Image] {
        var query = EC2Query()
        query.list("Owner", ["self"])
        for (name, values) in filters { query.filter(name, values) }
        return try await ec2("DescribeImages", query, idempotent: true).items("imagesSet").map(EC2Image.init)
    }

    /// CreateImage of a (stopped) instance; returns the AMI id. Not retried blindly: a repeat with the same name fails.
    func createImage(instance: String, name: String, tags: [(String, String)]) async throws -> String {
        var query = EC2Query()
        query.set("InstanceId", instance)
        query.set("Name", name)
        query.set("NoReboot", "true")
        query.tags(for: "image", tags)
        let answer = try await ec2("CreateImage", query, idempotent: false)
        guard let id = answer.string("imageId") else {
            throw AWSServiceError(status: 200, code: "EmptyResponse", message: "CreateImage returned no image id", httpDescription: "POST \(ec2URL)")
        }
        return id
    }

    /// DeregisterImage.
    func deregisterImage(_ id: String) async throws {
        var query = EC2Query()
        query.set("ImageId", id)
        _ = try await ec2("DeregisterImage", query, idempotent: true)
    }

    /// DeleteSnapshot (an EBS snapshot behind a deregistered AMI).
    func deleteSnapshot(_ id: String) async throws {
        var query = EC2Query()
        query.set("SnapshotId", id)
        _ = try await ec2("DeleteSnapshot", query, idempotent: true)
    }

    // MARK: Key pairs

    /// Key pairs matching `filters` (with their public keys).
    func describeKeyPairs(filters: [(String, [String])]) async throws -> [EC2KeyPair] {
        var query = EC2Query()
        for (name, values) in filters { query.filter(name, values) }
        query.set("IncludePublicKey", "true")
        return try await ec2("DescribeKeyPairs", query, idempotent: true).items("keySet").map(EC2KeyPair.init)
    }

    /// ImportKeyPair with tags.
    func importKeyPair(name: String, publicKey: String, tags: [(String, String)]) async throws -> EC2KeyPair {
        var query = EC2Query()
        query.set("KeyName", name)
        query.set("PublicKeyMaterial", Data(publicKey.utf8).base64EncodedString())
        query.tags(for: "key-pair", tags)
        // Names are unique: a repeat whose first attempt did act answers InvalidKeyPair.Duplicate, which is adopted.
        var pair = EC2KeyPair(try await ec2("ImportKeyPair", query, idempotent: true))
        pair.publicKey = publicKey
        return pair
    }

    /// DeleteKeyPair by name (unique in a region), else by id; deleting a missing key pair is not an error in EC2.
    /// The name is preferred because moto ignores `KeyPairId`.
    func deleteKeyPair(name: String?, id: String) async throws {
        var query = EC2Query()
        if let name, !name.isEmpty { query.set("KeyName", name) } else { query.set("KeyPairId", id) }
        _ = try await ec2("DeleteKeyPair", query, idempotent: true)
    }

    // MARK: Security groups

    /// Security groups matching `filters`, all pages.
    func describeSecurityGroups(filters: [(String, [String])]) async throws -> [EC2SecurityGroup] {
        var groups: [EC2SecurityGroup] = []
        var token: String?
        repeat {
            var query = EC2Query()
            for (name, values) in filters { query.filter(name, values) }
            query.set("MaxResults", String(ec2PageSize))
            if let token { query.set("NextToken", token) }
            let page = try await ec2("DescribeSecurityGroups", query, idempotent: true)
            groups += page.items("securityGroupInfo").map(EC2SecurityGroup.init)
            token = page.string("nextToken")
        } while token != nil
        return groups
    }

    /// CreateSecurityGroup in the default VPC; returns the group id.
    func createSecurityGroup(name: String, description: String, tags: [(String, String)]) async throws -> String {
        var query = EC2Query()
        query.set("GroupName", name)
        query.set("GroupDescription", description)
        query.tags(for: "security-group", tags)
        // Names are unique in a VPC: a repeat whose first attempt did act answers InvalidGroup.Duplicate, which is adopted.
        let answer = try await ec2("CreateSecurityGroup", query, idempotent: true)
        guard let id = answer.string("groupId") else {
            throw AWSServiceError(status: 200, code: "EmptyResponse", message: "CreateSecurityGroup returned no group id", httpDescription: "POST \(ec2URL)")
        }
        return id
    }

    /// AuthorizeSecurityGroupIngress or RevokeSecurityGroupIngress (`action`) for `rules`.
    func changeIngress(_ action: String, groupID: String, _ rules: [IngressRule]) async throws {
        guard !rules.isEmpty else { return }
        var query = EC2Query()
        query.set("GroupId", groupID)
        for (index, rule) in rules.enumerated() {
            let prefix = "IpPermissions.\(index + 1)"
            query.set("\(prefix).IpProtocol", rule.protocol)
            if let from = rule.fromPort { query.set("\(prefix).FromPort", String(from)) }
            if let to = rule.toPort { query.set("\(prefix).ToPort", String(to)) }
            if rule.isIPv6 {
                query.set("\(prefix).Ipv6Ranges.1.CidrIpv6", rule.cidr)
            } else {
                query.set("\(prefix).IpRanges.1.CidrIp", rule.cidr)
            }
        }
        _ = try await ec2(action, query, idempotent: true)
    }

    /// DeleteSecurityGroup by id.
    func deleteSecurityGroup(id: String) async throws {
        var query = EC2Query()
        query.set("GroupId", id)
        _ = try await ec2("DeleteSecurityGroup", query, idempotent: true)
    }
}
