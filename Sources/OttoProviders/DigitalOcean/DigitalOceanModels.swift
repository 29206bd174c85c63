/// DigitalOcean API v2 shapes (only the fields otto reads or sends), decoded with `convertFromSnakeCase`.
enum DigitalOceanModel {
    /// `links` of a list response.
    struct Links: Decodable, Sendable {
        struct Pages: Decodable, Sendable {
            var next: String?
            var last: String?
        }
        var pages: Pages?
    }

    /// `meta` of a list response.
    struct Meta: Decodable, Sendable {
        var total: Int?
    }

    /// One page of a list: the items under `key`, plus `links` and `meta`.
    struct Page<Item: Decodable & Sendable>: Decodable, Sendable {
        var items: [Item]
        var links: Links?
        var meta: Meta?

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            guard let itemsKey = decoder.userInfo[DigitalOceanModel.itemsKey] as? String else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no items key"))
            }
            // The decoder converts keys from snake case: `domain_records` is matched as `domainRecords`.
            let parts = itemsKey.split(separator: "_")
            let camel = (parts.first.map(String.init) ?? "") + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            items = try container.decodeIfPresent([Item].self, forKey: Key(stringValue: camel)) ?? []
            links = try container.decodeIfPresent(Links.self, forKey: Key(stringValue: "links"))
            meta = try container.decodeIfPresent(Meta.self, forKey: Key(stringValue: "meta"))
        }
    }

    /// The JSONDecoder user-info key naming a page's items.
    static let itemsKey = CodingUserInfoKey(rawValue: "otto.digitalocean.items")!

    struct Droplet: Decodable, Sendable {
        struct Image: Decodable, Sendable {
            var id: Int?
            var slug: String?
        }
        struct Region: Decodable, Sendable {
            var slug: String
        }
        struct Network: Decodable, Sendable {
            var ipAddress: String
            var type: String
        }
        struct Networks: Decodable, Sendable {
            var v4: [Network]?
            var v6: [Network]?
        }

        var id: Int
        var name: String
        var status: String
        var sizeSlug: String
        var region: Region?
        var image: Image?
        var networks: Networks?
        var tags: [String]?

        /// The public IPv4 address, else the private one.
        var ipv4: String? {
            let v4 = networks?.v4 ?? []
            return (v4.first { $0.type == "public" } ?? v4.first)?.ipAddress
        }
        var privateIPv4: String? { networks?.v4?.first { $0.type == "private" }?.ipAddress }
        var ipv6: String? { networks?.v6?.first?.ipAddress }
        /// The slug of a public image, else the image id (a snapshot or custom image).
        var imageName: String? { image?.slug ?? image?.id.map(String.init) }
    }

    struct DropletEnvelope: Decodable, Sendable {
        struct ActionLink: Decodable, Sendable {
            var id: Int
            var rel: String?
        }
        struct CreateLinks: Decodable, Sendable {
            var actions: [ActionLink]?
        }
        var droplet: Droplet
        var links: CreateLinks?
    }

    struct Action: Decodable, Sendable {
        var id: Int
        var status: String
        var type: String?
    }

    struct ActionEnvelope: Decodable, Sendable {
        var action: Action
    }

    struct SSHKey: Decodable, Sendable {
        var id: Int
        var name: String
        var fingerprint: String
        var publicKey: String
    }

    struct SSHKeyEnvelope: Decodable, Sendable {
        var sshKey: SSHKey
    }

    struct Domain: Decodable, Sendable {
        var name: String
        var ttl: Int?
        var zoneFile: String?
    }

    struct DomainEnvelope: Decodable, Sendable {
        var domain: Domain
    }

    struct Record: Decodable, Sendable {
        var id: Int
        var type: String
        var name: String
        var data: String
        var priority: Int?
        var port: Int?
        var ttl: Int?
        var weight: Int?
        var flags: Int?
        var tag: String?
    }

    struct RecordEnvelope: Decodable, Sendable {
        var domainRecord: Record
    }

    // MARK: - Request bodies

    /// `image` is a slug or a numeric id.
    enum ImageRef: Encodable, Sendable {
        case slug(String)
        case id(Int)

        init(_ text: String) {
            if let id = Int(text), id > 0 { self = .id(id) } else { self = .slug(text) }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .slug(let slug): try container.encode(slug)
            case .id(let id): try container.encode(id)
            }
        }
    }

    struct NewDroplet: Encodable, Sendable {
        var name: String
        var region: String?
        var size: String
        var image: ImageRef
        var sshKeys: [String]?
        var tags: [String]
        var userData: String?
        var ipv6: Bool
        var monitoring: Bool

        enum CodingKeys: String, CodingKey {
            case name, region, size, image, tags, ipv6, monitoring
            case sshKeys = "ssh_keys"
            case userData = "user_data"
        }
    }

    /// A droplet action: `type` and, per type, `size`/`disk` (resize) or `name` (rename).
    struct DropletAction: Encodable, Sendable {
        var type: String
        var size: String?
        var disk: Bool?
        var name: String?
    }

    struct NewKey: Encodable, Sendable {
        var name: String
        var publicKey: String
        enum CodingKeys: String, CodingKey {
            case name
            case publicKey = "public_key"
        }
    }

    struct KeyRename: Encodable, Sendable {
        var name: String
    }

    struct NewDomain: Encodable, Sendable {
        var name: String
    }

    /// A record body with every field of the spec, unused ones as explicit nulls (the spec's create schemas require
    /// `flags` and `tag` for TXT, NS and SRV records, nullable).
    struct RecordBody: Encodable, Sendable, Hashable {
        var type: String
        var name: String
        var data: String
        var priority: Int?
        var port: Int?
        var ttl: Int
        var weight: Int?
        var flags: Int? = nil
        var tag: String? = nil

        enum CodingKeys: String, CodingKey {
            case type, name, data, priority, port, ttl, weight, flags, tag
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(name, forKey: .name)
            try container.encode(data, forKey: .data)
            try container.encode(priority, forKey: .priority)
            try container.encode(port, forKey: .port)
            try container.encode(ttl, forKey: .ttl)
            try container.encode(weight, forKey: .weight)
            try container.encode(flags, forKey: .flags)
            try container.encode(tag, forKey: .tag)
        }
    }
}
