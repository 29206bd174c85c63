/// PowerDNS API shapes (only the fields otto uses).
enum PowerDNSModel {
    /// A zone, as listed (`rrsets` absent) or in detail.
    struct Zone: Codable, Sendable {
        var id: String
        var name: String
        var kind: String
        var rrsets: [RRSet]?
    }

    /// One record of an rrset.
    struct Record: Codable, Sendable, Hashable {
        var content: String
        var disabled: Bool
    }

    /// An rrset; with `changetype` it is one change of a PATCH.
    struct RRSet: Codable, Sendable, BatchableChange {
        var name: String
        var type: String
        var ttl: Int?
        var changetype: String?
        var records: [Record]?

        /// The identity of the rrset inside its zone.
        var key: String { PowerDNSModel.key(name: name, type: type) }
        var rrsetKey: String { key }
        var weight: (records: Int, characters: Int) { (1, 0) }
        /// Contents of the enabled records, sorted.
        var contents: [String] { (records ?? []).filter { !$0.disabled }.map(\.content).sorted() }

        static func replace(name: String, type: String, ttl: Int, contents: [String]) -> RRSet {
            RRSet(name: name, type: type, ttl: ttl, changetype: "REPLACE", records: contents.map { Record(content: $0, disabled: false) })
        }

        static func delete(name: String, type: String) -> RRSet {
            RRSet(name: name, type: type, ttl: nil, changetype: "DELETE", records: nil)
        }
    }

    /// A PATCH body.
    struct Patch: Encodable {
        var rrsets: [RRSet]
    }

    /// A zone creation body.
    struct NewZone: Encodable {
        var name: String
        var kind: String
        var nameservers: [String]
    }

    /// Case-insensitive rrset identity: `name|TYPE`.
    static func key(name: String, type: String) -> String { "\(fqdn(name).lowercased())|\(type.uppercased())" }

    /// The name with a trailing dot.
    static func fqdn(_ name: String) -> String { name.hasSuffix(".") ? name : name + "." }
}
