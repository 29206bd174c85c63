import Foundation

extension FakeDigitalOcean {
    static let nameservers = ["ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"]
    static let recordTypes = ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"]

    // MARK: - Domains

    /// `GET /v2/domains`.
    func listDomains(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        paginate(domains.keys.sorted().map { domainJSON($0, zoneFile: true) }, key: "domains", request)
    }

    /// `POST /v2/domains`: 201; the domain gets an SOA record and NS records for ns1-3.digitalocean.com, and an apex A
    /// record when `ip_address` is given. 422 when the name is invalid or taken.
    func createDomain(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let body = request.json, let raw = body["name"]?.string else { return .unprocessable("Name can't be blank") }
        let name = raw.lowercased().hasSuffix(".") ? String(raw.lowercased().dropLast()) : raw.lowercased()
        guard Self.isValidHostname(name), name.contains(".") else { return .unprocessable("Name is invalid") }
        guard domains[name] == nil else { return .unprocessable("Name already exists") }
        if body["ttl"] != nil || body["zone_file"] != nil { return .unprocessable("ttl and zone_file are read-only") }
        var address: String?
        if let value = body["ip_address"], !value.isNull {
            guard let text = value.string, Self.isIPv4(text) else { return .unprocessable("Ip address is invalid") }
            address = text
        }
        domains[name] = FakeDomain(name: name, ttl: 1800, serial: 1_700_000_000 + Int(Date().timeIntervalSince1970) % 10_000_000)
        addRecord(FakeRecord(id: 0, domain: name, type: "SOA", name: "@", data: "1800", ttl: 1800))
        for ns in Self.nameservers { addRecord(FakeRecord(id: 0, domain: name, type: "NS", name: "@", data: ns, ttl: 1800)) }
        if let address { addRecord(FakeRecord(id: 0, domain: name, type: "A", name: "@", data: address, ttl: 1800)) }
        return .json(201, ["domain": domainJSON(name, zoneFile: false)])
    }

    /// `GET /v2/domains/{name}`.
    func getDomain(_ name: String) -> FakeHTTPResponse {
        guard domains[name.lowercased()] != nil else { return .notFound }
        return .json(200, ["domain": domainJSON(name.lowercased(), zoneFile: true)])
    }

    /// `DELETE /v2/domains/{name}`: the domain and its records.
    func deleteDomain(_ name: String) -> FakeHTTPResponse {
        let name = name.lowercased()
        guard domains.removeValue(forKey: name) != nil else { return .notFound }
        records = records.filter { $0.value.domain != name }
        return .noContent
    }

    /// The domain object of the spec: name, ttl and (except right after a create) the zone file.
    func domainJSON(_ name: String, zoneFile: Bool) -> JSONValue {
        guard let domain = domains[name] else { return .null }
        guard zoneFile else { return ["name": .string(name), "ttl": .int(domain.ttl), "zone_file": .null] }
        let list = records.values.filter { $0.domain == name }.sorted { $0.id < $1.id }
        var lines = ["$ORIGIN \(name).", "$TTL \(domain.ttl)",
                     "\(name). IN SOA ns1.digitalocean.com. hostmaster.\(name). \(domain.serial) 10800 3600 604800 1800"]
        lines += list.filter { $0.type != "SOA" }.map(\.zoneFileLine)
        return ["name": .string(name), "ttl": .int(domain.ttl), "zone_file": .string(lines.joined(separator: "\n") + "\n")]
    }

    /// Adds a domain directly with extra records (`name TYPE data` triples), e.g. an unrelated zone otto must not touch.
    public func seedDomain(_ name: String, records extra: [(name: String, type: String, data: String)] = []) {
        let name = name.lowercased()
        guard domains[name] == nil else { return }
        domains[name] = FakeDomain(name: name, ttl: 1800, serial: 1_700_000_000)
        addRecord(FakeRecord(id: 0, domain: name, type: "SOA", name: "@", data: "1800", ttl: 1800))
        for ns in Self.nameservers { addRecord(FakeRecord(id: 0, domain: name, type: "NS", name: "@", data: ns, ttl: 1800)) }
        for r in extra {
            addRecord(FakeRecord(id: 0, domain: name, type: r.type, name: r.name, data: r.data, priority: r.type == "MX" ? 10 : nil, ttl: 1800))
        }
    }

    @discardableResult
    private func addRecord(_ record: FakeRecord) -> FakeRecord {
        var record = record
        record.id = nextRecordID
        nextRecordID += 1
        records[record.id] = record
        domains[record.domain]?.serial += 1
        return record
    }

    // MARK: - Records

    /// `GET /v2/domains/{name}/records`, filtered by `name` (fully qualified) and `type`.
    func listRecords(_ domain: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let domain = domain.lowercased()
        guard domains[domain] != nil else { return .notFound }
        let query = request.query
        if let type = query["type"], !Self.recordTypes.contains(type) { return .unprocessable("type is not a valid record type") }
        var list = records.values.filter { $0.domain == domain }.sorted { $0.id < $1.id }
        if let type = query["type"] { list = list.filter { $0.type == type } }
        if let name = query["name"]?.lowercased() {
            let wanted = name.hasSuffix(".") ? name : name + "."
            list = list.filter { $0.fqdn == wanted }
        }
        return paginate(list.map(\.json), key: "domain_records", request)
    }

    /// `GET /v2/domains/{name}/records/{id}`.
    func getRecord(_ domain: String, _ id: String) -> FakeHTTPResponse {
        guard let record = findRecord(domain, id) else { return .notFound }
        return .json(200, ["domain_record": record.json])
    }

    /// `POST /v2/domains/{name}/records`: 201 with the stored record.
    func createRecord(_ domain: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let domain = domain.lowercased()
        guard domains[domain] != nil else { return .notFound }
        guard let body = request.json, body.object != nil else { return .unprocessable("request payload validation failed") }
        guard let type = body["type"]?.string, Self.recordTypes.contains(type) else { return .unprocessable("Type is invalid") }
        if type == "SOA" { return .unprocessable("SOA records are managed by DigitalOcean") }
        let result = validatedRecord(FakeRecord(id: 0, domain: domain, type: type, name: "@", data: "", ttl: 1800), body, creating: true)
        switch result {
        case .failure(let message): return .unprocessable(message.text)
        case .success(let record):
            if let conflict = cnameConflict(record) { return .unprocessable(conflict) }
            return .json(201, ["domain_record": addRecord(record).json])
        }
    }

    /// `PUT`/`PATCH /v2/domains/{name}/records/{id}`: changes the fields given (the type cannot change).
    func updateRecord(_ domain: String, _ id: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let current = findRecord(domain, id) else { return .notFound }
        guard let body = request.json, body.object != nil else { return .unprocessable("request payload validation failed") }
        if let type = body["type"]?.string, type != current.type { return .unprocessable("Type cannot be changed") }
        if current.type == "SOA" {
            guard let ttl = body["ttl"]?.int, ttl >= 30 else { return .unprocessable("only the SOA record's ttl can change (at least 30)") }
            records[current.id]?.ttl = ttl
            return .json(200, ["domain_record": records[current.id]!.json])
        }
        switch validatedRecord(current, body, creating: false) {
        case .failure(let message): return .unprocessable(message.text)
        case .success(let record):
            if let conflict = cnameConflict(record) { return .unprocessable(conflict) }
            records[record.id] = record
            domains[record.domain]?.serial += 1
            return .json(200, ["domain_record": record.json])
        }
    }

    /// `DELETE /v2/domains/{name}/records/{id}`.
    func deleteRecord(_ domain: String, _ id: String) -> FakeHTTPResponse {
        guard let record = findRecord(domain, id) else { return .notFound }
        if record.type == "SOA" { return .unprocessable("SOA records are managed by DigitalOcean") }
        records.removeValue(forKey: record.id)
        domains[record.domain]?.serial += 1
        return .noContent
    }

    private func findRecord(_ domain: String, _ id: String) -> FakeRecord? {
        guard let id = Int(id), let record = records[id], record.domain == domain.lowercased() else { return nil }
        return record
    }

    /// A CNAME cannot share its name with any other record, nor sit at the apex.
    private func cnameConflict(_ record: FakeRecord) -> String? {
        let others = records.values.filter { $0.domain == record.domain && $0.id != record.id && $0.name == record.name }
        if record.type == "CNAME" {
            if record.name == "@" { return "CNAME records cannot be created at the apex (@)" }
            if !others.isEmpty { return "CNAME records cannot share a name with other records" }
        } else if others.contains(where: { $0.type == "CNAME" }) {
            return "Records cannot share a name with a CNAME record"
        }
        return nil
    }

    struct RecordProblem: Error { var text: String }

    /// Applies the fields of `body` to `record` and checks them per type, as DigitalOcean does.
    private func validatedRecord(_ record: FakeRecord, _ body: JSONValue, creating: Bool) -> Result<FakeRecord, RecordProblem> {
        var r = record
        let domain = r.domain
        func fail(_ text: String) -> Result<FakeRecord, RecordProblem> { .failure(RecordProblem(text: text)) }
        func optionalInt(_ key: String, _ range: ClosedRange<Int>) -> (present: Bool, value: Int?, bad: Bool) {
            guard let value = body[key] else { return (false, nil, false) }
            if value.isNull { return (true, nil, false) }
            guard let number = value.int, range.contains(number) else { return (true, nil, true) }
            return (true, number, false)
        }
        if let value = body["name"], !value.isNull {
            guard let name = value.string?.lowercased(), !name.isEmpty else { return fail("Name is invalid") }
            r.name = Self.relativeName(name, domain: domain)
            let check = r.name == "@" ? domain : "\(r.name).\(domain)"
            guard Self.isValidHostname(check.replacingOccurrences(of: "*", with: "x"), underscore: true) else {
                return fail("Name is invalid")
            }
        } else if creating && r.type != "MX" {
            return fail("Name can't be blank")
        }
        if let value = body["data"], !value.isNull {
            guard let data = value.string, !data.isEmpty else { return fail("Data can't be blank") }
            r.data = data
        } else if creating {
            return fail("Data can't be blank")
        }
        if let value = body["ttl"], !value.isNull {
            guard let ttl = value.int, ttl >= 30, ttl <= 2_147_483_647 else { return fail("TTL must be at least 30 seconds") }
            r.ttl = ttl
        }
        let priority = optionalInt("priority", 0...65535)
        let port = optionalInt("port", 0...65535)
        let weight = optionalInt("weight", 0...65535)
        let flags = optionalInt("flags", 0...255)
        if priority.bad { return fail("Priority must be between 0 and 65535") }
        if port.bad { return fail("Port must be between 0 and 65535") }
        if weight.bad { return fail("Weight must be between 0 and 65535") }
        if flags.bad { return fail("Flags must be between 0 and 255") }
        if priority.present { r.priority = priority.value }
        if port.present { r.port = port.value }
        if weight.present { r.weight = weight.value }
        if flags.present { r.flags = flags.value }
        if let value = body["tag"] { r.tag = value.string }

        switch r.type {
        case "A":
            guard Self.isIPv4(r.data) else { return fail("Data is not a valid IPv4 address") }
        case "AAAA":
            guard Self.isIPv6(r.data) else { return fail("Data is not a valid IPv6 address") }
        case "CNAME", "NS", "MX", "SRV":
            guard let host = Self.storedHost(r.data, domain: domain) else { return fail("Data is not a valid hostname") }
            r.data = host
        case "TXT":
            guard r.data.utf8.count <= 4096 else { return fail("Data is too long") }
        case "CAA":
            guard r.flags != nil else { return fail("Flags can't be blank") }
            guard let tag = r.tag, ["issue", "issuewild", "iodef"].contains(tag) else { return fail("Tag must be issue, issuewild or iodef") }
        default:
            break
        }
        if r.type == "MX" || r.type == "SRV" {
            guard r.priority != nil else { return fail("Priority can't be blank") }
        } else {
            r.priority = nil
        }
        if r.type == "SRV" {
            guard r.port != nil else { return fail("Port can't be blank") }
            guard r.weight != nil else { return fail("Weight can't be blank") }
            guard r.name.hasPrefix("_") else { return fail("SRV names must look like _service._protocol") }
        } else {
            r.port = nil
            r.weight = nil
        }
        if r.type != "CAA" {
            r.flags = nil
            r.tag = nil
        }
        return .success(r)
    }

    /// A record name relative to `domain` (`@` for the apex); absolute names inside the domain are made relative.
    static func relativeName(_ name: String, domain: String) -> String {
        if name == "@" || name == domain || name == domain + "." { return "@" }
        for suffix in ["." + domain + ".", "." + domain] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name.hasSuffix(".") ? String(name.dropLast()) : name
    }

    /// How DigitalOcean stores a host name: `@` as is, `name.` without its dot, a relative name qualified with the domain.
    static func storedHost(_ text: String, domain: String) -> String? {
        if text == "@" { return "@" }
        let lower = text.lowercased()
        let host = lower.hasSuffix(".") ? String(lower.dropLast()) : lower + "." + domain
        guard isValidHostname(host, underscore: true) else { return nil }
        return host
    }

    static func isValidHostname(_ name: String, underscore: Bool = false) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, !label.hasPrefix("-"), !label.hasSuffix("-") else { return false }
            for c in label.unicodeScalars {
                guard c.isASCII, CharacterSet.alphanumerics.contains(c) || c == "-" || (underscore && c == "_") else { return false }
            }
        }
        return true
    }

    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }
}
