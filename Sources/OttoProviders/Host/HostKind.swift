import Foundation
import OttoCore
import OttoSSH

/// One kind of host resource (`file`, `nginx_site`, ...): how it is rendered, probed, converged and deleted, and which
/// handler a change to it triggers. `HostProvider` finds the kind of each resource in `HostKinds.table` and does only
/// what every kind shares (connections, the one probe per host, the render cache, boot waits).
protocol HostKind: Sendable {
    /// The resource kind, e.g. `nginx_site`.
    var kind: String { get }
    /// How it plans, and its attributes.
    var schema: KindSchema { get }
    /// True when the kind manages a file otto renders from the other attributes (`render` gives its text).
    var isRendered: Bool { get }
    /// The service reloaded (or started) once per host after a change to a resource of this kind, if any.
    var handlerService: String? { get }

    /// Fills in attributes that follow from the others without rendering (paths, defaults, directory listings).
    func derive(_ attributes: inout [String: Value], sources: HostSourceFiles)
    /// The managed file's text, or nil when an input is missing or not known yet. Only for `isRendered` kinds.
    func render(_ attributes: [String: Value]) -> String?
    /// The probe script line for the resource at position `index` (see `HostProbe`).
    func probe(index: Int, _ attributes: [String: Value]) -> String
    /// The probe line when an earlier probe of this resource on the same SSH session left `memo` (see `recall`); nil:
    /// none. By default the memo is not used.
    func probe(index: Int, _ attributes: [String: Value], memo: String?) -> String
    /// The paths on the machine whose metadata alone decides every fact this kind's probe reports (shell words,
    /// quoted), or nil when a fact is in no file's metadata (a service's state). On a warm session these paths let the
    /// probe skip the resource's work while they stay unchanged (`HostProbe.Gate`). By default: nil.
    func watched(_ attributes: [String: Value]) -> [String]?
    /// After a probe: completes `facts` from `memo` where the probe found their source unchanged, and returns what to
    /// keep for the next probe on the same session (nil: nothing). A new session starts without memos.
    func recall(_ facts: inout HostProbe.Facts, _ attributes: [String: Value], memo: String?) -> String?
    /// Adds what the probe found to `attributes` (the request's, without write-only inputs); false when the
    /// resource does not exist.
    func observe(_ attributes: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool
    /// Makes the machine match `resource` (derived, references resolved); `current` is what exists on this machine.
    func converge(_ resource: Resource, current: ObservedResource?, on host: HostTarget) async throws
    /// Removes what otto put on the machine for a resource that leaves the configuration (`attributes` as observed).
    func delete(_ attributes: [String: Value], on host: HostTarget) async throws
    /// Runs on the machine right before the handler reloads a running `handlerService` (not before a first start).
    func beforeReload(on host: HostTarget) async throws
}

extension HostKind {
    var isRendered: Bool { false }
    var handlerService: String? { nil }
    func derive(_ attributes: inout [String: Value], sources: HostSourceFiles) {}
    func render(_ attributes: [String: Value]) -> String? { nil }
    func probe(index: Int, _ attributes: [String: Value], memo: String?) -> String { probe(index: index, attributes) }
    func recall(_ facts: inout HostProbe.Facts, _ attributes: [String: Value], memo: String?) -> String? { nil }
    func watched(_ attributes: [String: Value]) -> [String]? { nil }
    /// Packages stay installed and services as they are: removing them from the configuration only forgets them.
    func delete(_ attributes: [String: Value], on host: HostTarget) async throws {}
    func beforeReload(on host: HostTarget) async throws {}
}

/// Every host kind, registered once.
enum HostKinds {
    /// The kinds in the order the provider lists their schemas.
    static let all: [any HostKind] = [HostFileKind(), HostDirectoryKind(), HostPackageKind(), HostServiceKind(), HostUnitKind(),
                                      HostNginxSiteKind(), HostHAProxyKind(), HostTemplateKind()]
    /// The kinds by name.
    static let table: [String: any HostKind] = Dictionary(uniqueKeysWithValues: all.map { ($0.kind, $0) })
}

/// One machine during an apply: its SSH session and how to reach it, with the project's files for `directory`.
struct HostTarget: Sendable {
    /// The session (one per host per run, from the provider's pool).
    let session: SSHSession
    /// The machine.
    let conn: HostConnection
    /// Where `directory` sources are read from.
    let sources: HostSourceFiles

    /// Runs a command; a non-zero exit is an error carrying the command's own output.
    @discardableResult
    func run(_ command: String, stdin: [UInt8] = []) async throws -> SSHExecResult {
        let r = try await session.exec(command, stdin: stdin, timeout: .seconds(300))
        guard r.status == 0 else {
            let text = (r.stderrText + r.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines)
            throw OttoError("host.command", "\(conn.machine): \(text.isEmpty ? "command exited \(r.status)" : text)")
        }
        return r
    }

    /// Runs a command and returns its output without surrounding whitespace (`mktemp` and the like).
    func output(_ command: String) async throws -> String {
        try await run(command).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension [String: Value] {
    /// A string attribute quoted for the shell (absent: `''`).
    func shellQuoted(_ name: String) -> String { ShellQuote.quote(self[name]?.stringValue ?? "") }
}

/// Attributes and facts several host kinds share.
enum HostShared {
    private typealias H = AttributeName.Host
    private typealias F = AttributeName.File

    /// A kind's schema: the connection every host resource carries, then its own attributes.
    static func schema(_ kind: String, _ own: [AttributeSchema]) -> KindSchema {
        KindSchema(kind: kind, attributes: [
            .required(H.host, .string), .optional(H.sshPort, .int), .optional(H.sshUser, .string), .optional(H.sshKey, .string),
            .optional(H.hostKey, .string), .optional(H.knownHosts, .string), .required(H.machine, .string),
            .computed(H.reachable, .bool, ignoredInDiff: false), .computed(H.unreachableReason, .string),
        ] + own)
    }

    /// The attributes of a file otto renders (`nginx_site`, `haproxy`): its path and text follow from the others.
    /// The text is not sensitive: a change of it plans as a diff.
    static let rendered: [AttributeSchema] = renderedFile(sensitiveWhen: nil)

    /// The attributes of a rendered file whose text is sensitive when the resource's attribute `flag` is set (a unit's
    /// text carries its environment; a template's, its variables).
    static func renderedFile(sensitiveWhen flag: String?) -> [AttributeSchema] {
        [.computed(F.path, .string, ignoredInDiff: false), .computed(F.content, .string, sensitiveWhen: flag), contentHash]
    }

    /// The hash of a file's text, compared against the file on the machine; a change of it shows as the texts' diff.
    static let contentHash = AttributeSchema.computed(F.contentSHA256, .string, ignoredInDiff: false, presentation: .digest(of: F.content))

    /// The probe line for a file: its hash and `mode owner group`, or missing.
    static func probeFile(_ index: Int, _ a: [String: Value]) -> String { "f \(index) \(a.shellQuoted(F.path))" }

    /// What decides a file's probe: the file (followed if a link), when its path is absolute.
    static func watchedFile(_ a: [String: Value]) -> [String]? {
        guard let path = a[F.path]?.stringValue, path.hasPrefix("/") else { return nil }
        return [ShellQuote.quote(path)]
    }

    /// Adds a file's hash, and its mode, owner and group where the resource names them; false when it is missing.
    static func observeFile(_ a: inout [String: Value], _ f: HostProbe.Facts) -> Bool {
        if f.missing { return false }
        a[F.contentSHA256] = f.values["sha"].map { .string($0) } ?? .null
        let stat = (f.values["stat"] ?? "").split(separator: " ").map(String.init)
        if stat.count == 3 {
            if a[F.mode] != nil { a[F.mode] = .string(String(repeating: "0", count: max(0, 4 - stat[0].count)) + stat[0]) }
            if a[F.owner] != nil { a[F.owner] = .string(stat[1]) }
            if a[F.group] != nil { a[F.group] = .string(stat[2]) }
        }
        return true
    }

    /// Adds whether a systemd unit is enabled and running.
    static func observeUnit(_ a: inout [String: Value], _ f: HostProbe.Facts) {
        a[AttributeName.Service.enabled] = .bool(f.values["enabled"] == "enabled")
        a[AttributeName.Service.running] = .bool(f.values["active"] == "active")
    }

    /// Enables or disables, and starts (restarts) or stops, the unit `name`.
    static func setService(_ a: [String: Value], on host: HostTarget, restart: Bool) async throws {
        let n = a.shellQuoted(AttributeName.Service.name)
        var cmds: [String] = []
        cmds.append(a[AttributeName.Service.enabled]?.boolValue == false ? "systemctl disable \(n)" : "systemctl enable \(n)")
        if a[AttributeName.Service.running]?.boolValue == false { cmds.append("systemctl stop \(n)") } else {
            cmds.append(restart ? "systemctl restart \(n)" : "systemctl start \(n)")
        }
        try await host.run(cmds.joined(separator: " && "))
    }

    /// The rendered text of a resource, as `derive` left it.
    static func content(_ a: [String: Value]) -> [UInt8] { Array((a[F.content]?.stringValue ?? "").utf8) }
}
