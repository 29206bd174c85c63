internal import CLibSSH2
import Foundation
import Synchronization

/// Set from any thread when the awaiting task is cancelled; read on the session thread.
final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

extension Connection {
    /// Runs `command` in a new channel: feeds `stdin`, then EOF, collects stdout and stderr, waits for the exit status.
    /// Channel setup is blocking; the data phase is non-blocking with poll so stdout, stderr and stdin all move
    /// (no deadlock when one stream fills) and the `timeout` deadline and cancellation are honoured.
    func exec(_ command: String, stdin: [UInt8], timeout: Duration?, cancel: CancelFlag?) throws -> SSHExecResult {
        try ensureUsable()
        touch()
        defer { touch() }
        reapLingering()
        let program = command.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        guard let rawChannel = otto_ssh2_channel_open_session(session.raw) else {
            throw fail(libssh2_session_last_errno(session.raw), code: "ssh.exec", "cannot open a channel to run \(program)")
        }
        let channel = ChannelHandle(rawChannel, session: session)
        let started = otto_ssh2_channel_exec(channel.raw, command)
        if started != 0 { throw fail(started, code: "ssh.exec", "\(target.endpoint) refused to run \(program)") }

        let deadline = timeout.map { ContinuousClock.now + $0 }
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var written = 0
        var eofSent = false
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        libssh2_session_set_blocking(session.raw, 0)
        defer { libssh2_session_set_blocking(session.raw, 1) }

        var waits = 0
        while true {
            var progressed = false
            if written < stdin.count {
                let n = writeSome(channel, stdin, from: written)
                if n > 0 { written += n; progressed = true }
                else if n == LIBSSH2_ERROR_CHANNEL_EOF_SENT || n == LIBSSH2_ERROR_CHANNEL_CLOSED { written = stdin.count }
                else if n != LIBSSH2_ERROR_EAGAIN { throw fail(Int32(n), code: "ssh.exec", "sending stdin to \(program) failed") }
            }
            if written == stdin.count && !eofSent {
                let rc = libssh2_channel_send_eof(channel.raw)
                if rc == 0 || rc == LIBSSH2_ERROR_CHANNEL_CLOSED || rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT { eofSent = true; progressed = true }
                else if rc != LIBSSH2_ERROR_EAGAIN { throw fail(rc, code: "ssh.exec", "closing stdin of \(program) failed") }
            }
            // Reading stdout pulls everything the socket holds into libssh2's packet list (it reads until EAGAIN), so
            // stderr is only read when a packet for it is queued: no second recv that can only say EAGAIN. Output
            // that arrived means nothing new on the socket: only progress on stdin is worth another turn before waiting.
            _ = try drain(channel, stderr: false, into: &stdout, buffer: &buffer, program)
            if libssh2_poll_channel_read(channel.raw, 1) != 0 {
                _ = try drain(channel, stderr: true, into: &stderr, buffer: &buffer, program)
            }
            if libssh2_channel_eof(channel.raw) != 0 { break }
            if progressed { continue }

            if cancel?.isSet == true {
                abandon(channel)
                throw SSHError("ssh.cancelled", "\(program) on \(target.endpoint) was cancelled; the remote command may still be running",
                               host: target.endpoint)
            }
            var waitMs = 1000
            if let deadline {
                let left = deadline - .now
                if left <= .zero {
                    abandon(channel)
                    throw SSHError("ssh.timeout", "\(program) on \(target.endpoint) did not finish within \(Self.seconds(timeout!)); "
                                   + "its channel was closed (the remote process may still be running)", host: target.endpoint)
                }
                waitMs = min(waitMs, Self.milliseconds(left))
            }
            if try waitForSocket(milliseconds: waitMs, program) { waits += 1 }
        }

        libssh2_session_set_blocking(session.raw, 1)
        let closed = libssh2_channel_close(channel.raw)
        if closed != 0 { throw fail(closed, code: "ssh.exec", "closing the channel of \(program) failed") }
        let waited = libssh2_channel_wait_closed(channel.raw)
        if waited != 0 { throw fail(waited, code: "ssh.exec", "waiting for \(program) to exit failed") }
        var result = SSHExecResult(status: exitStatus(channel), stdout: stdout, stderr: stderr)
        result.socketWaits = waits
        return result
    }

    /// Writes the next piece of `input` from `offset` on (at most 32 KiB; non-blocking): libssh2's result, the bytes
    /// written or an error code (`LIBSSH2_ERROR_EAGAIN` when the channel's window is full).
    func writeSome(_ channel: ChannelHandle, _ input: [UInt8], from offset: Int) -> Int {
        input.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                otto_ssh2_channel_write(channel.raw, $0.baseAddress! + offset, min($0.count - offset, 32 * 1024))
            }
        }
    }

    /// Reads one stream until it would block; true if anything arrived.
    func drain(_ channel: ChannelHandle, stderr: Bool, into output: inout [UInt8], buffer: inout [CChar],
                       _ program: String) throws -> Bool {
        var progressed = false
        while true {
            let n = buffer.withUnsafeMutableBufferPointer { bytes in
                stderr ? otto_ssh2_channel_read_stderr(channel.raw, bytes.baseAddress, bytes.count)
                       : otto_ssh2_channel_read(channel.raw, bytes.baseAddress, bytes.count)
            }
            if n > 0 {
                buffer.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: UInt8.self) { output.append(contentsOf: $0[0..<n]) }
                }
                progressed = true
                continue
            }
            if n == 0 || n == LIBSSH2_ERROR_EAGAIN { return progressed }
            throw fail(Int32(n), code: "ssh.exec", "reading the output of \(program) failed")
        }
    }

    /// Waits until the socket can move data in the direction libssh2 is blocked on, sending keepalives meanwhile;
    /// false when the time ran out first.
    func waitForSocket(milliseconds: Int, _ program: String) throws -> Bool {
        var next: Int32 = 0
        let rc = libssh2_keepalive_send(session.raw, &next)
        if rc != 0 && rc != LIBSSH2_ERROR_EAGAIN { throw fail(rc, code: "ssh.exec", "keepalive while \(program) runs failed") }
        let directions = libssh2_session_block_directions(session.raw)
        var events: Int16 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= Int16(POLLIN) }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= Int16(POLLOUT) }
        if events == 0 { events = Int16(POLLIN) }
        var pfd = pollfd(fd: session.socket, events: events, revents: 0)
        return poll(&pfd, 1, Int32(clamping: milliseconds)) > 0
    }

    /// Gives up on a channel whose command overran or was cancelled: asks the server to close it without waiting
    /// long for the answer (the session stays usable; libssh2 frees the channel with the session at the latest).
    func abandon(_ channel: ChannelHandle) {
        libssh2_session_set_blocking(session.raw, 0)
        _ = libssh2_channel_close(channel.raw)
        channel.abandoned = true
        if !channel.tryFree() { lingering.append(channel) }
    }

    /// Frees abandoned channels the server has closed by now (non-blocking).
    func reapLingering() {
        guard !lingering.isEmpty, broken == nil else { return }
        libssh2_session_set_blocking(session.raw, 0)
        lingering.removeAll { $0.tryFree() }
        libssh2_session_set_blocking(session.raw, 1)
    }

    /// The exit status, or 128 + N for a command killed by signal N (0 if the server sent neither).
    private func exitStatus(_ channel: ChannelHandle) -> Int32 {
        var signal: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        _ = libssh2_channel_get_exit_signal(channel.raw, &signal, &signalLength, nil, nil, nil, nil)
        if let signal {
            let name = String(cString: signal)
            libssh2_free(session.raw, signal)
            return 128 + (Self.signalNumbers[name] ?? 0)
        }
        return libssh2_channel_get_exit_status(channel.raw)
    }

    private static let signalNumbers: [String: Int32] = [
        "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12,
        "PIPE": 13, "ALRM": 14, "TERM": 15,
    ]
}
