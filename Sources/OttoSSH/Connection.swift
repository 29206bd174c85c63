internal import CLibSSH2
import Foundation

/// One authenticated SSH connection. Lives on its `SessionThread`; every method must be called there.
final class Connection {
    /// Seconds of silence after which a keepalive is sent (also configured in libssh2).
    static let keepaliveSeconds: TimeInterval = 15
    /// Limit for one blocking libssh2 step after connecting (channel open, an SFTP request, a write).
    static let operationTimeout: Duration = .seconds(60)

    let target: SSHTarget
    let session: SessionHandle
    /// The host key the server presented, `"TYPE BASE64"`.
    let hostKey: String
    /// Set once the socket failed or the server hung up; later calls fail with it.
    var broken: SSHError?
    var sftp: SFTPHandle?
    /// Channels of commands that overran, waiting for the server to close them.
    var lingering: [ChannelHandle] = []
    /// The resident shell's channel (`runInShell`), once opened and while it lives.
    var residentShell: ChannelHandle?
    private var lastActivity = ContinuousClock.now

    /// Connects the socket, shakes hands, checks the host key (before authentication), authenticates.
    init(target: SSHTarget) throws {
        self.target = target
        let socket = try Self.connectSocket(target)
        guard let session = SessionHandle(socket: socket) else {
            Foundation.close(socket)
            throw SSHError("ssh.connect", "libssh2 could not create a session for \(target.endpoint)", host: target.endpoint)
        }
        self.session = session
        libssh2_session_set_blocking(session.raw, 1)
        libssh2_session_set_timeout(session.raw, Self.milliseconds(target.connectTimeout))
        Self.preferHostKeyTypes(session, target)

        let handshake = libssh2_session_handshake(session.raw, socket)
        if handshake != 0 {
            let detail = Self.lastError(session)
            if handshake == LIBSSH2_ERROR_TIMEOUT || handshake == LIBSSH2_ERROR_SOCKET_TIMEOUT {
                throw SSHError("ssh.timeout", "the SSH handshake with \(target.endpoint) did not finish within \(Self.seconds(target.connectTimeout)): \(detail)",
                               host: target.endpoint)
            }
            throw SSHError("ssh.connect", "the SSH handshake with \(target.endpoint) failed: \(detail) (is an SSH server listening there?)",
                           host: target.endpoint)
        }
        self.hostKey = try Self.presentedHostKey(session, target)
        try HostKeyCheck.verify(presented: hostKey, session: session, target: target)
        try Authenticator(session: session, target: target).authenticate()

        libssh2_keepalive_config(session.raw, 1, UInt32(Self.keepaliveSeconds))
        libssh2_session_set_timeout(session.raw, Self.milliseconds(Self.operationTimeout))
        lastActivity = .now
    }

    /// Sends a keepalive if nothing went over the connection for a while; a failure marks it broken.
    func keepaliveIfDue() {
        guard broken == nil, ContinuousClock.now - lastActivity >= .seconds(Self.keepaliveSeconds) else { return }
        reapLingering()
        var next: Int32 = 0
        let rc = libssh2_keepalive_send(session.raw, &next)
        if rc != 0 && rc != LIBSSH2_ERROR_EAGAIN { _ = fail(rc, code: "ssh.closed", "keepalive to \(target.endpoint) failed") }
        lastActivity = .now
    }

    /// Notes that the connection was used (keepalives are only sent when idle).
    func touch() { lastActivity = .now }

    /// Says goodbye to the server (best effort) and frees everything: channels and SFTP first, then the session.
    func disconnect() {
        libssh2_session_set_blocking(session.raw, 1)
        libssh2_session_set_timeout(session.raw, 2000)
        sftp = nil
        residentShell = nil
        lingering = []  // abandoned channels: libssh2_session_free frees them after the server hung up
        if broken == nil {
            _ = otto_ssh2_session_disconnect(session.raw, "otto: done")
            broken = SSHError("ssh.closed", "the SSH session to \(target.endpoint) was closed", host: target.endpoint)
        }
    }

    /// Fails fast when the connection is already known to be gone.
    func ensureUsable() throws {
        if let broken { throw broken }
    }

    /// Turns a libssh2 return code into an error. Socket failures and disconnects become `ssh.closed` (and mark the
    /// connection broken), timeouts `ssh.timeout`; anything else gets `code`.
    func fail(_ rc: Int32, code: String, _ what: String) -> SSHError {
        let detail = Self.lastError(session)
        switch rc {
        case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_BAD_SOCKET,
             LIBSSH2_ERROR_SOCKET_NONE:
            let error = SSHError("ssh.closed", "\(what): the connection to \(target.endpoint) was closed (\(detail)); "
                                 + "the server went away or dropped the session, reconnect to continue", host: target.endpoint)
            broken = error
            return error
        case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_TIMEOUT:
            let error = SSHError("ssh.timeout", "\(what): \(target.endpoint) did not answer in time (\(detail)); the session is dropped",
                                 host: target.endpoint)
            broken = error
            return error
        default:
            return SSHError(code, "\(what): \(detail)", host: target.endpoint)
        }
    }

    /// libssh2's text for the session's last error.
    static func lastError(_ session: SessionHandle) -> String {
        var message: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let rc = libssh2_session_last_error(session.raw, &message, &length, 0)
        guard let message, length > 0 else { return "libssh2 error \(rc)" }
        return String(cString: message)
    }

    static func milliseconds(_ d: Duration) -> Int {
        let (seconds, attoseconds) = d.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    static func seconds(_ d: Duration) -> String {
        d.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))
    }

    /// Reads the key the server presented.
    private static func presentedHostKey(_ session: SessionHandle, _ target: SSHTarget) throws -> String {
        var length = 0
        var type: Int32 = 0
        guard let raw = libssh2_session_hostkey(session.raw, &length, &type), length > 0 else {
            throw SSHError("ssh.connect", "\(target.endpoint) presented no host key", host: target.endpoint)
        }
        let blob = raw.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        return SSHHostKey.line(blob: blob)
    }

    /// Asks the server for the key type the policy expects (a pinned key's type; the types known_hosts lists for
    /// the host), so a server with several host keys presents the one we can check.
    private static func preferHostKeyTypes(_ session: SessionHandle, _ target: SSHTarget) {
        var types: [String]
        switch target.hostKeyPolicy {
        case .pinned(let keys): types = keys.split(whereSeparator: \.isNewline).compactMap { SSHHostKey.parse(String($0))?.type }
        case .knownHosts(let path): types = KnownHostsFile(path: path, session: session)?.keyTypes(host: target.host, port: target.port) ?? []
        }
        types = types.filter { supportedHostKeyTypes.contains($0) }
        guard !types.isEmpty else { return }
        let rest = supportedHostKeyTypes.filter { !types.contains($0) }
        _ = libssh2_session_method_pref(session.raw, LIBSSH2_METHOD_HOSTKEY, (types + rest).joined(separator: ","))
    }

    /// Host key algorithms libssh2 1.10 (OpenSSL) offers, best first.
    static let supportedHostKeyTypes = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                        "ssh-rsa", "ssh-dss"]
}
