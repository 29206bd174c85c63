import Foundation

/// A droplet the fake holds.
struct FakeDroplet: Sendable {
    var id: Int
    var name: String
    var sizeSlug: String
    /// Disk in GB (a resize without `disk: true` keeps the old disk).
    var disk: Int
    var region: String
    /// The image it was created from, as it was then.
    var image: FakeImage
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
    /// Ids of the snapshots taken of it (that still exist).
    var snapshotIDs: [Int] = []
    /// True when a `FakeDropletBacking` machine stands behind it (it was created while the fake had a backing).
    var backed = false
    /// The backing machine's address, once it booted: shown as the droplet's public and private IPv4.
    var backedAddress: FakeDropletAddress?
    /// Why the backing could not boot it (the create action errored).
    var backingError: String?
    /// Counts the actions started on it, so a status read from the backing during one is not applied after it.
    var actionGeneration = 0

    /// The droplet object of the spec (`droplets/models/droplet.yml`). Networks appear once it is no longer `new`.
    var json: JSONValue {
        let size = FakeDigitalOceanCatalog.size(sizeSlug)!
        var features: [JSONValue] = ["droplet_agent", "private_networking"]
        if ipv6 != nil { features.append("ipv6") }
        if monitoring { features.append("monitoring") }
        var v4: [JSONValue] = []
        var v6: [JSONValue] = []
        if status != "new" {
            if let backed = backedAddress {
                // One interface on the backing's bridge: it serves as both the public and the VPC address.
                v4 = [
                    ["ip_address": .string(backed.ipv4), "netmask": .string(backed.netmask), "gateway": .string(backed.gateway), "type": "public"],
                    ["ip_address": .string(backed.ipv4), "netmask": .string(backed.netmask), "gateway": .string(backed.gateway), "type": "private"],
                ]
            } else {
                v4 = [
                    ["ip_address": .string(publicIPv4), "netmask": "255.255.255.0", "gateway": .string(Self.gateway(publicIPv4)), "type": "public"],
                    ["ip_address": .string(privateIPv4), "netmask": "255.255.255.0", "gateway": .string(Self.gateway(privateIPv4)), "type": "private"],
                ]
            }
            if let ipv6 {
                v6 = [["ip_address": .string(ipv6), "netmask": 64, "gateway": "2001:db8::1", "type": "public"]]
            }
        }
        return [
            "id": .int(id), "name": .string(name), "memory": .int(size.memory), "vcpus": .int(size.vcpus), "disk": .int(disk),
            "disk_info": [["type": "local", "size": ["amount": .int(disk), "unit": "gib"]]],
            "locked": false, "status": .string(status), "kernel": .null,
            "created_at": .string(FakeDigitalOcean.timestamp(createdAt)),
            "features": .array(features), "backup_ids": [], "next_backup_window": .null,
            "snapshot_ids": .array(snapshotIDs.map(JSONValue.int)),
            "image": image.json,
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
        /// A snapshot that becomes image `imageID` named `name`; `live` when the droplet was on when it was asked.
        case snapshot(imageID: Int, name: String, live: Bool)
    }

    /// The part a `FakeDropletBacking` plays in the action.
    enum Backing: Sendable, Equatable {
        /// None (no backing, or nothing for it to do).
        case none
        /// Its work runs: the action stays in progress.
        case running
        /// Its work is done.
        case done
        /// Its work failed for this reason: the action errors.
        case failed(String)
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
    var backing: Backing = .none

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

/// An image: a public distribution image of the catalog, or a private snapshot of a droplet.
struct FakeImage: Sendable {
    var id: Int
    var name: String
    var distribution: String
    /// Public images only.
    var slug: String?
    /// `base` (the catalog's distribution images) or `snapshot`.
    var type: String
    var isPublic: Bool
    var regions: [String]
    var createdAt: String
    var minDiskSize: Int
    var sizeGigabytes: Double
    var description: String
    var tags: [String]
    /// The droplet a snapshot was taken of.
    var sourceDropletID: Int?
    /// True when that droplet was on when the snapshot was asked for (DigitalOcean allows it; a golden image build
    /// powers off first, and a test can check it did).
    var takenWhileActive = false

    /// A catalog image, as droplets made from it and `GET /v2/images` show it.
    init(catalog known: FakeDigitalOceanCatalog.Image) {
        self.init(id: known.id, name: known.name, distribution: known.distribution, slug: known.slug, type: "base", isPublic: true,
                  regions: FakeDigitalOceanCatalog.regions.map(\.slug), createdAt: "2024-06-10T18:07:52Z", minDiskSize: known.minDiskSize,
                  sizeGigabytes: 2.36, description: "\(known.distribution) \(known.name)", tags: [])
    }

    init(id: Int, name: String, distribution: String, slug: String?, type: String, isPublic: Bool, regions: [String], createdAt: String,
         minDiskSize: Int, sizeGigabytes: Double, description: String, tags: [String], sourceDropletID: Int? = nil,
         takenWhileActive: Bool = false) {
        self.id = id
        self.name = name
        self.distribution = distribution
        self.slug = slug
        self.type = type
        self.isPublic = isPublic
        self.regions = regions
        self.createdAt = createdAt
        self.minDiskSize = minDiskSize
        self.sizeGigabytes = sizeGigabytes
        self.description = description
        self.tags = tags
        self.sourceDropletID = sourceDropletID
        self.takenWhileActive = takenWhileActive
    }

    /// The image object of the spec (`images/models/image.yml`).
    var json: JSONValue {
        [
            "id": .int(id), "name": .string(name), "distribution": .string(distribution), "slug": .optional(slug),
            "public": .bool(isPublic), "regions": .array(regions.map(JSONValue.string)), "created_at": .string(createdAt),
            "type": .string(type), "min_disk_size": .int(minDiskSize), "size_gigabytes": .double(sizeGigabytes),
            "description": .string(description), "tags": .array(tags.map(JSONValue.string)), "status": "available", "error_message": "",
        ]
    }

    /// The snapshot object of `/v2/snapshots` (`snapshots/models/snapshots.yml`): ids as strings.
    var snapshotJSON: JSONValue {
        [
            "id": .string(String(id)), "name": .string(name), "created_at": .string(createdAt),
            "regions": .array(regions.map(JSONValue.string)), "min_disk_size": .int(minDiskSize), "size_gigabytes": .double(sizeGigabytes),
            "resource_id": .string(sourceDropletID.map(String.init) ?? ""), "resource_type": "droplet", "tags": .array(tags.map(JSONValue.string)),
        ]
    }

    /// The snapshot object of `/v2/droplets/{id}/snapshots` (`droplets/models/droplet_snapshot.yml`).
    var dropletSnapshotJSON: JSONValue {
        [
            "id": .int(id), "name": .string(name), "created_at": .string(createdAt), "regions": .array(regions.map(JSONValue.string)),
            "min_disk_size": .int(minDiskSize), "size_gigabytes": .double(sizeGigabytes), "type": .string(type),
        ]
    }
}

/// A tag of the account. Which resources carry it is their own `tags`; `history` only orders the taggings, for
/// `last_tagged_uri`.
struct FakeTag: Sendable {
    /// One tagging: `droplet` or `image`, and the resource id.
    struct Tagged: Sendable, Hashable {
        var type: String
        var id: Int
    }

    var name: String
    var history: [Tagged] = []
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
