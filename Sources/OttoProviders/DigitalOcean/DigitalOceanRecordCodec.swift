import OttoCore

/// Converts between DigitalOcean's record storage and otto's canonical presentation form.
///
/// DigitalOcean keeps one record per value, names relative to the domain (`@` for the apex), host names without the
/// trailing dot (or `@`), TXT data unquoted, and MX/SRV numbers in `priority`, `weight` and `port`. otto compares
/// rrsets: FQDN owner names with the dot, and values as PowerDNS prints them (`10 mail.demo.test.`, `"v=spf1 -all"`).
enum DigitalOceanRecordCodec {
    /// The record types otto manages.
    static let types: Set<String> = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"]

    /// `demo.test` or `demo.test.` → `demo.test.` (lowercase).
    static func fqdn(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? lower : lower + "."
    }

    /// A domain name as DigitalOcean's paths take it: no trailing dot.
    static func domain(_ zone: String) -> String {
        let lower = zone.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    /// The FQDN of a record `name` (`@` or relative) in `zone` (with the dot).
    static func owner(_ name: String, zone: String) -> String {
        if name == "@" || name.isEmpty { return zone }
        return "\(name.lowercased()).\(zone)"
    }

    /// The name DigitalOcean wants for owner `fqdn` in `zone`: `@` for the apex, else the relative part. Nil when the
    /// name lies outside the zone.
    static func relative(_ owner: String, zone: String) -> String? {
        let name = fqdn(owner)
        if name == zone { return "@" }
        guard name.hasSuffix("." + zone) else { return nil }
        return String(name.dropLast(zone.count + 1))
    }

    /// A host name as otto writes it: `@` is the zone, a name without the dot is taken as absolute (DigitalOcean
    /// stores absolute names without it).
    static func host(_ data: String, zone: String) -> String {
        if data == "@" || data.isEmpty { return zone }
        return fqdn(data)
    }

    /// The presentation value of a stored record; nil for types otto does not manage (SOA, CAA).
    static func presentation(_ record: DigitalOceanModel.Record, zone: String) -> String? {
        switch record.type {
        case "A": return DNSPresentation.ipv4(record.data) ?? record.data
        case "AAAA": return DNSPresentation.ipv6(record.data) ?? record.data.lowercased()
        case "CNAME", "NS": return host(record.data, zone: zone)
        case "MX": return "\(record.priority ?? 0) \(host(record.data, zone: zone))"
        case "SRV": return "\(record.priority ?? 0) \(record.weight ?? 0) \(record.port ?? 0) \(host(record.data, zone: zone))"
        case "TXT": return DNSPresentation.quoteTXT(record.data)
        default: return nil
        }
    }

    /// The record body for one presentation `value` of an rrset, or a message saying what is wrong with it.
    static func body(type: String, name: String, value: String, ttl: Int, zone: String) -> Result<DigitalOceanModel.RecordBody, OttoError> {
        func bad(_ message: String) -> Result<DigitalOceanModel.RecordBody, OttoError> {
            .failure(OttoError("provider.digitalocean.attribute", message))
        }
        func target(_ text: String) -> String {
            // Absolute with the dot, as DigitalOcean requires; the apex as `@`.
            let name = fqdn(text)
            return name == zone ? "@" : name
        }
        var body = DigitalOceanModel.RecordBody(type: type, name: name, data: value, priority: nil, port: nil, ttl: ttl, weight: nil)
        let fields = value.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch type {
        case "A":
            guard let address = DNSPresentation.ipv4(value) else { return bad("\(Value.string(value)) is not an IPv4 address") }
            body.data = address
        case "AAAA":
            guard let address = DNSPresentation.ipv6(value) else { return bad("\(Value.string(value)) is not an IPv6 address") }
            body.data = address
        case "CNAME", "NS":
            guard fields.count == 1 else { return bad("\(Value.string(value)) is not a host name") }
            body.data = target(value)
        case "MX":
            guard fields.count == 2, let priority = Int(fields[0]), (0...65535).contains(priority) else {
                return bad("\(Value.string(value)) is not an MX value (PRIORITY TARGET)")
            }
            body.priority = priority
            body.data = target(fields[1])
        case "SRV":
            guard fields.count == 4, let priority = Int(fields[0]), let weight = Int(fields[1]), let port = Int(fields[2]),
                  [priority, weight, port].allSatisfy({ (0...65535).contains($0) }) else {
                return bad("\(Value.string(value)) is not an SRV value (PRIORITY WEIGHT PORT TARGET)")
            }
            body.priority = priority
            body.weight = weight
            body.port = port
            body.data = target(fields[3])
        case "TXT":
            guard let text = DNSPresentation.unquoteTXT(value) else { return bad("\(Value.string(value)) is not a TXT value in presentation form") }
            body.data = text
        default:
            return bad("DigitalOcean records of type \(type) are not managed by otto (A AAAA CNAME MX TXT NS SRV)")
        }
        return .success(body)
    }

    /// The presentation value DigitalOcean will report for `body` (what observation returns after the write).
    static func presentation(of body: DigitalOceanModel.RecordBody, zone: String) -> String? {
        let hostTypes: Set<String> = ["CNAME", "NS", "MX", "SRV"]
        let data = hostTypes.contains(body.type) && body.data.hasSuffix(".") ? String(body.data.dropLast()) : body.data
        return presentation(DigitalOceanModel.Record(id: 0, type: body.type, name: body.name, data: data, priority: body.priority,
                                                     port: body.port, ttl: body.ttl, weight: body.weight),
                            zone: zone)
    }
}
