import Foundation
import OttoCore
import OttoSSH

/// `unit`: a systemd service unit otto renders, verifies with `systemd-analyze verify` before it is installed, then
/// enables and starts (restarted when it changed). Its environment is sensitive, and so is its text when it has one.
struct HostUnitKind: HostKind {
    private typealias S = AttributeName.Service
    private typealias F = AttributeName.File
    let kind = "unit"
    let schema = HostShared.schema("unit", [
        .required(S.name, .string), .required(S.exec, .string), .required(S.restart, .string),
        .optional(S.enabled, .bool), .optional(S.running, .bool), .optional(S.user, .string),
        .optional(S.environment, .map(.string), sensitive: true),
    ] + HostShared.renderedFile(sensitiveWhen: S.environment))
    let isRendered = true

    func derive(_ a: inout [String: Value], sources: HostSourceFiles) {
        a[F.path] = a[S.name]?.stringValue.map { .string(HostRender.unitPath($0)) } ?? .unknown
    }

    func render(_ a: [String: Value]) -> String? { HostRender.unit(a) }

    func probe(index i: Int, _ a: [String: Value]) -> String { "\(HostShared.probeFile(i, a)); u \(i) \(a.shellQuoted(S.name))" }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        guard HostShared.observeFile(&a, facts) else { return false }
        HostShared.observeUnit(&a, facts)
        return true
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let a = r.attributes
        let content = HostShared.content(a)
        try await verify(a, content: content, on: host)
        try await host.session.upload(content, to: a[F.path]?.stringValue ?? "", mode: 0o644)
        try await host.run("systemctl daemon-reload")
        try await HostShared.setService(a, on: host, restart: current != nil)
    }

    /// `systemd-analyze verify` on a staged copy: any output at all is a failure (an unknown key only warns).
    private func verify(_ a: [String: Value], content: [UInt8], on host: HostTarget) async throws {
        try await Self.verify(name: a[S.name]?.stringValue ?? "x.service", content: content, session: host.session, machine: host.conn.machine)
    }

    /// Checks a unit's text on the machine before it is installed: `systemd-analyze verify` of a staged copy named
    /// `name` (made, checked and removed in one round trip, the text on standard input); any output is a failure,
    /// reported with the installed path in place of the staged one.
    static func verify(name: String, content: [UInt8], session: SSHSession, machine: String) async throws {
        let script = "d=$(mktemp -d /tmp/otto-unit.XXXXXX) || exit 1; f=\"$d\"/\(ShellQuote.quote(name)); "
            + "cat > \"$f\" && systemd-analyze verify \"$f\" 2>&1; s=$?; rm -rf -- \"$d\"; exit $s"
        let check = try await session.exec(script, stdin: content, timeout: .seconds(60))
        let output = check.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if check.status != 0 || !output.isEmpty {
            throw OttoError("host.unit", "\(machine): unit \(name) does not verify; nothing was changed:\n"
                            + output.replacing(/\/tmp\/otto-unit\.[A-Za-z0-9]+\//, with: "/etc/systemd/system/"))
        }
    }

    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        try await host.run("systemctl disable --now \(a.shellQuoted(S.name)) 2>/dev/null; rm -f -- \(a.shellQuoted(F.path)) && systemctl daemon-reload")
    }
}
