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

    func set(_ backend: String, _ changes: [(server: String, state: HAProxyAdminState)]) async throws {
        guard !changes.isEmpty else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for m in balancers {
                group.addTask {
                    let r = try await runtime(m)
                    do { try await r.setStates(changes, backend: backend) } catch {
                        throw OttoError("app.haproxy", "\(m.name): \(error)")
                    }
                    try await r.saveServerState()
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
                if i == 0 { s.up = row.status == .up }
                out[row.name] = s
            }
        }
        return out
    }
}
