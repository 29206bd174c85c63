/// One `?rec=` value of `/dom/dns/{domain}`, written like a zone-file line: `NAME [TTL] TYPE VALUE`.
///
/// - `PUT ...?rec=www+A+192.0.2.10&rec=www+A+192.0.2.11` sets the rrset `www A` to both addresses; the value is the
///   rest of the line after the type, as it would be written in YAML (`rec=@+MX+10+mail`, `rec=@+TXT+v=spf1+-all`,
///   `rec=_sip._tcp+SRV+10+5+5060+sip`); a TTL may come before the type (`rec=www+60+A+192.0.2.10`).
///   Several `rec=` of one name and type are one rrset with several values.
/// - `DELETE ...?rec=www+A` names an rrset to remove (no value).
/// Names and values are checked by the configuration reader exactly like a site's `dns.records`.
struct RecordQuery: Sendable, Equatable {
    /// Owner name as written (`@`, `www`, `www.example.com.`).
    var name: String
    /// Record type as written.
    var type: String
    /// TTL, when given.
    var ttl: Int?
    /// The value (nil in a DELETE).
    var value: String?

    /// Parses one `rec=` value; `needsValue` is true for PUT, false for DELETE.
    init(_ text: String, needsValue: Bool) throws(APIError) {
        let trimmed = text.drop { $0 == " " }
        var rest = Substring(trimmed)
        func token() -> Substring? {
            rest = rest.drop { $0 == " " }
            guard !rest.isEmpty else { return nil }
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            defer { rest = rest[end...] }
            return rest[..<end]
        }
        let usage = needsValue ? "`NAME [TTL] TYPE VALUE`, e.g. `www A 192.0.2.10`" : "`NAME TYPE`, e.g. `www A`"
        guard let name = token(), var type = token() else {
            throw APIError.badRequest("query.rec", "rec \(JSONQuoted(text)): expected \(usage)")
        }
        var ttl: Int?
        if type.allSatisfy(\.isNumber) {
            guard needsValue, let t = Int(type), let next = token() else {
                throw APIError.badRequest("query.rec", "rec \(JSONQuoted(text)): expected \(usage)")
            }
            ttl = t
            type = next
        }
        let value = rest.drop { $0 == " " }
        if needsValue && value.isEmpty {
            throw APIError.badRequest("query.rec", "rec \(JSONQuoted(text)): no value after the type; expected \(usage)")
        }
        if !needsValue && !value.isEmpty {
            throw APIError.badRequest("query.rec", "rec \(JSONQuoted(text)): a DELETE names an rrset only; expected \(usage)")
        }
        self.name = String(name)
        self.type = String(type).uppercased()
        self.ttl = ttl
        self.value = needsValue ? String(value) : nil
    }
}
