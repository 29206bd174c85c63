import Foundation
import OttoCore
import OttoHTTP
import OttoSSH

/// fleet's API on fleetd's unix socket (`/var/run/fleet.sock`) of a machine otto logs in to over SSH, the way
/// `fleetctl --tunnel` reached it. Each request is one command on the pooled session (host key pinned):
/// `curl --unix-socket SOCKET` with the JSON body on standard input, the status code captured after the body (the
/// machine needs curl, which Container Linux shipped). Every value in the command is quoted with `ShellQuote`.
final class FleetSSHTransport: FleetAPITransport {
    /// The socket's path on the machine.
    let socket: String
    /// The machine, with its pinned host key.
    let target: SSHTarget
    private let pool = SSHPool()

    init(socket: String, target: SSHTarget) {
        self.socket = socket
        self.target = target
    }

    var place: String { "fleet at unix://\(socket) on \(target.user)@\(target.host):\(target.port)" }

    func send(_ method: HTTPMethod, _ path: String, query: [(String, String)], body: [UInt8]?) async throws -> FleetAPIResponse {
        let url = "http://localhost/fleet/v1" + path + FleetAPIText.queryString(query)
        var command = "command -v curl >/dev/null 2>&1 || exit 127; exec curl -sS --max-time 30 --unix-socket \(ShellQuote.quote(socket))"
            + " -X \(ShellQuote.quote(method.rawValue)) -H 'Accept: application/json' -w '\\n%{http_code}'"
        if body != nil { command += " -H 'Content-Type: application/json' --data-binary @-" }
        command += " " + ShellQuote.quote(url)
        let what = "\(method) \(FleetAPIText.display(path))"
        let result = try await exec(command, stdin: body ?? [], what: what)
        switch result.status {
        case 0: break
        case 127:
            throw OttoError("provider.fleet.transport", "\(place): \(what): curl is not installed on \(target.host), so otto cannot reach fleet's socket there; install curl on the machine")
        case 7:
            throw OttoError("provider.fleet.unreachable", "\(place): \(what): nothing answers on \(socket); is fleetd running there, and is this its socket?",
                            causeText: Self.firstLine(result.stderrText))
        case 28:
            throw OttoError("provider.fleet.unreachable", "\(place): \(what): fleet did not answer within 30 s", causeText: Self.firstLine(result.stderrText))
        default:
            throw OttoError("provider.fleet.transport", "\(place): \(what): curl on \(target.host) failed (exit status \(result.status))",
                            causeText: Self.firstLine(result.stderrText))
        }
        // The output is the body, a newline, and the status code.
        let out = result.stdout
        guard let newline = out.lastIndex(of: UInt8(ascii: "\n")),
              let status = Int(String(decoding: out[(newline + 1)...], as: UTF8.self).trimmingCharacters(in: .whitespaces)),
              status >= 100 else {
            throw OttoError("provider.fleet.transport", "\(place): \(what): curl's output on \(target.host) ends without a status code; is \(socket) fleet's API socket?")
        }
        let answer = Array(out[..<newline])
        if status >= 400 { return FleetAPIResponse(status: status, body: [], message: FleetAPIText.message(fromBody: answer)) }
        return FleetAPIResponse(status: status, body: answer, message: "")
    }

    /// Runs `command` on the pooled session; a session lost meanwhile is connected again once (every request otto
    /// sends to fleet is idempotent).
    private func exec(_ command: String, stdin: [UInt8], what: String) async throws -> SSHExecResult {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let session = try await pool.session(for: target)
                return try await session.exec(command, stdin: stdin, timeout: .seconds(45))
            } catch let error as SSHError where error.code == "ssh.closed" && attempt < 2 {
                continue
            } catch let error as SSHError {
                throw map(error, what: what)
            }
        }
    }

    /// An SSH failure in the words of this provider's settings.
    private func map(_ error: SSHError, what: String) -> OttoError {
        let login = "\(target.user)@\(target.host):\(target.port)"
        switch error.code {
        case "ssh.hostkey.mismatch":
            var pinned = "the pinned key"
            if case .pinned(let key) = target.hostKeyPolicy { pinned = SSHHostKey.fingerprint(key) }
            return OttoError("provider.fleet.ssh",
                             "\(place): \(what): host key mismatch: \(login) presented a host key other than the one `host_key` pins (\(pinned)); if the machine was rebuilt on purpose, set `host_key` to its new key (`ssh-keyscan -t ed25519 -p \(target.port) \(target.host)`, checked against the machine itself); otherwise do not connect: someone may be intercepting the connection",
                             causeText: error.message)
        case "ssh.auth":
            return OttoError("provider.fleet.ssh", "\(place): \(what): \(login) refused otto's key: \(error.message); set `ssh_key` (and `ssh_user`) to a key the machine authorizes",
                             causeText: nil)
        default:
            return OttoError("provider.fleet.ssh", "\(place): \(what): \(error.message)", causeText: error.code)
        }
    }

    func shutdown() async { await pool.closeAll() }

    private static func firstLine(_ text: String) -> String {
        FleetAPIText.clean(text)
    }
}
