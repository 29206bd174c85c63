import Foundation
import OttoCore
import OttoSSH

/// `haproxy`: haproxy's whole configuration, rendered by otto and checked with `haproxy -c` before it is installed;
/// a change reloads haproxy once per host, after saving the server state set over its runtime API (`HAProxyRuntime`).
struct HostHAProxyKind: HostKind {
    private typealias H = AttributeName.HAProxy
    private typealias F = AttributeName.File
    let kind = "haproxy"
    let schema = HostShared.schema("haproxy", [
        .required(H.name, .string), .required(H.bind, .string), .required(H.balance, .string), .required(H.backend, .string),
        .required(H.servers, .list(.map(.any))), .optional(H.healthPath, .string), .optional(H.healthIntervalMS, .int),
        .optional(H.apps, .list(.map(.any))),
    ] + HostShared.rendered)
    let isRendered = true
    let handlerService: String? = "haproxy"

    func derive(_ a: inout [String: Value], sources: HostSourceFiles) {
        a[F.path] = .string(HostRender.haproxyPath)
    }

    func render(_ a: [String: Value]) -> String? { HostRender.haproxy(a) }

    func probe(index: Int, _ a: [String: Value]) -> String { HostShared.probeFile(index, a) }

    func watched(_ a: [String: Value]) -> [String]? { HostShared.watchedFile(a) }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        HostShared.observeFile(&a, facts)
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let content = HostShared.content(r.attributes)
        let staged = try await host.output("mktemp /tmp/otto-haproxy.XXXXXX")
        try await host.session.upload(content, to: staged, mode: 0o644)
        let check = try await host.session.exec("haproxy -c -f \(ShellQuote.quote(staged)); s=$?; rm -f -- \(ShellQuote.quote(staged)); exit $s",
                                                timeout: .seconds(60))
        if check.status != 0 {
            let text = (check.stderrText + check.stdoutText).replacingOccurrences(of: staged, with: HostRender.haproxyPath)
            throw OttoError("host.haproxy", "\(host.conn.machine): haproxy rejected the configuration; the running one is unchanged:\n"
                            + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try await host.session.upload(content, to: HostRender.haproxyPath, mode: 0o644)
    }

    /// Saves the server state (drains, maints, weights set over the runtime API) where the reloaded haproxy reads it
    /// back. A haproxy without its admin socket has no runtime state to keep.
    func beforeReload(on host: HostTarget) async throws {
        let transport = HAProxySSHTransport(session: host.session, machine: host.conn.machine)
        guard try await transport.socketExists() else { return }
        do {
            try await HAProxyRuntime(transport: transport).saveServerState()
        } catch {
            throw OttoError("host.haproxy.state", "\(host.conn.machine): haproxy was not reloaded: its server state (drains, maints) "
                            + "could not be saved first, and a reload without it would forget them", cause: error)
        }
    }

    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        try await host.run("systemctl disable --now haproxy 2>/dev/null; rm -f -- \(a.shellQuoted(F.path))")
    }
}
