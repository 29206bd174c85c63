import OttoCore

/// How one DNS provider writes owner names in its keys (with the final dot; Route53 also decodes its escapes).
protocol DNSNaming {
    /// `name` as this provider's keys hold it.
    static func normalize(_ name: String) -> String
}

/// Where an rrset lives: its zone, owner name and type. Its `providerID` is `zone|name|type`, the id
/// `otto state import` takes for a record on every DNS provider.
struct DNSRecordKey<Naming: DNSNaming>: Hashable, Sendable {
    /// The zone, as `Naming` writes it.
    var zone: String
    /// The owner name, as `Naming` writes it.
    var name: String
    /// The record type, upper case.
    var type: String

    /// `zone|name|type`.
    var providerID: String { "\(zone)|\(name)|\(type)" }

    /// A key from its parts.
    init(zone: String, name: String, type: String) {
        self.zone = Naming.normalize(zone)
        self.name = Naming.normalize(name)
        self.type = type.uppercased()
    }

    /// From the `zone`, `name` and `type` attributes, or failing that from a `zone|name|type` providerID.
    init?(attributes: [String: Value], providerID: String?) {
        if let zone = attributes["zone"]?.stringValue, let name = attributes["name"]?.stringValue,
           let type = attributes["type"]?.stringValue {
            self.init(zone: zone, name: name, type: type)
            return
        }
        let parts = (providerID ?? "").split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts.contains(where: \.isEmpty) else { return nil }
        self.init(zone: parts[0], name: parts[1], type: parts[2])
    }
}
