import Foundation
import OttoCore
import OttoSSH

/// Moves an app's traffic on every haproxy machine of the site through haproxy's runtime API (`HAProxyRuntime` over
/// SSH), and saves haproxy's server state after each change so that a later reload or restart keeps it.
struct HAProxyAppTraffic: AppTraffic {
    let balancers: [AppDefinition.Machine]
    let pool: SSHPool

    private func runtime(_ m: AppDefinition.Machine) async throws -> HAProxyRuntime {
        HAProxyRuntime(transport: HAProxySSHTransport(session: try await pool.session(for: m.connection.target), machine: m.name))
    }

    func set(_ backend: String, _ changes: [(server: String, state: HAProxyAdminState)], healthy: Set<String>) async throws {
        guard !changes.isEmpty else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for m in balancers {
                group.addTask {
                    let r = try await runtime(m)
                    do { try await r.setStates(changes, backend: backend, healthy: healthy) } catch {
                        throw OttoError("app.haproxy", "\(m.name): \(error)")
                    }
                    try await r.saveServerState()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Makes sure every balancer's running haproxy has the app's backend with every server in `servers`. haproxy's
    /// configuration is written by the `haproxy` resource the app depends on, but its reload is a handler that runs
    /// after all changes; a first deploy, or a machine new in the group, must not wait for it: a balancer missing any
    /// of them saves its server state and reloads now (hitless).
    func ensureBackend(_ backend: String, servers: Set<String>) async throws {
        @Sendable func complete(_ stats: [HAProxyStat]) -> Bool {
            let have = Set(stats.filter { $0.proxy == backend && $0.type == .server }.map(\.name))
            return stats.contains(where: { $0.proxy == backend }) && servers.isSubset(of: have)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for m in balancers {
                group.addTask {
                    let r = try await runtime(m)
                    if complete(try await r.stats()) { return }
                    try await r.saveServerState()
                    let session = try await pool.session(for: m.connection.target)
                    let reload = try await session.exec("systemctl reload haproxy", timeout: .seconds(60))
                    guard reload.status == 0 else {
                        throw OttoError("app.haproxy", "\(m.name): reloading haproxy for backend \(backend) failed: \(reload.stderrText)\(reload.stdoutText)")
                    }
                    for _ in 0..<100 {
                        if let stats = try? await runtime(m).stats(), complete(stats) { return }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    throw OttoError("app.haproxy", "\(m.name): haproxy lacks backend \(backend) or one of its servers \(servers.sorted().joined(separator: ", ")) after a reload; are they in /etc/haproxy/haproxy.cfg?")
                }
            }
            try await group.waitForAll()
        }
    }

    func stats(_ backend: String) async throws -> [String: AppServerStats] {
        var out: [String: AppServerStats] = [:]
        for (i, m) in balancers.enumerated() {
            for row in try await runtime(m).stats() where row.proxy == backend && row.type == .server {
                var s = out[row.name] ?? AppServerStats()
                s.sessions += row.currentSessions
                s.responses += row.responses
                s.http5xx += row.responses5xx
                s.connectionErrors += row.connectionErrors + row.responseErrors
                s.up = (i == 0 || s.up) && row.status == .up
                out[row.name] = s
            }
        }
        return out
    }
}
