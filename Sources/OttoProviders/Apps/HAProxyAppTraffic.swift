import Foundation
import OttoCore
import OttoSSH

/// Moves an app's traffic on every haproxy machine of the site through haproxy's runtime API (the admin socket),
/// reached over SSH with `socat`.
struct HAProxyAppTraffic: AppTraffic {
    let balancers: [AppDefinition.Machine]
    let pool: SSHPool
    static let socket = "/run/haproxy/admin.sock"

    /// Sends `commands` (one round trip: haproxy runs `;`-separated commands in order) to one balancer.
    private func send(_ m: AppDefinition.Machine, _ commands: [String]) async throws -> String {
        let session = try await pool.session(for: m.connection.target)
        let line = commands.joined(separator: ";") + "\n"
        let r = try await session.exec("socat stdio unix-connect:\(ShellQuote.quote(Self.socket))", stdin: Array(line.utf8),
                                       timeout: .seconds(30))
        guard r.status == 0 else {
            throw OttoError("app.haproxy", "\(m.name): haproxy's runtime API: \((r.stderrText + r.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r.stdoutText
    }

    func set(_ backend: String, _ changes: [(server: String, state: AppServerState)]) async throws {
        guard !changes.isEmpty else { return }
        let commands = changes.map { "set server \(backend)/\($0.server) state \($0.state.rawValue)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for m in balancers {
                group.addTask {
                    let out = try await send(m, commands).trimmingCharacters(in: .whitespacesAndNewlines)
                    // `set server` answers nothing when it worked, and says why otherwise ("No such server.").
                    if !out.isEmpty { throw OttoError("app.haproxy", "\(m.name): haproxy refused `\(commands.joined(separator: "; "))`: \(out)") }
                }
            }
            try await group.waitForAll()
        }
    }

    func stats(_ backend: String) async throws -> [String: AppServerStats] {
        var out: [String: AppServerStats] = [:]
        for (i, m) in balancers.enumerated() {
            let csv = try await send(m, ["show stat"])
            var header: [Substring] = []
            for line in csv.split(separator: "\n") {
                if line.hasPrefix("# ") { header = line.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false); continue }
                let f = line.split(separator: ",", omittingEmptySubsequences: false)
                guard f.count == header.count, f[0] == backend, f[1] != "BACKEND", f[1] != "FRONTEND" else { continue }
                func int(_ name: String) -> Int { header.firstIndex(of: Substring(name)).flatMap { Int(f[$0]) } ?? 0 }
                let name = String(f[1])
                var s = out[name] ?? AppServerStats()
                s.sessions += int("scur")
                s.responses += int("hrsp_1xx") + int("hrsp_2xx") + int("hrsp_3xx") + int("hrsp_4xx") + int("hrsp_5xx") + int("hrsp_other")
                s.http5xx += int("hrsp_5xx")
                s.connectionErrors += int("econ") + int("eresp")
                if i == 0 { s.status = header.firstIndex(of: "status").map { String(f[$0]) } ?? "" }
                out[name] = s
            }
        }
        return out
    }
}
