import Foundation

/// A droplet the fake holds.
struct FakeDroplet: Sendable {
    struct Image: Sendable {
        var id: Int
        var slug: String?
        var name: String
        var distribution: String
        var type: String
        var minDiskSize: Int
    }

    var id: Int
    var name: String
    var sizeSlug: String
    /// Disk in GB (a resize without `disk: true` keeps the old disk).
    var disk: Int
    var region: String
    var image: Image
    /// `new`, `active` or `off`.
    var status: String
    var tags: [String]
    var createdAt: Date
    var publicIPv4: String
    var privateIPv4: String
    var ipv6: String?
    var userData: String?
    var sshKeyIDs: [Int]
    var monitoring: Bool
    var vpcUUID: String

    /// The droplet object of the spec (`droplets/models/droplet.yml`). Networks appear once it is no longer `new`.
    var json: JSONValue {
        let size = FakeDigitalOceanCatalog.size(sizeSlug)!
        var features: [JSONValue] = ["droplet_agent", "private_networking"]
        if ipv6 != nil { features.append("ipv6") }
        if monitoring { features.append("monitoring") }
        var v4: [JSONValue] = []
        var v6: [JSONValue] = []
        if status != "new" {
            v4 = [
                ["ip_address": .string(publicIPv4), "netmask": "255.255.255.0", "gateway": .string(Self.gateway(publicIPv4)), "type": "public"],
                ["ip_address": .string(privateIPv4), "netmask": "255.255.255.0", "gateway": .string(Self.gateway(privateIPv4)), "type": "private"],
            ]
            if let ipv6 {
                v6 = [["ip_address": .string(ipv6), "netmask": 64, "gateway": "2001:db8::1", "type": "public"]]
            }
        }
        return [
            "id": .int(id), "name": .string(name), "memory": .int(size.memory), "vcpus": .int(size.vcpus), "disk": .int(disk),
            "disk_info": [["type": "local", "size": ["amount": .int(disk), "unit": "gib"]]],
            "locked": false, "status": .string(status), "kernel": .null,
            "created_at": .string(FakeDigitalOcean.timestamp(createdAt)),
            "features": .array(features), "backup_ids": [], "next_backup_window": .null, "snapshot_ids": [],
            "image": [
                "id": .int(image.id), "name": .string(image.name), "distribution": .string(image.distribution),
                "slug": .optional(image.slug), "public": .bool(image.type == "base"),
                "regions": .array(FakeDigitalOceanCatalog.regions.map { .string($0.slug) }),
                "created_at": "2024-06-10T18:07:52Z", "type": .string(image.type), "min_disk_size": .int(image.minDiskSize),
                "size_gigabytes": .double(2.36), "description": .string("\(image.distribution) \(image.name)"), "tags": [],
                "status": "available", "error_message": "",
            ],
            "volume_ids": [], "size": FakeDigitalOceanCatalog.json(size), "size_slug": .string(sizeSlug),
            "networks": ["v4": .array(v4), "v6": .array(v6)],
            "region": FakeDigitalOceanCatalog.regionJSON(region), "tags": .array(tags.map(JSONValue.string)),
            "vpc_uuid": .string(vpcUUID),
        ]
    }

    static func gateway(_ address: String) -> String {
        var parts = address.split(separator: ".").map(String.init)
        guard parts.count == 4 else { return address }
        parts[3] = "1"
        return parts.joined(separator: ".")
    }
}

/// An action on a droplet. It is `in-progress` until `completesAt`, then `completed` (its effect applied).
struct FakeAction: Sendable {
    enum Effect: Sendable {
        case create, powerOff, powerOn, resize(size: String, disk: Bool), rename(String), none
    }

    var id: Int
    var type: String
    var status: String
    var startedAt: Date
    var completedAt: Date?
    var completesAt: ContinuousClock.Instant
    var dropletID: Int
    var region: String
    var effect: Effect

    /// The action object of the spec (`actions/models/action.yml`).
    var json: JSONValue {
        [
            "id": .int(id), "status": .string(status), "type": .string(type),
            "started_at": .string(FakeDigitalOcean.timestamp(startedAt)),
            "completed_at": completedAt.map { .string(FakeDigitalOcean.timestamp($0)) } ?? .null,
            "resource_id": .int(dropletID), "resource_type": "droplet",
            "region": FakeDigitalOceanCatalog.regionJSON(region), "region_slug": .string(region),
        ]
    }
}

/// An SSH key of the account.
struct FakeSSHKey: Sendable {
    var id: Int
    var name: String
    var publicKey: String
    var fingerprint: String

    /// The ssh_key object of the spec (`ssh_keys/models/sshKeys.yml`).
    var json: JSONValue {
        ["id": .int(id), "fingerprint": .string(fingerprint), "public_key": .string(publicKey), "name": .string(name)]
    }
}

/// A domain (DNS zone). Its records live in `FakeDigitalOcean.records`.
struct FakeDomain: Sendable {
    var name: String
    var ttl: Int
    var serial: Int
}

/// One DNS record of a domain, stored the way DigitalOcean stores it: the name relative to the domain (`@` for the
/// apex), host names without the trailing dot, TXT data unquoted, MX/SRV numbers in their own fields.
struct FakeRecord: Sendable {
    var id: Int
    var domain: String
    var type: String
    var name: String
    var data: String
    var priority: Int?
    var port: Int?
    var ttl: Int
    var weight: Int?
    var flags: Int?
    var tag: String?

    /// The domain_record object of the spec (`domains/models/domain_record.yml`): unused fields are null.
    var json: JSONValue {
        [
            "id": .int(id), "type": .string(type), "name": .string(name), "data": .string(data),
            "priority": .optional(priority), "port": .optional(port), "ttl": .int(ttl), "weight": .optional(weight),
            "flags": .optional(flags), "tag": .optional(tag),
        ]
    }

    /// The owner name, fully qualified with the trailing dot.
    var fqdn: String { name == "@" ? domain + "." : "\(name).\(domain)." }

    /// The record in a zone file line.
    var zoneFileLine: String {
        func host(_ text: String) -> String { text == "@" ? domain + "." : (text.hasSuffix(".") ? text : text + ".") }
        let rdata: String
        switch type {
        case "CNAME", "NS": rdata = host(data)
        case "MX": rdata = "\(priority ?? 0) \(host(data))"
        case "SRV": rdata = "\(priority ?? 0) \(weight ?? 0) \(port ?? 0) \(host(data))"
        case "TXT": rdata = "\"" + data.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case "CAA": rdata = "\(flags ?? 0) \(tag ?? "issue") \"\(data)\""
        default: rdata = data
        }
        return "\(fqdn) \(ttl) IN \(type) \(rdata)"
    }
}
