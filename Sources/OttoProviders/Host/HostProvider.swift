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
///
/// What differs between kinds (schema, rendering, probe, converge, delete, handler) lives in one `HostKind` type per
/// kind, registered in `HostKinds.table`; this type holds what they share. A rendered file (nginx site, haproxy
/// configuration, unit) is rendered once per run: refresh, plan and apply reuse the rendering while its inputs stay
/// the same.
public final class HostProvider: Provider {
    public let name: String
    public let concurrencyLimit: Int
    public var schemas: [KindSchema] { Self.kindSchemas }
    /// The kinds and their attributes, one per `HostKind`.
    public static let kindSchemas: [KindSchema] = HostKinds.all.map(\.schema)
    private let pool: SSHPool
    /// False when the pool is shared (`otto serve` keeps sessions warm between runs): `shutdown` leaves it open.
    private let ownsPool: Bool
    private let sources: HostSourceFiles
    private let renderings = HostRenderCache()
    private let booted = Mutex<Set<HostConnection>>([])
    private typealias F = AttributeName.File
    private typealias H = AttributeName.Host

    /// Attributes every kind carries but never compares (write-only inputs).
    static let writeOnly: Set<String> = [AttributeName.File.content, AttributeName.Directory.source]
    /// Attributes `derive` computes from the others.
    static let derived: Set<String> = [AttributeName.File.content, AttributeName.File.contentSHA256, AttributeName.File.path,
                                       AttributeName.Directory.files, AttributeName.Host.reachable]

    /// Creates the provider; `projectRoot` is where `directory` sources live. With `sessions`, SSH sessions come from
    /// that pool and outlive the provider (`otto serve`: warm between scheduled runs); without, the provider keeps its
    /// own for one run.
    public init(name: String = "host", concurrency: Int = 64, projectRoot: String, sessions: SSHPool? = nil) {
        self.name = name
        self.concurrencyLimit = concurrency
        self.sources = HostSourceFiles(projectRoot: projectRoot)
        self.pool = sessions ?? SSHPool()
        self.ownsPool = sessions == nil
    }

    /// Closes the provider's own SSH sessions (a shared pool's stay open for the next run).
    public func shutdown() async { if ownsPool { await pool.closeAll() } }

    /// How many renderings of managed files this provider made (each resource renders once per run unless its
    /// inputs change).
    var renderCount: Int { renderings.renderCount }

    // MARK: derive

    public func derive(_ resource: Resource) -> Resource {
        var r = resource
        var a = r.attributes
        a[H.reachable] = .bool(true)
        guard let kind = HostKinds.table[r.kind] else {
            r.attributes = a
            return r
        }
        kind.derive(&a, sources: sources)
        if kind.isRendered {
            // Only the inputs decide the rendering: never what an earlier derive produced (a plan made while an
            // address was unknown carries `content_sha256: unknown`, and apply derives again once it is known).
            let inputs = a.filter { !Self.writeOnly.contains($0.key) && !Self.derived.contains($0.key)
                && !HostConnection.attributeNames.contains($0.key) }
            let rendering = inputs.values.allSatisfy(\.isFullyKnown)
                ? renderings.rendering(r.address, inputs: inputs) { kind.render(a) } : nil
            a[F.content] = rendering.map { .string($0.text) } ?? .unknown
            a[F.contentSHA256] = rendering.map { .string($0.sha256) } ?? .unknown
        }
        r.attributes = a
        return r
    }

    static func sha256(_ bytes: [UInt8]) -> String { ContentHash.sha256(bytes) }

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
                if req.attributes[F.path] == nil || req.attributes[F.contentSHA256] == nil {
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
                // In address order: the same resources give the same script on every run (a warm session's gate
                // remembers the probes it was made for).
                let sorted = list.sorted { $0.address < $1.address }
                group.addTask { await self.probe(conn, sorted) }
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
            // A warm session whose connection died since the last run (sshd restarted) is replaced, and the probe run again
            // (on the new session, without the old one's memos).
            facts = try await pool.withSession(for: conn.target) { session in
                // Only a session kept between runs gates its probes: a run's own sessions never probe the same paths twice.
                // A warm session runs the probe in its resident shell (one write and one answer per run).
                try await HostProbe.run(requests, memos: session, gated: !ownsPool) { [ownsPool] script in
                    let result = ownsPool ? try await session.exec("sh -s", stdin: Array(script.utf8), timeout: .seconds(60))
                        : try await session.runInShell(script, timeout: .seconds(60))
                    guard result.status == 0 else {
                        throw OttoError("host.probe", "probe on \(conn.machine) exited \(result.status): \(result.stderrText)")
                    }
                    return result.stdoutText
                }
            }
        } catch {
            // Unreachable: report what was asked, marked unreachable, so the plan says so and apply fails for it.
            for r in requests {
                var a = echo(r.attributes)
                a[H.reachable] = .bool(false)
                a[H.unreachableReason] = .string(String(describing: error))
                out[r.address] = ObservedResource(providerID: providerID(r.address, conn), attributes: a)
            }
            return out
        }
        for (i, r) in requests.enumerated() {
            if let attrs = observed(r, facts[i]) {
                out[r.address] = ObservedResource(providerID: providerID(r.address, conn), attributes: attrs)
            }
        }
        await readTexts(conn, requests, into: &out)
        return out
    }

    /// For plans to show a diff: the text on the machine (`content`) of each file whose hash differs from the one
    /// wanted, read in one more exec on the host. Only files whose text is not sensitive, of at most 256 KiB, and text
    /// (UTF-8 without NUL bytes); without it, a plan shows the hashes. A failure here only costs the diff.
    private func readTexts(_ conn: HostConnection, _ requests: [ObserveRequest], into out: inout [ResourceAddress: ObservedResource]) async {
        var wanted: [(address: ResourceAddress, path: String)] = []
        for r in requests {
            guard let have = out[r.address]?.attributes, let kind = HostKinds.table[r.address.kind],
                  kind.schema.presentation(of: F.contentSHA256) == .digest(of: F.content),
                  !kind.schema.sensitive(in: [r.attributes]).contains(F.content),
                  let want = r.attributes[F.contentSHA256]?.stringValue, let sha = have[F.contentSHA256]?.stringValue, sha != want,
                  let path = have[F.path]?.stringValue ?? r.attributes[F.path]?.stringValue else { continue }
            wanted.append((r.address, path))
        }
        guard !wanted.isEmpty else { return }
        let script = HostProbe.textScript(wanted.enumerated().map { ($0.offset, $0.element.path) })
        guard let session = try? await pool.session(for: conn.target),
              let result = try? await session.exec("sh -s", stdin: Array(script.utf8), timeout: .seconds(60)),
              result.status == 0 else { return }
        for (i, text) in HostProbe.texts(result.stdoutText, count: wanted.count) {
            out[wanted[i].address]?.attributes[F.content] = .string(text)
        }
    }

    private func providerID(_ address: ResourceAddress, _ conn: HostConnection) -> String { "\(conn.machine):\(address)" }

    /// The request's attributes without write-only inputs, as a base for an observation.
    private func echo(_ attributes: [String: Value]) -> [String: Value] {
        attributes.filter { !Self.writeOnly.contains($0.key) && $0.key != H.unreachableReason }
    }

    /// What exists for one resource, or nil when it does not exist.
    private func observed(_ r: ObserveRequest, _ f: HostProbe.Facts) -> [String: Value]? {
        guard let kind = HostKinds.table[r.address.kind] else { return nil }
        var a = echo(r.attributes)
        a[H.reachable] = .bool(true)
        return kind.observe(&a, requested: r.attributes, facts: f) ? a : nil
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
        try await HostKinds.table[address.kind]?.delete(a, on: HostTarget(session: session, conn: conn, sources: sources))
    }

    public func handlers(for resource: Resource) -> [Handler] {
        guard let service = HostKinds.table[resource.kind]?.handlerService, let conn = HostConnection(resource.attributes) else { return [] }
        var attrs = conn.attributes(from: resource.attributes)
        attrs["service"] = .string(service)
        return [Handler(id: "reload \(service) on \(conn.machine)", provider: name, name: "reload \(service)", attributes: attrs)]
    }

    /// Reloads the service, or starts it when it is not running (never a restart). Before a reload, the kinds whose
    /// handler it is save what the reload must keep (haproxy: the server state set over its runtime API).
    public func run(_ handler: Handler) async throws {
        guard let conn = HostConnection(handler.attributes), let service = handler.attributes["service"]?.stringValue else {
            throw OttoError("host.handler", "handler \(handler.id) lacks its connection or service")
        }
        let s = ShellQuote.quote(service)
        let host = HostTarget(session: try await pool.session(for: conn.target), conn: conn, sources: sources)
        let active = try await host.session.exec("systemctl is-active --quiet \(s)", timeout: .seconds(60)).status == 0
        guard active else {
            try await host.run("systemctl start \(s)")
            return
        }
        for kind in HostKinds.all where kind.handlerService == service { try await kind.beforeReload(on: host) }
        try await host.run("systemctl reload \(s)")
    }

    /// The health of each backend server of a `haproxy` resource, as haproxy itself reports it (UP, DOWN, ...),
    /// read from its local stats page on the load balancer.
    public func backendHealth(_ attributes: [String: Value]) async throws -> [(server: String, status: String)] {
        guard let conn = HostConnection(attributes) else { throw OttoError("host.connection", "the load balancer's address is not known") }
        let host = HostTarget(session: try await pool.session(for: conn.target), conn: conn, sources: sources)
        let r = try await host.run("curl -s -m 5 'http://127.0.0.1:8404/stats;csv'")
        var out: [(String, String)] = []
        for line in r.stdoutText.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count > 17, f[1] != "FRONTEND", f[1] != "BACKEND", !f[0].hasPrefix("otto-stats") else { continue }
            out.append((String(f[1]), String(f[17])))
        }
        return out
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
        guard let kind = HostKinds.table[r.kind] else {
            throw OttoError("host.kind", "provider `\(name)` does not manage resources of kind `\(r.kind)`")
        }
        try await kind.converge(r, current: current, on: HostTarget(session: session, conn: conn, sources: sources))
        var observed = a.filter { !Self.writeOnly.contains($0.key) }
        observed[H.reachable] = .bool(true)
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
}
