import Foundation
import OttoCore
import OttoSSH
import Synchronization

/// otto as fleet's engine and agent at once: places a site's fleet units on its machines under their `[X-Fleet]`
/// constraints (`FleetScheduler`, fleet's rules) and runs each as a systemd unit over SSH.
///
/// Refresh probes every machine of the site once (one SSH round trip each) for the unit files otto put there (marked
/// with the site's name), their hashes and systemd states. `place` then decides, from that and the state, where each
/// unit goes: a valid placement is kept; a unit whose machine left the configuration, was replaced, or has not
/// answered for `lost_after` is placed again elsewhere in the same run. While a machine is unreachable but within its
/// grace period, its units stay where they are and the state records since when (`lost_since`). A copy found on a
/// machine other than the unit's own (a machine that came back after its units moved) is reported in `stale_on` and
/// stopped only after the unit runs where it belongs.
///
/// Apply writes `/etc/systemd/system/NAME` (the unit without `[X-Fleet]`, checked with `systemd-analyze verify`
/// first), reloads systemd once per machine for all the units written at once, then starts (`launched`) or stops
/// (`loaded`) it. A moved unit starts on its new machine before its old copy is stopped.
public final class FleetSchedulerProvider: PlacingProvider {
    public let name: String
    public let concurrencyLimit: Int
    public var schemas: [KindSchema] { [Self.schema] }
    private let pool = SSHPool()
    private let reloads = SystemdReloads()
    private let verifications = UnitVerifications()
    /// What the last refresh saw on each machine, by machine name.
    private let sights = Mutex<[String: MachineSight]>([:])
    private typealias U = AttributeName.FleetUnit
    private typealias H = AttributeName.Host
    private typealias F = AttributeName.File

    /// What a refresh saw on one machine.
    enum MachineSight: Sendable, Hashable {
        /// Why it could not be probed; nil when it answered.
        var failure: String? {
            switch self {
            case .reachable: return nil
            case .unreachable(let why), .refused(let why): return why
            }
        }

        /// It answered; these are the fleet units on it.
        case reachable([String: FleetMachineProbe.UnitFacts])
        /// It exists but did not answer.
        case unreachable(String)
        /// It answered with a host key otto does not trust: never taken for lost (nothing moves), never used.
        case refused(String)
    }

    /// The kind: inputs from configuration, what placement decides, what the machines report.
    public static let schema = KindSchema(kind: "fleet_unit", attributes: [
        .required(U.name, .string, forceNew: true), .required(U.options, .list(.map(.string)), ignoredInDiff: true),
        .required(U.desiredState, .string), .required(U.site, .string, forceNew: true),
        .required(U.candidates, .list(.any), ignoredInDiff: true), .required(U.lostAfterSeconds, .int, ignoredInDiff: true),
        .optional(U.machineID, .string, forceNew: true), .optional(U.staleOn, .list(.string), unordered: true),
        .optional(U.lostSince, .string),
        .optional(U.placement, .string), .computed(U.currentState, .string), .computed(U.loadState, .string),
        .computed(U.activeState, .string), .computed(U.subState, .string),
        .computed(F.content, .string), .computed(F.contentSHA256, .string, ignoredInDiff: false, presentation: .digest(of: F.content)),
        .computed(H.host, .string, ignoredInDiff: false), .computed(H.hostKey, .string, ignoredInDiff: false),
        .computed(H.sshPort, .int), .computed(H.sshUser, .string), .computed(H.sshKey, .string), .computed(H.knownHosts, .string),
        .computed(H.machine, .string), .computed(H.reachable, .bool), .computed(H.unreachableReason, .string),
    ], createBeforeDestroy: true)

    /// Creates the provider.
    public init(name: String = "scheduler", concurrency: Int = 32) {
        self.name = name
        self.concurrencyLimit = concurrency
    }

    /// Closes every SSH session.
    public func shutdown() async { await pool.closeAll() }

    // MARK: derive

    /// Fills in the connection of the machine the unit is placed on and renders its systemd text; leaves them
    /// unknown while the placement is not decided.
    public func derive(_ resource: Resource) -> Resource { Self.deriveConnection(resource) }

    /// `derive`, for placement to use on the resources it decides.
    static func deriveConnection(_ resource: Resource) -> Resource {
        var r = resource
        guard let machine = r.attributes[U.machineID]?.stringValue, let c = Self.candidate(machine, in: r.attributes) else { return r }
        for key in H.connection { r.attributes[key] = c[key] ?? .null }
        r.attributes[H.machine] = c[U.candidateAddress] ?? .null
        if let text = Self.render(r.attributes) {
            r.attributes[F.content] = .string(text)
            r.attributes[F.contentSHA256] = .string(ContentHash.sha256(Array(text.utf8)))
        } else {
            r.attributes[F.content] = .unknown
            r.attributes[F.contentSHA256] = .unknown
        }
        return r
    }

    /// The unit file otto installs: a header with the site's marker, then the unit without `[X-Fleet]`.
    static func render(_ a: [String: Value]) -> String? {
        guard let site = a[U.site]?.stringValue, let options = unitFile(a) else { return nil }
        return "# Managed by otto: fleet unit of site \(site). Changes made here are drift: otto puts this file back.\n"
            + FleetMachineProbe.marker(site) + "\n" + options.systemdText
    }

    /// The unit file from the `options` attribute.
    static func unitFile(_ a: [String: Value]) -> FleetUnitFile? {
        guard let list = a[U.options]?.listValue else { return nil }
        var options: [FleetUnitOption] = []
        for item in list {
            guard let m = item.mapValue, let s = m[U.optionSection]?.stringValue, let n = m[U.optionName]?.stringValue,
                  let v = m[U.optionValue]?.stringValue else { return nil }
            options.append(FleetUnitOption(section: s, name: n, value: v))
        }
        return FleetUnitFile(options: options)
    }

    /// The candidate machine called `name` among a unit's `candidates`.
    static func candidate(_ name: String, in a: [String: Value]) -> [String: Value]? {
        a[U.candidates]?.listValue?.lazy.compactMap(\.mapValue).first { $0[U.candidateName]?.stringValue == name }
    }

    /// How to reach a candidate machine; nil while its address is not known (it is being created).
    static func connection(_ candidate: [String: Value]) -> HostConnection? {
        guard var c = HostConnection(candidate) else { return nil }
        c.machine = candidate[U.candidateName]?.stringValue ?? c.host
        return c
    }

    // MARK: observe

    public func observe(kind: String, _ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        try await observeAll([kind: requests])
    }

    /// Probes every machine any unit may be on (candidates, and the machine a recorded unit was placed on), once
    /// each, machines in parallel; then reports each unit where it was found.
    public func observeAll(_ requests: [String: [ObserveRequest]]) async throws -> [ResourceAddress: ObservedResource] {
        let list = requests["fleet_unit"] ?? []
        var machines: [String: HostConnection] = [:]
        var sites: [String: Set<String>] = [:]
        for r in list {
            let site = r.attributes[U.site]?.stringValue ?? ""
            for c in r.attributes[U.candidates]?.listValue?.compactMap(\.mapValue) ?? [] {
                guard let name = c[U.candidateName]?.stringValue else { continue }
                if let conn = Self.connection(c), machines[name] == nil { machines[name] = conn }
                sites[name, default: []].insert(site)
            }
            // A recorded unit's own machine, even when it is no candidate any more.
            if let m = r.attributes[U.machineID]?.stringValue, machines[m] == nil, var conn = HostConnection(r.attributes) {
                conn.machine = m
                machines[m] = conn
                sites[m, default: []].insert(site)
            }
        }
        let found = await probeAll(machines, sites: sites)
        sights.withLock { $0.merge(found) { _, new in new } }
        var out: [ResourceAddress: ObservedResource] = [:]
        for r in list { if let o = observed(r, found) { out[r.address] = o } }
        return out
    }

    private func probeAll(_ machines: [String: HostConnection], sites: [String: Set<String>]) async -> [String: MachineSight] {
        await withTaskGroup(of: (String, MachineSight).self) { group in
            var running = 0
            var out: [String: MachineSight] = [:]
            for (name, conn) in machines.sorted(by: { $0.key < $1.key }) {
                if running >= concurrencyLimit, let (n, s) = await group.next() { out[n] = s; running -= 1 }
                let wanted = Array(sites[name] ?? [])
                group.addTask { (name, await self.probe(conn, sites: wanted)) }
                running += 1
            }
            for await (n, s) in group { out[n] = s }
            return out
        }
    }

    private func probe(_ conn: HostConnection, sites: [String]) async -> MachineSight {
        do {
            let session = try await pool.session(for: conn.target)
            let r = try await session.exec("sh -s", stdin: Array(FleetMachineProbe.script(sites: sites).utf8), timeout: .seconds(60))
            guard r.status == 0 else { return .unreachable("probe exited \(r.status): \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))") }
            return .reachable(FleetMachineProbe.parse(r.stdoutText))
        } catch let error as SSHError where error.code.hasPrefix("ssh.hostkey") {
            // A changed host key is never taken for a lost machine: say so and move nothing.
            return .refused("\(error)")
        } catch {
            return .unreachable("\(error)")
        }
    }

    /// What exists for one unit: its copy on the machine it was placed on (or, for a unit not recorded yet, the first
    /// copy found), other copies as `stale_on`; its recorded machine when that does not answer.
    private func observed(_ r: ObserveRequest, _ sights: [String: MachineSight]) -> ObservedResource? {
        guard let unit = r.attributes[U.name]?.stringValue, let site = r.attributes[U.site]?.stringValue else { return nil }
        // A Global unit's copy lives on one machine, named in its attributes; other units may be on any candidate.
        let own = Self.isPerMachine(r.address) ? r.attributes[U.machineID]?.stringValue : nil
        let recorded = own ?? r.providerID
        var copies: [(machine: String, facts: FleetMachineProbe.UnitFacts)] = []
        for (machine, sight) in sights {
            guard case .reachable(let units) = sight, let facts = units[unit], facts.site == site else { continue }
            if let own, machine != own { continue }
            copies.append((machine, facts))
        }
        copies.sort { $0.machine < $1.machine }
        var a = r.attributes.filter { [U.name, U.options, U.site, U.candidates, U.lostAfterSeconds].contains($0.key) }
        if let recorded, let why = sights[recorded]?.failure {
            // Not seen, not gone: `place` fills in what the plan compares (content, connection) from the request.
            a[U.machineID] = .string(recorded)
            a[U.desiredState] = r.attributes[U.desiredState] ?? .null
            // Nothing is known to differ: the text as configured, the machine's connection as the request has it.
            if let text = Self.render(r.attributes) { a[F.contentSHA256] = .string(ContentHash.sha256(Array(text.utf8))) }
            let c = Self.candidate(recorded, in: r.attributes) ?? r.attributes
            for key in H.connection { a[key] = c[key] ?? .null }
            a[U.staleOn] = .list(copies.map { .string($0.machine) })
            a[U.lostSince] = .null
            a[H.reachable] = .bool(false)
            a[H.unreachableReason] = .string(why)
            return ObservedResource(providerID: recorded, attributes: a)
        }
        guard !copies.isEmpty else { return nil }
        let primary = copies.first { $0.machine == recorded } ?? copies.first { $0.facts.currentState == .launched } ?? copies[0]
        a[U.machineID] = .string(primary.machine)
        a[U.desiredState] = .string(primary.facts.currentState.rawValue)
        a[U.currentState] = .string(primary.facts.currentState.rawValue)
        a[U.loadState] = .string(primary.facts.loadState)
        a[U.activeState] = .string(primary.facts.activeState)
        a[U.subState] = .string(primary.facts.subState)
        a[F.contentSHA256] = .string(primary.facts.sha256)
        a[U.staleOn] = .list(copies.filter { $0.machine != primary.machine }.map { .string($0.machine) })
        a[U.lostSince] = .null
        a[H.reachable] = .bool(true)
        if let c = Self.candidate(primary.machine, in: r.attributes) {
            for key in H.connection { a[key] = c[key] ?? .null }
            a[H.machine] = c[U.candidateAddress] ?? .null
        } else {
            for key in H.connection { a[key] = r.attributes[key] ?? .null }
        }
        return ObservedResource(providerID: primary.machine, attributes: a)
    }

    /// True for a `Global` unit's copy on one machine (`fleet_unit.SITE.NAME[MACHINE]`).
    static func isPerMachine(_ address: ResourceAddress) -> Bool { address.name.hasSuffix("]") }

    // MARK: place

    public func place(_ desired: [Resource], observed: [ResourceAddress: ObservedResource], recorded: [ResourceAddress: ResourceRecord],
                      now: Date) -> Placement {
        let sights = self.sights.withLock { $0 }
        var out = Placement(desired: [])
        let bySite = Dictionary(grouping: desired) { $0.attributes[U.site]?.stringValue ?? "" }
        for site in bySite.keys.sorted() {
            let part = FleetSitePlacement(resources: bySite[site]!, observed: observed, recorded: recorded, sights: sights, now: now).run()
            out.desired += part.desired
            out.observed.merge(part.observed) { _, new in new }
            out.notes += part.notes
        }
        return out
    }

    // MARK: apply

    public func create(_ resource: Resource) async throws -> ObservedResource {
        try await converge(derive(resource), current: nil)
    }

    public func update(_ resource: Resource, current: ObservedResource, changed: [String]) async throws -> ObservedResource {
        let r = derive(resource)
        let sameMachine = r.attributes[U.machineID] == current.attributes[U.machineID]
        if current.attributes[H.reachable]?.boolValue == false, sameMachine, Set(changed).isSubset(of: [U.lostSince]) {
            // The machine is within its grace period: only the state learns since when it has been unreachable.
            var a = current.attributes
            a[U.lostSince] = r.attributes[U.lostSince] ?? .null
            return ObservedResource(providerID: current.providerID, attributes: a)
        }
        let sameHost = sameMachine && r.attributes[H.host] == current.attributes[H.host] && r.attributes[H.hostKey] == current.attributes[H.hostKey]
        var result = try await converge(r, current: sameHost ? current : nil)
        // Old copies go only now that the unit runs where it belongs.
        var left: [Value] = []
        for case .string(let machine) in current.attributes[U.staleOn]?.listValue ?? [] where machine != r.attributes[U.machineID]?.stringValue {
            do {
                guard let c = Self.candidate(machine, in: r.attributes), let conn = Self.connection(c) else { continue }
                try await remove(r.attributes[U.name]?.stringValue ?? "", on: conn)
            } catch { left.append(.string(machine)) }
        }
        result.attributes[U.staleOn] = .list(left)
        if !left.isEmpty {
            throw OttoError("fleet.stale", "\(resource.address): runs on \(r.attributes[U.machineID]?.stringValue ?? "?"), but its old copy on "
                            + left.compactMap(\.stringValue).joined(separator: ", ") + " could not be stopped yet; the next run tries again")
        }
        return result
    }

    public func delete(_ address: ResourceAddress, current: ObservedResource) async throws {
        let a = current.attributes
        guard let unit = a[U.name]?.stringValue else { return }
        var machines: [(String, HostConnection)] = []
        if var conn = HostConnection(a) {
            conn.machine = a[U.machineID]?.stringValue ?? conn.machine
            machines.append((conn.machine, conn))
        }
        for case .string(let m) in a[U.staleOn]?.listValue ?? [] {
            if let c = Self.candidate(m, in: a), let conn = Self.connection(c) { machines.append((m, conn)) }
        }
        for (_, conn) in machines {
            do { try await remove(unit, on: conn) } catch let error as SSHError where ["ssh.connect", "ssh.timeout"].contains(error.code) {
                // A machine that does not answer: its copy is found and stopped when it comes back (`stale_on`).
                continue
            }
        }
    }

    /// Makes the unit's machine hold and run (or hold, stopped) the unit.
    private func converge(_ r: Resource, current: ObservedResource?) async throws -> ObservedResource {
        let a = r.attributes
        guard let machine = a[U.machineID]?.stringValue else {
            throw OttoError("fleet.unplaced", "\(r.address): no machine was chosen for it (plan again with a refresh)")
        }
        guard var conn = HostConnection(a) else {
            throw OttoError("fleet.connection", "\(r.address): the address of \(machine) is not known")
        }
        conn.machine = machine
        let unit = a[U.name]?.stringValue ?? ""
        let q = ShellQuote.quote(unit)
        let session: SSHSession
        do { session = try await pool.session(for: conn.target) } catch {
            throw OttoError("fleet.unreachable", "\(r.address): cannot reach \(machine) (\(conn.host):\(conn.port)): \(error)")
        }
        let text = a[F.content]?.stringValue ?? ""
        let rewrite = current == nil || current?.attributes[F.contentSHA256] != a[F.contentSHA256]
        if rewrite {
            let bytes = Array(text.utf8)
            try await verifications.verify(name: unit, content: bytes, machine: machine, session: session)
            try await session.upload(bytes, to: HostRender.unitPath(unit), mode: 0o644)
            try await reloads.reload(machine, session)
        }
        let installable = Self.unitFile(a)?.options.contains { $0.section == "Install" } ?? false
        let state = FleetUnitState(rawValue: a[U.desiredState]?.stringValue ?? "") ?? .launched
        var commands: [String] = []
        switch state {
        case .launched:
            if installable { commands.append("systemctl enable -q -- \(q)") }
            let running = current?.attributes[U.currentState]?.stringValue == FleetUnitState.launched.rawValue
            commands.append((rewrite && running ? "systemctl restart -- " : "systemctl start -- ") + q)
        case .loaded, .inactive:
            if installable { commands.append("systemctl disable -q -- \(q)") }
            commands.append("systemctl stop -- \(q)")
        }
        // The change and systemd's view of the unit after it, in one round trip.
        commands.append(Self.showCommand(unit))
        let run = try await session.exec(commands.joined(separator: " && "), timeout: .seconds(300))
        guard run.status == 0 else {
            throw OttoError("fleet.systemctl", "\(machine): \(unit): " + (run.stderrText + run.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var facts = Self.unitFacts(run.stdoutText)
        if state == .launched, facts.activeState == "activating" || facts.activeState == "reloading" {
            facts = try await unitState(unit, session: session, waitForActive: true)
        }
        if state == .launched, facts.activeState != "active" {
            throw OttoError("fleet.start", "\(machine): \(unit) did not start: systemd says \(facts.activeState)/\(facts.subState) (journalctl -u \(unit) on the machine says why)")
        }
        var observed = a.filter { $0.key != F.content && $0.key != U.placement }
        observed[U.currentState] = .string(facts.currentState.rawValue)
        observed[U.loadState] = .string(facts.loadState)
        observed[U.activeState] = .string(facts.activeState)
        observed[U.subState] = .string(facts.subState)
        observed[U.staleOn] = .list([])
        observed[U.lostSince] = .null
        observed[H.reachable] = .bool(true)
        return ObservedResource(providerID: machine, attributes: observed)
    }

    /// `systemctl show` of the states otto reports.
    static func showCommand(_ unit: String) -> String { "systemctl show -p LoadState,ActiveState,SubState -- \(ShellQuote.quote(unit))" }

    /// The states in `showCommand`'s output.
    static func unitFacts(_ output: String) -> FleetMachineProbe.UnitFacts {
        var facts = FleetMachineProbe.UnitFacts(site: "", sha256: "")
        for line in output.split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "LoadState": facts.loadState = kv[1]
            case "ActiveState": facts.activeState = kv[1]
            case "SubState": facts.subState = kv[1]
            default: break
            }
        }
        return facts
    }

    /// systemd's states of `unit`; with `waitForActive`, waits up to 10 s while it is still activating.
    private func unitState(_ unit: String, session: SSHSession, waitForActive: Bool) async throws -> FleetMachineProbe.UnitFacts {
        var facts = FleetMachineProbe.UnitFacts(site: "", sha256: "")
        for attempt in 0..<50 {
            facts = Self.unitFacts(try await session.exec(Self.showCommand(unit), timeout: .seconds(60)).stdoutText)
            guard waitForActive, facts.activeState == "activating" || facts.activeState == "reloading", attempt < 49 else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return facts
    }

    /// Stops and removes otto's copy of `unit` from a machine.
    private func remove(_ unit: String, on conn: HostConnection) async throws {
        let session = try await pool.session(for: conn.target)
        let q = ShellQuote.quote(unit), path = ShellQuote.quote(HostRender.unitPath(unit))
        let r = try await session.exec("systemctl disable -q --now -- \(q) 2>/dev/null; systemctl stop -- \(q) 2>/dev/null; rm -f -- \(path)",
                                       timeout: .seconds(120))
        guard r.status == 0 else { throw OttoError("fleet.remove", "\(conn.machine): removing \(unit) failed: \(r.stderrText)") }
        try await reloads.reload(conn.machine, session)
    }
}
