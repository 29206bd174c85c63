internal import CLibSSH2
import Foundation

// Owners of libssh2 handles. They live on one session's thread only (never shared), and each child handle keeps
// its parent alive, so a channel or SFTP handle is always freed before the session it belongs to.

/// `libssh2_init` once per process.
let libssh2Initialized: Int32 = libssh2_init(0)

/// A session and its TCP socket: `libssh2_session_free` and `close` in deinit.
final class SessionHandle {
    let raw: OpaquePointer
    let socket: Int32

    init?(socket: Int32) {
        _ = libssh2Initialized
        guard let raw = otto_ssh2_session_init() else { return nil }
        self.raw = raw
        self.socket = socket
    }

    deinit {
        libssh2_session_free(raw)
        Foundation.close(socket)
    }
}

/// A channel: `libssh2_channel_free` in deinit. An abandoned channel (its command overran) is freed by `tryFree`
/// once the server closed it, or else by `libssh2_session_free` with the session, never by a blocking wait here.
final class ChannelHandle {
    let raw: OpaquePointer
    private let session: SessionHandle
    private var freed = false
    /// Set when the command was given up on; deinit then leaves the channel to `tryFree` or the session.
    var abandoned = false

    init(_ raw: OpaquePointer, session: SessionHandle) {
        self.raw = raw
        self.session = session
    }

    /// Frees the channel if that does not have to wait (call with the session non-blocking); true once freed.
    func tryFree() -> Bool {
        if !freed && libssh2_channel_free(raw) == 0 { freed = true }
        return freed
    }

    deinit { if !freed && !abandoned { libssh2_channel_free(raw) } }
}

/// An SFTP subsystem: `libssh2_sftp_shutdown` in deinit.
final class SFTPHandle {
    let raw: OpaquePointer
    private let session: SessionHandle

    init(_ raw: OpaquePointer, session: SessionHandle) {
        self.raw = raw
        self.session = session
    }

    deinit { libssh2_sftp_shutdown(raw) }
}

/// An open remote file: `libssh2_sftp_close_handle` in deinit unless closed explicitly.
final class SFTPFileHandle {
    let raw: OpaquePointer
    private let sftp: SFTPHandle
    private var open = true

    init(_ raw: OpaquePointer, sftp: SFTPHandle) {
        self.raw = raw
        self.sftp = sftp
    }

    /// Closes the file and returns libssh2's result (the server's answer to CLOSE).
    func close() -> Int32 {
        guard open else { return 0 }
        open = false
        return libssh2_sftp_close_handle(raw)
    }

    deinit { if open { libssh2_sftp_close_handle(raw) } }
}

/// A known_hosts collection: `libssh2_knownhost_free` in deinit.
final class KnownHostsHandle {
    let raw: OpaquePointer
    private let session: SessionHandle

    init?(session: SessionHandle) {
        guard let raw = libssh2_knownhost_init(session.raw) else { return nil }
        self.raw = raw
        self.session = session
    }

    deinit { libssh2_knownhost_free(raw) }
}

/// An ssh-agent connection: `libssh2_agent_disconnect` and `libssh2_agent_free` in deinit.
final class AgentHandle {
    let raw: OpaquePointer
    private let session: SessionHandle

    init?(session: SessionHandle) {
        guard let raw = libssh2_agent_init(session.raw) else { return nil }
        self.raw = raw
        self.session = session
    }

    deinit {
        libssh2_agent_disconnect(raw)
        libssh2_agent_free(raw)
    }
}
