import Foundation
import OttoCore

extension ConfigReader {
    static let lifecycleKeys = ["prevent_destroy", "ignore_changes", "depends_on"]

    func lifecycle(_ f: Fields) -> LifecycleSpec {
        var spec = LifecycleSpec()
        spec.preventDestroy = bool(f["prevent_destroy"]) ?? false
        spec.ignoreChanges = strings(f["ignore_changes"])?.map(\.0) ?? []
        for (text, location) in strings(f["depends_on"]) ?? [] {
            if ResourceAddress(parsing: text) == nil {
                error(location, "invalid address \(Value.string(text)) in depends_on: expected KIND.NAME, e.g. dns_record.demo.www.CNAME")
            } else {
                spec.dependsOn.append(Located(text, at: location))
            }
        }
        return spec
    }

    /// A required `on:`-style group reference.
    func groupRef(_ f: Fields, _ key: String, in what: String) -> Located<String>? {
        guard let node = f[key] else { return nil }
        return string(node).map { Located($0, at: node.location) }
    }

    /// Decodes one site document.
    func site(_ root: YAMLNode) -> Site? {
        guard let f = fields(root, "a site", allowed: ["site", "domain", "provider", "machines", "nginx", "haproxy", "units", "dns", "walk",
                                                       "packages", "files", "services", "drift", "vars", "templates", "apps", "fleet"],
                             required: ["site", "domain"]) else { return nil }
        let name = self.name(f["site"], "site name")
        var domain: String?
        if let node = f["domain"], let text = string(node) {
            let bare = text.hasSuffix(".") ? String(text.dropLast()) : text
            if DNSNormalizer.isValidDomain(bare) { domain = bare.lowercased() } else {
                error(node.location, "invalid domain name \(Value.string(text))")
            }
        }
        let provider = f["provider"].flatMap { node in string(node).map { Located($0, at: node.location) } }
        var machines: [MachineGroup] = []
        if let node = f["machines"] {
            if let entries = node.entries {
                for entry in entries { if let g = machineGroup(entry) { machines.append(g) } }
            } else {
                error(node.location, "expected machines (a mapping of group name to settings), got \(node.kindDescription)")
            }
        }
        let site = name ?? "", zoneDomain = domain ?? "invalid."
        let nginx = f["nginx"].flatMap { self.nginx($0, site: site, domain: zoneDomain) }
        let haproxy = f["haproxy"].flatMap(self.haproxy)
        var units: [UnitSpec] = []
        if let node = f["units"] {
            if let items = node.items { units = items.compactMap(unit) } else {
                error(node.location, "expected units (a list), got \(node.kindDescription)")
            }
        }
        let dns = f["dns"].flatMap { self.dns($0, domain: domain) }
        let walk = f["walk"].flatMap { self.walk($0, domain: zoneDomain) }
        func list<T>(_ key: String, _ item: (YAMLNode) -> T?) -> [T] {
            guard let node = f[key] else { return [] }
            guard let items = node.items else { error(node.location, "expected \(key) (a list), got \(node.kindDescription)"); return [] }
            return items.compactMap(item)
        }
        let packages = list("packages", package), files = list("files", file), services = list("services", service)
        let templates = list("templates", template)
        var vars: [String: Value] = [:]
        if let v = f["vars"] {
            if case .map(let m) = v.value { vars = m } else { error(v.location, "expected vars (a mapping), got \(v.kindDescription)") }
        }
        let apps = list("apps", app)
        guard let name, let domain else { return nil }
        var out = Site(name: name, domain: domain, provider: provider, machines: machines, nginx: nginx, haproxy: haproxy,
                       units: units, dns: dns, walk: walk, location: root.location,
                       nameLocation: f["site"]?.location ?? root.location)
        out.packages = packages
        out.files = files
        out.services = services
        out.templates = templates
        out.vars = vars
        out.apps = apps
        out.fleet = f["fleet"].flatMap(fleet)
        if let node = f["drift"], let text = string(node) {
            if let policy = DriftPolicy(rawValue: text) { out.drift = policy } else {
                error(node.location, "drift must be `correct` or `report`, got \(Value.string(text))"
                      + (EditDistance.closest(to: text, in: DriftPolicy.allCases.map(\.rawValue)).map { "; did you mean `\($0)`?" } ?? ""))
            }
        }
        return out
    }

    func package(_ node: YAMLNode) -> PackageSpec? {
        guard let f = fields(node, "a packages entry", allowed: ["on", "names"], required: ["on", "names"]) else { return nil }
        var names: [String] = []
        for (text, location) in strings(f["names"]) ?? [] {
            let valid = !text.isEmpty && text.allSatisfy { $0.isLetter || $0.isNumber || "+-.:".contains($0) } && text.first!.isLetter || text.first?.isNumber == true
            if valid { names.append(text) } else { error(location, "invalid package name \(Value.string(text))") }
        }
        guard let on = groupRef(f, "on", in: "packages") else { return nil }
        return PackageSpec(on: on, names: names.sorted(), location: node.location)
    }

    func file(_ node: YAMLNode) -> FileSpec? {
        guard let f = fields(node, "a files entry", allowed: ["on", "path", "content", "source", "mode", "owner", "group", "sensitive"]
                                + Self.lifecycleKeys,
                             required: ["on", "path"]) else { return nil }
        let path = machinePath(f["path"])
        var content: String?
        switch (f["content"], f["source"]) {
        case (let c?, nil): content = string(c)
        case (nil, let s?):
            if !onDisk { error(s.location, "source: needs a project directory on disk") } else if let rel = string(s) {
                let full = rel.hasPrefix("/") ? rel : root + "/" + rel
                if let data = contents(full), let text = String(data: data, encoding: .utf8) { content = text } else {
                    error(s.location, "cannot read source file \(Value.string(rel)) (relative to the project root, UTF-8 text)")
                }
            }
        case (_?, _?): error(node.location, "give either content or source, not both")
        case (nil, nil): error(node.location, "a file needs content or source")
        }
        let mode = mode(f["mode"]) ?? "0644"
        guard let on = groupRef(f, "on", in: "files"), let path, let content else { return nil }
        var spec = FileSpec(on: on, path: path, content: content, mode: mode, owner: f["owner"].flatMap(string) ?? "root",
                            group: f["group"].flatMap(string) ?? "root", lifecycle: lifecycle(f), location: node.location)
        spec.sensitive = bool(f["sensitive"]) ?? false
        return spec
    }

    /// An absolute file path on a machine (`path:` of files and templates).
    func machinePath(_ node: YAMLNode?) -> String? {
        guard let node, let text = string(node) else { return nil }
        guard text.hasPrefix("/") && !text.hasSuffix("/") && !text.contains("\0") else {
            error(node.location, "path must be an absolute file path, got \(Value.string(text))")
            return nil
        }
        return text
    }

    /// One `templates:` entry: `{ on, path, template, mode, owner, group, sensitive }`; the template file is read and
    /// parsed now, so a template that does not parse is an error at its `template:` entry.
    func template(_ node: YAMLNode) -> TemplateSpec? {
        guard let f = fields(node, "a templates entry", allowed: ["on", "path", "template", "mode", "owner", "group", "sensitive"]
                                + Self.lifecycleKeys, required: ["on", "path", "template"]) else { return nil }
        let path = machinePath(f["path"])
        var source: String?, text: String?
        if let t = f["template"], let rel = string(t) {
            source = rel
            if !onDisk { error(t.location, "template: needs a project directory on disk") } else {
                let full = rel.hasPrefix("/") ? rel : root + "/" + rel
                if let data = contents(full), let body = String(data: data, encoding: .utf8) {
                    if let problem = TemplateSyntax.problem(body) {
                        error(t.location, "template \(Value.string(rel)) does not parse: \(problem)")
                    } else {
                        text = body
                    }
                } else {
                    error(t.location, "cannot read template file \(Value.string(rel)) (relative to the project root, UTF-8 text)")
                }
            }
        }
        let mode = mode(f["mode"]) ?? "0644"
        guard let on = groupRef(f, "on", in: "templates"), let path, let source, let text else { return nil }
        return TemplateSpec(on: on, path: path, source: source, text: text, mode: mode, owner: f["owner"].flatMap(string) ?? "root",
                            group: f["group"].flatMap(string) ?? "root", sensitive: bool(f["sensitive"]) ?? false,
                            lifecycle: lifecycle(f), location: node.location)
    }

    /// A file mode: an octal string like "0644" or "644" (an unquoted 0644 reads as a number in YAML; accepted too).
    func mode(_ node: YAMLNode?) -> String? {
        guard let node else { return nil }
        let text: String?
        if case .int(let i)? = node.scalar { text = String(i) } else { text = string(node) }
        guard let text, (3...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }) else {
            error(node.location, "mode must be octal like \"0644\"")
            return nil
        }
        return String(repeating: "0", count: 4 - text.count) + text
    }

    func service(_ node: YAMLNode) -> ServiceSpec? {
        guard let f = fields(node, "a services entry", allowed: ["on", "name", "enabled", "running"], required: ["on", "name"]) else { return nil }
        var name: String?
        if let n = f["name"], let text = string(n) {
            if !text.isEmpty && !text.contains("/") && !text.contains(" ") { name = text } else {
                error(n.location, "invalid service name \(Value.string(text))")
            }
        }
        guard let on = groupRef(f, "on", in: "services"), let name else { return nil }
        return ServiceSpec(on: on, name: name, enabled: bool(f["enabled"]) ?? true, running: bool(f["running"]) ?? true,
                           location: node.location)
    }

    func machineGroup(_ entry: YAMLNode.Entry) -> MachineGroup? {
        guard let name = self.name(entry.key, "machine group name") else { return nil }
        guard let f = fields(entry.value, "machine group `\(name)`",
                             allowed: ["count", "image", "size", "provider", "region", "user_data", "labels"] + Self.lifecycleKeys) else { return nil }
        let count = f["count"].map { int($0, in: 1...Int.max, "count") } ?? 1
        func located(_ key: String) -> Located<String>? { f[key].flatMap { n in string(n).map { Located($0, at: n.location) } } }
        guard let count else { return nil }
        var group = MachineGroup(name: name, count: count, image: located("image"), size: f["size"].flatMap(string),
                                 provider: located("provider"), region: f["region"].flatMap(string),
                                 lifecycle: lifecycle(f), location: entry.key.location)
        group.userData = f["user_data"].flatMap(string)
        if let l = f["labels"] {
            if let entries = l.entries {
                for entry in entries {
                    guard let k = entry.key.text, let v = string(entry.value) else { continue }
                    if k.isEmpty || k.contains("=") || k.contains(" ") { error(entry.key.location, "invalid label name \(Value.string(k))") } else {
                        group.labels[k] = v
                    }
                }
            } else { error(l.location, "expected labels (a mapping of name to value), got \(l.kindDescription)") }
        }
        return group
    }

    func nginx(_ node: YAMLNode, site: String, domain: String) -> NginxSpec? {
        guard let f = fields(node, "nginx", allowed: ["on", "server_name", "root", "content", "listen", "directives"] + Self.lifecycleKeys,
                             required: ["on"]) else { return nil }
        let on = groupRef(f, "on", in: "nginx")
        let listen = f["listen"].map { int($0, in: 1...65535, "listen") } ?? 80
        let serverName = f["server_name"].flatMap(string) ?? domain
        let root = f["root"].flatMap(string) ?? "/srv/www/\(site)"
        if let r = f["root"], !root.hasPrefix("/") { error(r.location, "root must be an absolute path, got \(Value.string(root))") }
        if onDisk, let c = f["content"], let dir = string(c) {
            var isDir: ObjCBool = false
            let full = dir.hasPrefix("/") ? dir : self.root + "/" + dir
            if !exists(full, isDirectory: &isDir) || !isDir.boolValue {
                error(c.location, "content directory \(Value.string(dir)) does not exist (relative to the project root)")
            }
        }
        guard let on, let listen else { return nil }
        var spec = NginxSpec(on: on, serverName: serverName, root: root, content: f["content"].flatMap(string), listen: listen,
                             lifecycle: lifecycle(f), location: node.location)
        spec.directives = strings(f["directives"])?.map(\.0) ?? []
        return spec
    }

    static let balances = ["roundrobin", "leastconn", "source", "first", "static-rr"]

    func haproxy(_ node: YAMLNode) -> HAProxySpec? {
        guard let f = fields(node, "haproxy", allowed: ["on", "bind", "backend", "port", "balance", "health"] + Self.lifecycleKeys,
                             required: ["on", "backend"]) else { return nil }
        let on = groupRef(f, "on", in: "haproxy"), backend = groupRef(f, "backend", in: "haproxy")
        let port = f["port"].map { int($0, in: 1...65535, "port") } ?? 80
        var balance = "roundrobin"
        if let b = f["balance"], let text = string(b) {
            if Self.balances.contains(text) { balance = text } else {
                var message = "unknown balance \(Value.string(text)); expected one of \(Self.balances.joined(separator: ", "))"
                if let guess = EditDistance.closest(to: text, in: Self.balances) { message += "; did you mean `\(guess)`?" }
                error(b.location, message)
            }
        }
        var healthPath: String?, interval: ConfigDuration?
        if let h = f["health"], let hf = fields(h, "haproxy health", allowed: ["path", "interval"]) {
            healthPath = hf["path"].flatMap(string) ?? "/"
            interval = hf["interval"].map(duration) ?? ConfigDuration(parsing: "2s")
            if let n = hf["interval"], let d = interval, d.milliseconds == 0 { error(n.location, "interval must be more than 0") }
        }
        guard let on, let backend, let port else { return nil }
        return HAProxySpec(on: on, bind: f["bind"].flatMap(string) ?? ":80", backend: backend, backendPort: port, balance: balance,
                           healthPath: healthPath, healthInterval: interval, lifecycle: lifecycle(f), location: node.location)
    }

    static let restartPolicies = ["no", "always", "on-success", "on-failure", "on-abnormal", "on-abort", "on-watchdog"]

    func unit(_ node: YAMLNode) -> UnitSpec? {
        guard let f = fields(node, "a unit", allowed: ["name", "on", "exec", "restart", "user", "environment"] + Self.lifecycleKeys,
                             required: ["name", "on", "exec"]) else { return nil }
        var name: String?
        if let n = f["name"], let text = string(n) {
            let valid = !text.isEmpty && !text.contains("/") && !text.contains(" ") && text.contains(".")
            if valid { name = text } else { error(n.location, "invalid unit name \(Value.string(text)): expected e.g. `demo-worker.service`") }
        }
        var restart = "on-failure"
        if let r = f["restart"] {
            // `no` is a plain string in YAML 1.2 but reads naturally; `false` is accepted as `no`.
            if r.scalar == .bool(false) { restart = "no" } else if let text = string(r) {
                if Self.restartPolicies.contains(text) { restart = text } else {
                    error(r.location, "unknown restart policy \(Value.string(text)); expected one of \(Self.restartPolicies.joined(separator: ", "))")
                }
            }
        }
        var environment: [String: String] = [:]
        if let e = f["environment"] {
            if let entries = e.entries {
                for entry in entries { if let k = entry.key.text, let v = string(entry.value) { environment[k] = v } }
            } else { error(e.location, "expected environment (a mapping), got \(e.kindDescription)") }
        }
        let on = groupRef(f, "on", in: "unit"), exec = f["exec"].flatMap(string)
        guard let name, let on, let exec else { return nil }
        return UnitSpec(name: name, on: on, exec: exec, restart: restart, user: f["user"].flatMap(string),
                        environment: environment, lifecycle: lifecycle(f), location: node.location)
    }

    static let ttlRange = 0...2_147_483_647

    func dns(_ node: YAMLNode, domain: String?) -> DNSSpec? {
        guard let f = fields(node, "dns", allowed: ["provider", "zone", "ttl", "nameservers", "records"] + Self.lifecycleKeys,
                             required: ["provider"]) else { return nil }
        let provider = groupRef(f, "provider", in: "dns")
        var zone = domain.map { $0 + "." }
        if let z = f["zone"], let text = string(z) {
            zone = DNSNormalizer.zone(text)
            if zone == nil { error(z.location, "invalid zone name \(Value.string(text))") }
        }
        let ttl = f["ttl"].map { int($0, in: Self.ttlRange, "ttl") } ?? 300
        guard let zone else { return nil }
        var nameservers: [String] = []
        for (text, location) in strings(f["nameservers"]) ?? [] {
            switch DNSNormalizer.target(text, zone: zone) {
            case .ok(let ns): nameservers.append(ns)
            case .bad(let m): error(location, m)
            }
        }
        var records: [DNSRecordSpec] = []
        if let r = f["records"] {
            if let items = r.items { records = items.compactMap { record($0, zone: zone, ttl: ttl ?? 300) } } else {
                error(r.location, "expected records (a list), got \(r.kindDescription)")
            }
        }
        guard let provider, let ttl else { return nil }
        return DNSSpec(provider: provider, zone: zone, ttl: ttl, nameservers: nameservers.sorted(), records: records,
                       lifecycle: lifecycle(f), location: node.location)
    }

    static let recordKeys = ["name", "type", "ttl", "value", "values", "to"] + lifecycleKeys

    func record(_ node: YAMLNode, zone: String, ttl defaultTTL: Int) -> DNSRecordSpec? {
        guard let f = fields(node, "a DNS record", allowed: Self.recordKeys,
                             required: ["name", "type"]) else { return nil }
        var type: DNSRecordType?
        if let t = f["type"], let text = string(t) {
            type = DNSRecordType(rawValue: text.uppercased())
            if type == nil {
                error(t.location, "unknown record type \(Value.string(text)); expected one of \(DNSRecordType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var label: String?, fqdn: String?
        if let n = f["name"], let text = string(n) {
            switch DNSNormalizer.owner(text, zone: zone) {
            case .ok(let name):
                fqdn = name
                if name == zone { label = "@" } else {
                    let lower = text.lowercased()
                    label = lower.hasSuffix(".") ? String(lower.dropLast(zone.count + 1)) : lower
                }
            case .bad(let m): error(n.location, m)
            }
        }
        let ttl = f["ttl"].map { int($0, in: Self.ttlRange, "ttl") } ?? defaultTTL
        let given = ["value", "values", "to"].filter { f[$0] != nil }
        var content: DNSRecordSpec.Content?
        if given.count != 1 {
            let at = given.count > 1 ? f.keyLocation(given[1]) : node.location
            error(at, given.isEmpty ? "a DNS record needs one of `value`, `values` or `to`"
                                    : "a DNS record takes only one of `value`, `values` or `to`, got \(given.map { "`\($0)`" }.joined(separator: " and "))")
        } else if let type {
            if let to = f["to"] {
                if type != .A && type != .AAAA {
                    error(f.keyLocation("to"), "`to:` (a machine group's addresses) is only for A and AAAA records, not \(type.rawValue)")
                } else if let g = string(to) {
                    content = .machines(Located(g, at: to.location))
                }
            } else {
                let raw = f["value"].flatMap { n in string(n).map { [($0, n.location)] } } ?? strings(f["values"]) ?? []
                if let v = f["values"], v.items?.isEmpty == true { error(v.location, "`values` must not be empty") }
                if type == .CNAME, raw.count > 1 { error(raw[1].1, "a CNAME record takes exactly one value") }
                if raw.count == 1 {  // the common case: one value, nothing to compare it with
                    switch DNSNormalizer.value(raw[0].0, type: type, zone: zone) {
                    case .ok(let v): content = .values([v])
                    case .bad(let m): error(raw[0].1, m)
                    }
                }
                var values: [String: SourceLocation] = [:]
                for (text, location) in raw where raw.count > 1 {
                    switch DNSNormalizer.value(text, type: type, zone: zone) {
                    case .ok(let v):
                        if let first = values[v] { error(location, "duplicate value \(Value.string(v)) (first at \(first))") }
                        else { values[v] = location }
                    case .bad(let m): error(location, m)
                    }
                }
                if raw.count > 1, values.count == raw.count { content = .values(values.keys.sorted()) }
            }
        }
        guard let type, let label, let fqdn, let ttl, let content else { return nil }
        return DNSRecordSpec(label: label, fqdn: fqdn, type: type, ttl: ttl, content: content, lifecycle: lifecycle(f),
                             location: node.location)
    }

    /// `http://HOST…` or `https://HOST…` with a non-empty host (what the walker can start from).
    static func isAbsoluteHTTPURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard let rest = ["http://", "https://"].first(where: lower.hasPrefix).map({ lower.dropFirst($0.count) }) else { return false }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map { $0.split(separator: ":").first ?? "" } ?? ""
        return !host.isEmpty && !text.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" })
    }

    func walk(_ node: YAMLNode, domain: String) -> WalkSpec? {
        guard let f = fields(node, "walk", allowed: ["every", "depth", "max_pages", "allow", "start"]) else { return nil }
        let every = f["every"].map(duration) ?? ConfigDuration(parsing: "5m")
        if let n = f["every"], let e = every, e.milliseconds == 0 { error(n.location, "every must be more than 0") }
        let depth = f["depth"].map { int($0, in: 0...Int.max, "depth") } ?? 3
        let maxPages = f["max_pages"].map { int($0, in: 1...Int.max, "max_pages") } ?? 1000
        var allow: [String] = []
        for (host, location) in strings(f["allow"]) ?? [] {
            if DNSNormalizer.isValidDomain(host) { allow.append(host.lowercased()) } else { error(location, "invalid host name \(Value.string(host))") }
        }
        let start = f["start"].flatMap(string) ?? "http://\(domain)/"
        if let n = f["start"], let text = string(n), !Self.isAbsoluteHTTPURL(text) {
            error(n.location, "start must be an absolute http or https URL, like http://\(domain)/; got \(Value.string(text))")
        }
        guard let every, let depth, let maxPages else { return nil }
        return WalkSpec(every: every, depth: depth, maxPages: maxPages, allow: allow, start: start, location: node.location)
    }
}
