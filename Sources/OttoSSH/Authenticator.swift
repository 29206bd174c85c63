internal import CLibSSH2
import Foundation

/// Public key authentication with key files or ssh-agent. Reports which keys were tried (paths, agent comments and
/// fingerprints), never key material. RSA keys are recognised before they are tried: libssh2 1.10 signs with them
/// only as `ssh-rsa`, which OpenSSH 8.8+ refuses by default.
struct Authenticator {
    let session: SessionHandle
    let target: SSHTarget

    static let rsaAdvice = "RSA keys cannot sign with rsa-sha2 in libssh2 1.10 and OpenSSH 8.8+ refuses ssh-rsa; use an ed25519 "
        + "key (ssh-keygen -t ed25519) or allow PubkeyAcceptedAlgorithms +ssh-rsa on the server"

    func authenticate() throws {
        let user = target.user
        let methods = libssh2_userauth_list(session.raw, user, UInt32(user.utf8.count))
        if libssh2_userauth_authenticated(session.raw) != 0 { return }
        if methods == nil {
            let rc = libssh2_session_last_errno(session.raw)
            if rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT {
                throw SSHError("ssh.timeout", "\(target.endpoint) did not answer the authentication request within "
                               + Connection.seconds(target.connectTimeout), host: target.endpoint)
            }
            throw SSHError("ssh.auth", "\(target.endpoint) did not list authentication methods for \(user): "
                           + Connection.lastError(session), host: target.endpoint)
        }
        let offered = String(cString: methods!)
        guard offered.split(separator: ",").contains("publickey") else {
            throw SSHError("ssh.auth", "\(user)@\(target.endpoint) does not accept public keys (it offers: \(offered))",
                           host: target.endpoint)
        }
        if target.identityFiles.isEmpty { try withAgent() } else { try withFiles() }
    }

    private func withFiles() throws {
        var tried: [String] = []
        var rsa: [String] = []
        for file in target.identityFiles {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                tried.append("\(file) (cannot read it)")
                continue
            }
            if PrivateKeyFile.kind(of: text) == .rsa {
                rsa.append(file)
                continue
            }
            let publicFile = FileManager.default.fileExists(atPath: file + ".pub") ? file + ".pub" : nil
            let rc = otto_ssh2_userauth_publickey_fromfile(session.raw, target.user, publicFile, file, "")
            if rc == 0 { return }
            try failIfConnectionLost(rc)
            let print = publicFile.flatMap { try? SSHHostKey.read(publicKeyFile: $0) }.map { ", " + SSHHostKey.fingerprint($0) } ?? ""
            tried.append("\(file) (\(reason(rc))\(print))")
        }
        if !rsa.isEmpty {
            let others = tried.isEmpty ? "" : "; other keys tried: " + tried.joined(separator: "; ")
            throw SSHError("ssh.rsa_unsupported", "cannot log in to \(target.user)@\(target.endpoint) with \(rsa.joined(separator: ", ")): "
                           + Self.rsaAdvice + others, host: target.endpoint)
        }
        throw SSHError("ssh.auth", "\(target.user)@\(target.endpoint) refused every key; tried: \(tried.joined(separator: "; ")). "
                       + "Check that the public key is in the user's authorized_keys on the host", host: target.endpoint)
    }

    private func withAgent() throws {
        let socket = target.agentSocket ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
        guard let socket, !socket.isEmpty else {
            throw SSHError("ssh.auth", "no identity files are set for \(target.user)@\(target.endpoint) and SSH_AUTH_SOCK is not set; "
                           + "give a key file or start ssh-agent and ssh-add a key", host: target.endpoint)
        }
        guard let agent = AgentHandle(session: session) else {
            throw SSHError("ssh.auth", "libssh2 could not create an agent client", host: target.endpoint)
        }
        libssh2_agent_set_identity_path(agent.raw, socket)
        if libssh2_agent_connect(agent.raw) != 0 {
            throw SSHError("ssh.auth", "cannot reach ssh-agent at \(socket): \(Connection.lastError(session)); is the agent running?",
                           host: target.endpoint)
        }
        if libssh2_agent_list_identities(agent.raw) != 0 {
            throw SSHError("ssh.auth", "ssh-agent at \(socket) did not list its keys: \(Connection.lastError(session))",
                           host: target.endpoint)
        }
        var tried: [String] = []
        var rsa: [String] = []
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
        var current: UnsafeMutablePointer<libssh2_agent_publickey>?
        while libssh2_agent_get_identity(agent.raw, &current, previous) == 0, let identity = current {
            previous = identity
            let blob = Array(UnsafeBufferPointer(start: identity.pointee.blob, count: identity.pointee.blob_len))
            let comment = identity.pointee.comment.map { String(cString: $0) } ?? ""
            let label = "agent key \(comment.isEmpty ? "" : comment + " ")\(SSHHostKey.fingerprint(blob: blob))"
            if SSHHostKey.keyType(blob: blob) == "ssh-rsa" {
                rsa.append(label)
                continue
            }
            let rc = libssh2_agent_userauth(agent.raw, target.user, identity)
            if rc == 0 { return }
            try failIfConnectionLost(rc)
            tried.append("\(label) (\(reason(rc)))")
        }
        if tried.isEmpty && !rsa.isEmpty {
            throw SSHError("ssh.rsa_unsupported", "ssh-agent at \(socket) holds only RSA keys (\(rsa.joined(separator: ", "))): "
                           + Self.rsaAdvice, host: target.endpoint)
        }
        if tried.isEmpty {
            throw SSHError("ssh.auth", "ssh-agent at \(socket) holds no keys; ssh-add one for \(target.user)@\(target.endpoint)",
                           host: target.endpoint)
        }
        let skipped = rsa.isEmpty ? "" : "; skipped RSA keys (\(Self.rsaAdvice)): " + rsa.joined(separator: ", ")
        throw SSHError("ssh.auth", "\(target.user)@\(target.endpoint) refused every agent key; tried: \(tried.joined(separator: "; "))"
                       + skipped + ". Check that the public key is in the user's authorized_keys on the host", host: target.endpoint)
    }

    /// Socket failures and timeouts end authentication at once.
    private func failIfConnectionLost(_ rc: Int32) throws {
        switch rc {
        case LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_SOCKET_TIMEOUT:
            throw SSHError("ssh.timeout", "\(target.endpoint) did not answer during authentication within "
                           + Connection.seconds(target.connectTimeout), host: target.endpoint)
        case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT:
            throw SSHError("ssh.closed", "\(target.endpoint) closed the connection during authentication: "
                           + Connection.lastError(session), host: target.endpoint)
        default: return
        }
    }

    private func reason(_ rc: Int32) -> String {
        switch rc {
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED: return "refused by the server"
        default: return Connection.lastError(session)
        }
    }
}
