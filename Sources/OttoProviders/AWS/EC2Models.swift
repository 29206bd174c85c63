import OttoHTTP

/// An EC2 instance, as DescribeInstances and RunInstances report it.
struct EC2Instance: Sendable, Hashable {
    var id: String
    var imageID: String
    var instanceType: String
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    var state: String
    var keyName: String?
    var publicIPv4: String?
    var privateIPv4: String?
    var ipv6: String?
    var securityGroupIDs: [String]
    var vpcID: String?
    var launchTime: String
    var tags: [String: String]
    /// Why the instance changed state (`Client.UserInitiatedShutdown: …`), if EC2 says.
    var stateReason: String?

    /// Terminated and terminating instances count as gone.
    var isGone: Bool { state == "terminated" || state == "shutting-down" }

    init(_ item: XMLTree) {
        id = item.string("instanceId") ?? ""
        imageID = item.string("imageId") ?? ""
        instanceType = item.string("instanceType") ?? ""
        state = item.string("instanceState", "name") ?? "unknown"
        keyName = item.string("keyName")
        publicIPv4 = item.string("ipAddress")
        privateIPv4 = item.string("privateIpAddress")
        ipv6 = item.string("ipv6Address")
            ?? item.items("networkInterfaceSet").lazy.compactMap { $0.items("ipv6AddressesSet").first?.string("ipv6Address") }.first
        var groups = item.items("groupSet").compactMap { $0.string("groupId") }
        if groups.isEmpty {
            // Some answers list the groups on the primary network interface only.
            groups = item.items("networkInterfaceSet").first?.items("groupSet").compactMap { $0.string("groupId") } ?? []
        }
        securityGroupIDs = groups.sorted()
        vpcID = item.string("vpcId")
        launchTime = item.string("launchTime") ?? ""
        tags = EC2Tags.read(item)
        let reason = [item.string("stateReason", "code"), item.string("stateReason", "message")].compactMap { $0 }
        stateReason = reason.isEmpty ? nil : reason.joined(separator: ": ")
    }
}

/// An AMI, as DescribeImages reports it.
struct EC2Image: Sendable, Hashable {
    var id: String
    var name: String
    /// `pending`, `available`, `invalid`, `deregistered`, `failed`, `error`.
    var state: String
    var tags: [String: String]
    /// The EBS snapshots behind it.
    var snapshotIDs: [String]

    init(_ item: XMLTree) {
        id = item.string("imageId") ?? ""
        name = item.string("name") ?? ""
        state = item.string("imageState") ?? ""
        tags = EC2Tags.read(item)
        snapshotIDs = item.items("blockDeviceMapping").compactMap { $0.string("ebs", "snapshotId") }
    }
}

/// An EC2 key pair, as DescribeKeyPairs and ImportKeyPair report it.
struct EC2KeyPair: Sendable, Hashable {
    var id: String
    var name: String
    var fingerprint: String
    /// The public key in OpenSSH form, when asked for (`IncludePublicKey`).
    var publicKey: String?
    var tags: [String: String]

    init(_ item: XMLTree) {
        id = item.string("keyPairId") ?? ""
        name = item.string("keyName") ?? ""
        fingerprint = item.string("keyFingerprint") ?? ""
        publicKey = item.string("publicKey")
        tags = EC2Tags.read(item)
    }
}

/// An EC2 security group, as DescribeSecurityGroups reports it.
struct EC2SecurityGroup: Sendable, Hashable {
    var id: String
    var name: String
    var description: String
    var vpcID: String?
    var tags: [String: String]
    /// Inbound rules, one per (protocol, port range, CIDR).
    var ingress: [IngressRule]

    init(_ item: XMLTree) {
        id = item.string("groupId") ?? ""
        name = item.string("groupName") ?? ""
        description = item.string("groupDescription") ?? ""
        vpcID = item.string("vpcId")
        tags = EC2Tags.read(item)
        var rules: [IngressRule] = []
        for permission in item.items("ipPermissions") {
            let proto = permission.string("ipProtocol") ?? "-1"
            let from = permission.string("fromPort").flatMap { Int($0) }
            let to = permission.string("toPort").flatMap { Int($0) }
            for range in permission.items("ipRanges") {
                if let cidr = range.string("cidrIp") { rules.append(IngressRule(protocol: proto, fromPort: from, toPort: to, cidr: cidr)) }
            }
            for range in permission.items("ipv6Ranges") {
                if let cidr = range.string("cidrIpv6") { rules.append(IngressRule(protocol: proto, fromPort: from, toPort: to, cidr: cidr)) }
            }
        }
        ingress = rules
    }
}

/// One inbound rule: a protocol, a port range and a source CIDR (IPv4 or IPv6).
struct IngressRule: Sendable, Hashable, Comparable {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    var `protocol`: String
    var fromPort: Int?
    var toPort: Int?
    var cidr: String

    /// Whether `cidr` is an IPv6 range.
    var isIPv6: Bool { cidr.contains(":") }

    static func < (a: IngressRule, b: IngressRule) -> Bool {
        (a.protocol, a.fromPort ?? -1, a.toPort ?? -1, a.cidr) < (b.protocol, b.fromPort ?? -1, b.toPort ?? -1, b.cidr)
    }
}

/// Reading and writing EC2 tags.
enum EC2Tags {
    /// The `tagSet` of an item as a dictionary.
    static func read(_ item: XMLTree) -> [String: String] {
        var tags: [String: String] = [:]
        for tag in item.items("tagSet") {
            if let key = tag.string("key") { tags[key] = tag.child("value")?.text ?? "" }
        }
        return tags
    }
}
