import Foundation
import OttoCore
import OttoSSH
import Synchronization

/// Configuration on machines over SSH: `file`, `directory` (synced from the project), `package` (apt), `service`,
/// `unit` (systemd), `nginx_site` and `haproxy` (rendered, validated as a whole in a staging copy, then swapped in;
/// the reload is a handler that runs once per host after the changes).
///
/// Every resource on one machine is observed with one probe (one SSH round trip per host). One SSH session per host
/// is reused for everything in a run. Content never goes through a shell: files move over SFTP to a temporary name
/// and are renamed into place; every value in a command is quoted.
public final class HostProvider: Provider {
    public let name: String
    public let concurrencyLimit: Int
    public let schemas: [KindSchema]
    private let projectRoot: String
    private let pool = SSHPool()
    private let localHashes = Mutex<[String: [String: String]]>([:])
    private let booted = Mutex<Set<HostConnection>>([])

    /// Attributes every kind carries but never compares (write-only inputs).
    static let writeOnly: Set<String> = ["content", "source"]
    /// Attributes `derive` computes from the others.
    static let derived: Set<String> = ["content", "content_sha256", "path", "files", "reachable"]

    /// Creates the provider; `projectRoot` is where `directory` sources live.
    public init(name: String = "host", concurrency: Int = 64, projectRoot: String) {
        self.name = name
        self.concurrencyLimit = concurrency
        self.projectRoot = projectRoot
        schemas = ["file", "directory", "package", "service", "unit", "nginx_site", "haproxy"].map { kind in
            KindSchema(kind: kind, forceNew: kind == "file" || kind == "directory" ? ["path"] : [],
                       computed: Self.writeOnly, unordered: ["names"])
        }
    }

    /// Closes every SSH session.
    public func shutdown() async { await pool.closeAll() }

    // MARK: derive

    public func derive(_ resource: Resource) -> Resource {
        var r = resource
        var a = r.attributes
        a["reachable"] = .bool(true)
        // Only the inputs decide whether the rendering is known: never what an earlier derive produced (a plan made
        // while an address was unknown carries `content_sha256: unknown`, and apply derives again once it is known).
        let known = a.filter { !Self.writeOnly.contains($0.key) && !Self.derived.contains($0.key)
            && !HostConnection.attributeNames.contains($0.key) }.values.allSatisfy(\.isFullyKnown)
        func content(_ text: String?) {
            if let text {
                a["content"] = .string(text)
                a["content_sha256"] = .string(Self.sha256(Array(text.utf8)))
            } else {
                a["content"] = .unknown
                a["content_sha256"] = .unknown
            }
        }
        switch r.kind {
        case "file":
            if let text = a["content"]?.stringValue { content(text) }
        case "directory":
            let mode = a["mode"]?.stringValue ?? "0644"
            if a["dir_mode"] == nil { a["dir_mode"] = .string("0755") }
            if let source = a["source"]?.stringValue {
                a["files"] = (try? localFiles(source)).map { .map($0.mapValues { .string("\($0) \(mode)") }) } ?? .unknown
            }
        case "nginx_site":
            a["path"] = a["name"]?.stringValue.map { .string(HostRender.nginxPath($0)) } ?? .unknown
            content(known ? HostRender.nginx(a) : nil)
        case "haproxy":
            a["path"] = .string(HostRender.haproxyPath)
            content(known ? HostRender.haproxy(a) : nil)
        case "unit":
            a["path"] = a["name"]?.stringValue.map { .string(HostRender.unitPath($0)) } ?? .unknown
            content(known ? HostRender.unit(a) : nil)
        default:
            break
        }
        r.attributes = a
        return r
    }

    static func sha256(_ bytes: [UInt8]) -> String { ContentHash.sha256(bytes) }

    /// Hashes of every file under a project directory (relative paths), read once per run.
    private func localFiles(_ source: String) throws -> [String: String] {
        if let cached = localHashes.withLock({ $0[source] }) { return cached }
        let base = source.hasPrefix("/") ? source : projectRoot + "/" + source
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: base) else {
            throw OttoError("host.source", "cannot read the directory \(base)")
        }
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            let full = base + "/" + rel
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
            guard let data = FileManager.default.contents(atPath: full) else { throw OttoError("host.source", "cannot read \(full)") }
            out[rel] = Self.sha256(Array(data))
        }
        localHashes.withLock { $0[source] = out }
        return out
    }

    // MARK: observe

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        try await observeAll([kind: requests])
    }

    /// One probe per machine, machines in parallel.
    public func observeAll(_ requests: [String: [ObserveRequest]]) async throws -> [ResourceAddress: ObservedResource] {
        var byHost: [HostConnection: [ObserveRequest]] = [:]
        for list in requests.values {
            for r in list {
                // Desired attributes need their derived ones (paths) to be probed; state attributes already have them.
                var req = r
                if req.attributes["path"] == nil || req.attributes["content_sha256"] == nil {
                    req.attributes = derive(Resource(address: r.address, provider: name, attributes: r.attributes)).attributes
                }
                guard let c = HostConnection(req.attributes) else { continue }  // machine not there yet: absent
                byHost[c, default: []].append(req)
            }
        }
        return try await withThrowingTaskGroup(of: [ResourceAddress: ObservedResource].self) { group in
            var running = 0
            var out: [ResourceAddress: ObservedResource] = [:]
            for (conn, list) in byHost {
                if running >= concurrencyLimit, let found = try await group.next() { out.merge(found) { a, _ in a }; running -= 1 }
                group.addTask { await self.probe(conn, list) }
                running += 1
            }
            for try await found in group { out.merge(found) { a, _ in a } }
            return out
        }
    }

    private func probe(_ conn: HostConnection, _ requests: [ObserveRequest]) async -> [ResourceAddress: ObservedResource] {
        var out: [ResourceAddress: ObservedResource] = [:]
        let facts: [HostProbe.Facts]
        do {
            let session = try await pool.session(for: conn.target)
            let result = try await session.exec("sh -s", stdin: Array(HostProbe.script(requests).utf8), timeout: .seconds(60))
            guard result.status == 0 else {
                throw OttoError("host.probe", "probe on \(conn.machine) exited \(result.status): \(result.stderrText)")
            }
            facts = HostProbe.parse(result.stdoutText, count: requests.count)
        } catch {
            // Unreachable: report what was asked, marked unreachable, so the plan says so and apply fails for it.
            for r in requests {
                var a = echo(r.attributes)
                a["reachable"] = .bool(false)
                a["unreachable_reason"] = .string(String(describing: error))
                out[r.address] = ObservedResource(providerID: providerID(r.address, conn), attributes: a)
            }
            return out
        }
        for (i, r) in requests.enumerated() {
            if let attrs = observed(r, facts[i]) {
                out[r.address] = ObservedResource(providerID: providerID(r.address, conn), attributes: attrs)
            }
        }
        return out
    }

    private func providerID(_ address: ResourceAddress, _ conn: HostConnection) -> String { "\(conn.machine):\(address)" }

    /// The request's attributes without write-only inputs, as a base for an observation.
    private func echo(_ attributes: [String: Value]) -> [String: Value] {
        attributes.filter { !Self.writeOnly.contains($0.key) && $0.key != "unreachable_reason" }
    }

    /// What exists for one resource, or nil when it does not exist.
    private func observed(_ r: ObserveRequest, _ f: HostProbe.Facts) -> [String: Value]? {
        var a = echo(r.attributes)
        a["reachable"] = .bool(true)
        func fileFacts() -> Bool {
            if f.missing { return false }
            a["content_sha256"] = f.values["sha"].map { .string($0) } ?? .null
            let stat = (f.values["stat"] ?? "").split(separator: " ").map(String.init)
            if stat.count == 3 {
                if a["mode"] != nil { a["mode"] = .string(String(repeating: "0", count: max(0, 4 - stat[0].count)) + stat[0]) }
                if a["owner"] != nil { a["owner"] = .string(stat[1]) }
                if a["group"] != nil { a["group"] = .string(stat[2]) }
            }
            return true
        }
        func unitFacts() {
            a["enabled"] = .bool(f.values["enabled"] == "enabled")
            a["running"] = .bool(f.values["active"] == "active")
        }
        switch r.address.kind {
        case "file", "nginx_site", "haproxy":
            return fileFacts() ? a : nil
        case "unit":
            guard fileFacts() else { return nil }
            unitFacts()
            return a
        case "service":
            unitFacts()
            return a
        case "package":
            let wanted = (r.attributes["names"]?.listValue ?? []).compactMap(\.stringValue)
            a["names"] = .list(wanted.filter { f.packages[$0] == "installed" }.map { .string($0) })
            return a
        case "directory":
            if f.missing { return nil }
            a["files"] = .map(Dictionary(uniqueKeysWithValues: f.files.map { ($0.key, .string("\($0.value) \(f.fileModes[$0.key] ?? "?")")) }))
            // One mode for every directory when they agree; otherwise the odd ones out show in the plan.
            a["dir_mode"] = .string(f.dirModes.count == 1 ? f.dirModes.first! : f.dirModes.sorted().joined(separator: ","))
            return a
        default:
            return nil
        }
    }

    // MARK: apply

    public func create(_ resource: Resource) async throws -> ObservedResource {
        try await converge(derive(resource), current: nil)
    }

    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        let r = derive(resource)
        // What was observed belongs to another machine when the connection changed (the machine was replaced):
        // converge the new one from scratch.
        let sameHost = HostConnection(r.attributes).map { $0 == HostConnection(current.attributes) } ?? false
        return try await converge(r, current: sameHost ? current : nil)
    }

    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        let a = current.attributes
        guard let conn = HostConnection(a) else { return }
        let session: SSHSession
        do { session = try await pool.session(for: conn.target) } catch let error as SSHError
            where conn.hostKey != nil && ["ssh.connect", "ssh.timeout"].contains(error.code) {
            // A machine otto created (its key is pinned) that does not answer at all: what otto put on it goes with
            // the machine, so there is nothing to clean here. A changed host key is never taken as "gone".
            return
        }
        let q = { (k: String) in ShellQuote.quote(a[k]?.stringValue ?? "") }
        switch address.kind {
        case "file":
            try await run(session, "rm -f -- \(q("path"))", conn)
        case "directory":
            // Only what otto put there: the files it synced, then the directories they leave empty.
            let files = (a["files"]?.mapValue ?? [:]).keys.sorted()
            let root = a["path"]?.stringValue ?? ""
            guard root.hasPrefix("/"), root != "/" else { return }
            if !files.isEmpty {
                try await run(session, "cd \(ShellQuote.quote(root)) && rm -f -- " + files.map { ShellQuote.quote("./" + $0) }.joined(separator: " "), conn)
            }
            try await run(session, "[ ! -d \(ShellQuote.quote(root)) ] || find \(ShellQuote.quote(root)) -depth -type d -empty -delete", conn)
        case "unit":
            try await run(session, "systemctl disable --now \(q("name")) 2>/dev/null; rm -f -- \(q("path")) && systemctl daemon-reload", conn)
        case "nginx_site":
            try await run(session, "rm -f -- \(q("path")) && if systemctl is-active --quiet nginx; then systemctl reload nginx; fi", conn)
        case "haproxy":
            try await run(session, "systemctl disable --now haproxy 2>/dev/null; rm -f -- \(q("path"))", conn)
        default:
            break  // packages stay installed and services as they are: removing them from the configuration only forgets them
        }
    }

    public func handlers(for resource: Resource) -> [Handler] {
        let service: String
        switch resource.kind {
        case "nginx_site": service = "nginx"
        case "haproxy": service = "haproxy"
        default: return []
        }
        guard let conn = HostConnection(resource.attributes) else { return [] }
        var attrs = conn.attributes(from: resource.attributes)
        attrs["service"] = .string(service)
        return [Handler(id: "reload \(service) on \(conn.machine)", provider: name, name: "reload \(service)", attributes: attrs)]
    }

    /// Reloads the service, or starts it when it is not running (never a restart).
    public func run(_ handler: Handler) async throws {
        guard let conn = HostConnection(handler.attributes), let service = handler.attributes["service"]?.stringValue else {
            throw OttoError("host.handler", "handler \(handler.id) lacks its connection or service")
        }
        let s = ShellQuote.quote(service)
        let session = try await pool.session(for: conn.target)
        try await run(session, "if systemctl is-active --quiet \(s); then systemctl reload \(s); else systemctl start \(s); fi", conn)
    }

    /// The health of each backend server of a `haproxy` resource, as haproxy itself reports it (UP, DOWN, ...),
    /// read from its local stats page on the load balancer.
    public func backendHealth(_ attributes: [String: Value]) async throws -> [(server: String, status: String)] {
        guard let conn = HostConnection(attributes) else { throw OttoError("host.connection", "the load balancer's address is not known") }
        let session = try await pool.session(for: conn.target)
        let r = try await run(session, "curl -s -m 5 'http://127.0.0.1:8404/stats;csv'", conn)
        var out: [(String, String)] = []
        for line in r.stdoutText.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count > 17, f[1] != "FRONTEND", f[1] != "BACKEND", !f[0].hasPrefix("otto-stats") else { continue }
            out.append((String(f[1]), String(f[17])))
        }
        return out
    }

    /// Runs a command; a non-zero exit is an error carrying the command's own output.
    @discardableResult
    func run(_ session: SSHSession, _ command: String, _ conn: HostConnection, stdin: [UInt8] = []) async throws -> SSHExecResult {
        let r = try await session.exec(command, stdin: stdin, timeout: .seconds(300))
        guard r.status == 0 else {
            let text = (r.stderrText + r.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines)
            throw OttoError("host.command", "\(conn.machine): \(text.isEmpty ? "command exited \(r.status)" : text)")
        }
        return r
    }

    /// Makes the machine match `r`, returning what now exists.
    private func converge(_ r: Resource, current: ObservedResource?) async throws -> ObservedResource {
        let a = r.attributes
        guard let conn = HostConnection(a) else {
            throw OttoError("host.connection", "\(r.address): the machine's address is not known")
        }
        let session: SSHSession
        do { session = try await pool.session(for: conn.target) } catch {
            throw OttoError("host.unreachable", "\(r.address): cannot reach \(conn.machine) (\(conn.host):\(conn.port)): \(error)")
        }
        try await waitForBoot(session, conn)
        let mode = UInt32(a["mode"]?.stringValue ?? "0644", radix: 8) ?? 0o644
        let content = Array((a["content"]?.stringValue ?? "").utf8)
        switch r.kind {
        case "file":
            let dir = ((a["path"]?.stringValue ?? "/") as NSString).deletingLastPathComponent
            try await run(session, "mkdir -p -- \(ShellQuote.quote(dir))", conn)
            try await session.upload(content, to: a["path"]?.stringValue ?? "", mode: mode,
                                     owner: a["owner"]?.stringValue, group: a["group"]?.stringValue)
        case "directory":
            try await syncDirectory(r, current: current, session: session, conn: conn)
        case "package":
            let have = Set((current?.attributes["names"]?.listValue ?? []).compactMap(\.stringValue))
            let missing = (a["names"]?.listValue ?? []).compactMap(\.stringValue).filter { !have.contains($0) }
            if !missing.isEmpty {
                try await run(session, "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -- "
                              + missing.map(ShellQuote.quote).joined(separator: " "), conn)
            }
        case "service":
            try await setService(a, session: session, conn: conn, restart: false)
        case "unit":
            try await stageAndVerifyUnit(a, content: content, session: session, conn: conn)
            try await session.upload(content, to: a["path"]?.stringValue ?? "", mode: 0o644)
            try await run(session, "systemctl daemon-reload", conn)
            try await setService(a, session: session, conn: conn, restart: current != nil)
        case "nginx_site":
            try await validateNginx(a, content: content, session: session, conn: conn)
            try await session.upload(content, to: a["path"]?.stringValue ?? "", mode: 0o644)
        case "haproxy":
            let staged = try await run(session, "mktemp /tmp/otto-haproxy.XXXXXX", conn).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            try await session.upload(content, to: staged, mode: 0o644)
            let check = try await session.exec("haproxy -c -f \(ShellQuote.quote(staged)); s=$?; rm -f -- \(ShellQuote.quote(staged)); exit $s",
                                               timeout: .seconds(60))
            if check.status != 0 {
                let text = (check.stderrText + check.stdoutText).replacingOccurrences(of: staged, with: HostRender.haproxyPath)
                throw OttoError("host.haproxy", "\(conn.machine): haproxy rejected the configuration; the running one is unchanged:\n"
                                + text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try await session.upload(content, to: HostRender.haproxyPath, mode: 0o644)
        default:
            throw OttoError("host.kind", "provider `\(name)` does not manage resources of kind `\(r.kind)`")
        }
        var observed = a.filter { !Self.writeOnly.contains($0.key) }
        observed["reachable"] = .bool(true)
        return ObservedResource(providerID: providerID(r.address, conn), attributes: observed)
    }

    /// A machine that was just created answers SSH before systemd has finished starting it: wait (once per
    /// machine per run) until the boot is done, whether it ended `running` or `degraded`.
    private func waitForBoot(_ session: SSHSession, _ conn: HostConnection) async throws {
        let first = booted.withLock { $0.insert(conn).inserted }
        guard first else { return }
        let r = try await session.exec("timeout 120 systemctl is-system-running --wait 2>/dev/null; true", timeout: .seconds(130))
        let state = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if state == "starting" || state == "initializing" {
            booted.withLock { _ = $0.remove(conn) }
            throw OttoError("host.boot", "\(conn.machine) is still booting after two minutes (systemd says `\(state)`)")
        }
    }

    private func setService(_ a: [String: Value], session: SSHSession, conn: HostConnection, restart: Bool) async throws {
        let n = ShellQuote.quote(a["name"]?.stringValue ?? "")
        var cmds: [String] = []
        cmds.append(a["enabled"]?.boolValue == false ? "systemctl disable \(n)" : "systemctl enable \(n)")
        if a["running"]?.boolValue == false { cmds.append("systemctl stop \(n)") } else {
            cmds.append(restart ? "systemctl restart \(n)" : "systemctl start \(n)")
        }
        try await run(session, cmds.joined(separator: " && "), conn)
    }

    /// `systemd-analyze verify` on a staged copy: any output at all is a failure (an unknown key only warns).
    private func stageAndVerifyUnit(_ a: [String: Value], content: [UInt8], session: SSHSession, conn: HostConnection) async throws {
        let name = a["name"]?.stringValue ?? "x.service"
        let dir = try await run(session, "mktemp -d /tmp/otto-unit.XXXXXX", conn).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let staged = dir + "/" + name
        try await session.upload(content, to: staged, mode: 0o644)
        let check = try await session.exec("systemd-analyze verify \(ShellQuote.quote(staged)) 2>&1; s=$?; rm -rf -- \(ShellQuote.quote(dir)); exit $s",
                                           timeout: .seconds(60))
        let output = check.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if check.status != 0 || !output.isEmpty {
            throw OttoError("host.unit", "\(conn.machine): unit \(name) does not verify; nothing was changed:\n"
                            + output.replacingOccurrences(of: staged, with: HostRender.unitPath(name)))
        }
    }

    /// Copies /etc/nginx into a staging directory, puts the new site there, and runs `nginx -t` on the whole tree.
    private func validateNginx(_ a: [String: Value], content: [UInt8], session: SSHSession, conn: HostConnection) async throws {
        let path = a["path"]?.stringValue ?? ""
        let stage = try await run(session, "d=$(mktemp -d /tmp/otto-nginx.XXXXXX) && cp -a /etc/nginx/. \"$d/\" && echo \"$d\"", conn)
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let staged = stage + "/" + String(path.dropFirst("/etc/nginx/".count))
        try await session.upload(content, to: staged, mode: 0o644)
        let s = ShellQuote.quote(stage)
        let check = try await session.exec("sed -i \"s#/etc/nginx/#\(stage)/#g\" \(s)/nginx.conf && nginx -t -q -c \(s)/nginx.conf; st=$?; rm -rf -- \(s); exit $st",
                                           timeout: .seconds(60))
        if check.status != 0 {
            let text = (check.stderrText + check.stdoutText).replacingOccurrences(of: stage + "/", with: "/etc/nginx/")
            throw OttoError("host.nginx", "\(conn.machine): nginx rejected the configuration; the running one is unchanged:\n"
                            + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// Uploads new and changed files, removes files that are no longer in the source (only changed files move).
    private func syncDirectory(_ r: Resource, current: ObservedResource?, session: SSHSession, conn: HostConnection) async throws {
        let a = r.attributes
        guard let root = a["path"]?.stringValue, root.hasPrefix("/"), root != "/", let source = a["source"]?.stringValue else {
            throw OttoError("host.directory", "\(r.address): needs an absolute path other than / and a source")
        }
        let want = try localFiles(source)
        // What is there now, listed at apply time (the plan may be older, or about a machine since replaced).
        let listing = try await run(session, HostProbe.script([ObserveRequest(address: r.address, providerID: nil, attributes: a)]), conn)
        let facts = HostProbe.parse(listing.stdoutText, count: 1)[0]
        let have = facts.files
        let fileMode = a["mode"]?.stringValue ?? "0644"
        // A file moves when its content or its mode differs.
        let changed = want.filter { have[$0.key] != $0.value || facts.fileModes[$0.key] != fileMode }.keys.sorted()
        let extra = have.keys.filter { want[$0] == nil }.sorted()
        let dirs = Set(changed.map { ($0 as NSString).deletingLastPathComponent }.filter { !$0.isEmpty }).map { root + "/" + $0 }
        try await run(session, "mkdir -p -- " + ([root] + dirs.sorted()).map(ShellQuote.quote).joined(separator: " "), conn)
        let base = source.hasPrefix("/") ? source : projectRoot + "/" + source
        let mode = UInt32(a["mode"]?.stringValue ?? "0644", radix: 8) ?? 0o644
        for rel in changed {
            guard let data = FileManager.default.contents(atPath: base + "/" + rel) else {
                throw OttoError("host.source", "cannot read \(base)/\(rel)")
            }
            try await session.upload(Array(data), to: root + "/" + rel, mode: mode, owner: a["owner"]?.stringValue, group: a["group"]?.stringValue)
        }
        if a["purge"]?.boolValue != false && !extra.isEmpty {
            try await run(session, "cd \(ShellQuote.quote(root)) && rm -f -- " + extra.map { ShellQuote.quote("./" + $0) }.joined(separator: " "), conn)
        }
        let dirMode = a["dir_mode"]?.stringValue ?? "0755"
        if facts.dirModes != [dirMode] || !dirs.isEmpty {
            try await run(session, "find \(ShellQuote.quote(root)) -type d -exec chmod \(ShellQuote.quote(dirMode)) {} +", conn)
        }
    }
}
