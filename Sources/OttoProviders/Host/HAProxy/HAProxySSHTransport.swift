import Foundation
import OttoCore
import OttoSSH

/// The runtime API of the haproxy on a machine otto reaches over SSH: each command runs
/// `socat stdio unix-connect:SOCKET` there with the command on stdin (socat is in the `lb` image), on the SSH
/// session's own thread. Files are written over SFTP to a temporary name and renamed into place.
public struct HAProxySSHTransport: HAProxyRuntimeTransport {
    /// The session to the load balancer.
    public let session: SSHSession
    /// The admin socket on the machine.
    public let socket: String
    /// The machine's name, for messages.
    public let machine: String

    /// A transport over `session` to the admin socket at `socket`.
    public init(session: SSHSession, socket: String = HAProxyLayout.machine.adminSocket, machine: String? = nil) {
        self.session = session
        self.socket = socket
        self.machine = machine ?? session.target.host
    }

    public func send(_ command: String) async throws -> String {
        let socat = "socat -t 10 stdio \(ShellQuote.quote("unix-connect:" + socket))"
        let r = try await session.exec("command -v socat >/dev/null || exit 127; " + socat, stdin: Array((command + "\n").utf8),
                                       timeout: .seconds(30))
        switch r.status {
        case 0: return r.stdoutText
        case 127:
            throw OttoError("haproxy.runtime.transport", "\(machine): socat is not installed, so otto cannot reach haproxy's runtime API; "
                            + "install it (`apt-get install socat`; otto's lb image has it)")
        default:
            throw OttoError("haproxy.runtime.transport", "\(machine): cannot reach haproxy's runtime API at \(socket) (socat exited \(r.status))",
                            causeText: r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    public func replaceFile(_ path: String, with contents: String) async throws {
        try await session.upload(Array(contents.utf8), to: path, mode: 0o644)
    }

    /// True when haproxy's admin socket exists on the machine (haproxy runs with a runtime API).
    public func socketExists() async throws -> Bool {
        try await session.exec("test -S \(ShellQuote.quote(socket))", timeout: .seconds(30)).status == 0
    }
}
