import OttoHTTP

/// A Route53 hosted zone, as ListHostedZones, GetHostedZone and CreateHostedZone report it.
struct Route53Zone: Sendable, Hashable {
    /// The id without the `/hostedzone/` prefix (`Z0123456789ABC`): otto's providerID for a zone.
    var id: String
    /// The zone's name, lower-case, with the trailing dot.
    var name: String
    var callerReference: String
    var comment: String?
    var isPrivate: Bool

    init(_ element: XMLTree) {
        id = Route53Zone.bareID(element.string("Id") ?? "")
        name = Route53Names.decode(element.string("Name") ?? "")
        callerReference = element.string("CallerReference") ?? ""
        comment = element.string("Config", "Comment")
        isPrivate = element.string("Config", "PrivateZone") == "true"
    }

    /// `/hostedzone/Z123` → `Z123`.
    static func bareID(_ id: String) -> String {
        id.hasPrefix("/hostedzone/") ? String(id.dropFirst("/hostedzone/".count)) : id
    }

    /// The comment otto puts on the zones it creates.
    static let ottoComment = "managed by otto"
    /// Whether otto created this zone (its comment says so).
    var isOtto: Bool { comment?.hasPrefix(Route53Zone.ottoComment) == true }
}

/// One resource record set: owner name, type, TTL and values (Route53's form; see `Route53RecordValues`).
struct Route53RecordSet: Sendable, Hashable {
    /// Owner name, decoded and lower-case, with the trailing dot.
    var name: String
    var type: String
    var ttl: Int?
    /// Values as Route53 holds them.
    var values: [String]
    /// Routing-policy records (weighted, latency…) carry an identifier; otto leaves them alone.
    var setIdentifier: String?
    /// Alias records point at an AWS resource instead of holding values.
    var aliasDNSName: String?

    init(name: String, type: String, ttl: Int?, values: [String]) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.values = values
    }

    init(_ element: XMLTree) {
        name = Route53Names.decode(element.string("Name") ?? "")
        type = (element.string("Type") ?? "").uppercased()
        ttl = element.string("TTL").flatMap { Int($0) }
        values = element.child("ResourceRecords")?.children("ResourceRecord").compactMap { $0.child("Value")?.text } ?? []
        setIdentifier = element.string("SetIdentifier")
        aliasDNSName = element.string("AliasTarget", "DNSName")
    }

    /// `name|type`: one rrset per key (without routing policies).
    var key: String { "\(name)|\(type)" }

    /// The `<ResourceRecordSet>` element for a change.
    var xml: String {
        var out = "<ResourceRecordSet>" + XMLText.element("Name", name) + XMLText.element("Type", type)
        if let ttl { out += XMLText.element("TTL", String(ttl)) }
        if !values.isEmpty {
            out += "<ResourceRecords>" + values.map { "<ResourceRecord>" + XMLText.element("Value", $0) + "</ResourceRecord>" }.joined()
                + "</ResourceRecords>"
        }
        return out + "</ResourceRecordSet>"
    }
}

/// One change of a ChangeResourceRecordSets batch.
struct Route53Change: Sendable, Hashable, BatchableChange {
    /// `UPSERT` or `DELETE` (otto never uses `CREATE`: it fails when the rrset exists).
    var action: String
    var recordSet: Route53RecordSet

    var rrsetKey: String { recordSet.key }

    /// The `<Change>` element.
    var xml: String { "<Change>" + XMLText.element("Action", action) + recordSet.xml + "</Change>" }

    /// What the change counts for against Route53's batch limits (1,000 values, 32,000 characters of values; an
    /// UPSERT counts twice).
    var weight: (records: Int, characters: Int) {
        let factor = action == "UPSERT" ? 2 : 1
        return (max(1, recordSet.values.count) * factor, recordSet.values.reduce(0) { $0 + $1.utf8.count } * factor)
    }
}

/// Route53's spelling of names: it returns characters outside `a-z0-9-_.` as `\OOO` (three octal digits), e.g. a
/// wildcard as `\052.example.com.`.
enum Route53Names {
    /// A name as otto writes it: escapes decoded, lower-case, with the trailing dot.
    static func decode(_ name: String) -> String {
        var out = Route53RecordValues.octalUnescape(name).lowercased()
        if !out.hasSuffix(".") { out += "." }
        return out
    }
}
