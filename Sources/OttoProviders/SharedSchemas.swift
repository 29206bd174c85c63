import OttoCore

/// Attribute declarations several providers share: DNS zones and records (PowerDNS, DigitalOcean, Route53) and what
/// every machine provider reports for host resources to connect with.
enum SharedSchemas {
    private typealias Z = AttributeName.DNSZone
    private typealias R = AttributeName.DNSRecord
    private typealias M = AttributeName.Machine
    private typealias H = AttributeName.Host

    /// `dns_zone`: `name` and `kind` replace the zone; `nameservers` (the apex NS records) compare as a set.
    static func dnsZone(extra: [AttributeSchema] = [], keyedCreate: Bool = false) -> KindSchema {
        KindSchema(kind: "dns_zone", attributes: [
            .required(Z.name, .string, forceNew: true), .optional(Z.kind, .string, forceNew: true),
            .optional(Z.nameservers, .strings, unordered: true),
        ] + extra, keyedCreate: keyedCreate)
    }

    /// `dns_record`: one rrset; its zone, name and type identify it (a change replaces it); values compare as a set.
    static let dnsRecord = KindSchema(kind: "dns_record", attributes: [
        .required(R.zone, .string, forceNew: true), .required(R.name, .string, forceNew: true), .required(R.type, .string, forceNew: true),
        .optional(R.ttl, .int), .required(R.records, .strings, unordered: true),
    ])

    /// The connection attributes every machine reports (host resources refer to them), never compared.
    static let machineConnection: [AttributeSchema] = [
        .computed(M.ipv4, .string), .computed(H.sshPort, .int), .computed(H.sshUser, .string), .computed(H.sshKey, .string),
        .computed(H.hostKey, .string), .computed(H.knownHosts, .string),
    ]
}
