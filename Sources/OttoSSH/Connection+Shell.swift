internal import CLibSSH2
import Foundation

extension Connection {
    /// Runs `script` in the connection's resident shell: one `sh` started on the host the first time (its channel kept
    /// open), which reads one script after another from its standard input. Each script runs in a subshell with
    /// `/dev/null` as its input (it can neither read what follows nor leave functions or variables behind); the shell
    /// holds its output and writes it in one piece, ended by a marker with a nonce of this call and the subshell's exit
    /// status. Scripts are text: a NUL byte in the output is lost.
    ///
    /// Against `exec`, this spares per call the channel's open, exec and close (three round trips) and, on the host, a
    /// new process from sshd with the login shell's start-up: one write and one answer. A script that overruns
    /// `timeout` or is cancelled closes the shell (the next call starts another); so does a shell that ended.
    func runInShell(_ script: String, timeout: Duration?, cancel: CancelFlag?) throws -> SSHExecResult {
        try ensureUsable()
        touch()
        defer { touch() }
        reapLingering()
        if let shell = residentShell, libssh2_channel_eof(shell.raw) != 0 { residentShell = nil }
        let channel = try residentShell ?? openShell()
        residentShell = channel

        // What the script prints cannot end with this line by chance: 128 random bits, new for every call.
        let nonce = "otto-" + String(UInt64.random(in: .min ... .max), radix: 16) + "-" + String(UInt64.random(in: .min ... .max), radix: 16)
        // The output and the marker leave in one write: as two, the marker would often go as a packet of its own and
        // wait for the acknowledgement of the first (sshd does not turn Nagle off for a session without a terminal).
        // (So the shell holds a script's output until it ends: for text, not for binary output with NUL bytes.)
        let input = Array("otto_out=$(\n(\n\(script)\n) </dev/null\nprintf '\\n%s %s' \(nonce) \"$?\"\n)\nprintf '%s\\n' \"$otto_out\"\nunset otto_out\n".utf8)
        let marker = Array("\n\(nonce) ".utf8)

        let deadline = timeout.map { ContinuousClock.now + $0 }
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var written = 0
        var buffer = [CChar](repeating: 0, count: 64 * 1024)
        var waits = 0
        libssh2_session_set_blocking(session.raw, 0)
        defer { libssh2_session_set_blocking(session.raw, 1) }
        func giveUp(_ error: SSHError) -> SSHError {
            residentShell = nil
            abandon(channel)
            return error
        }

        while true {
            var progressed = false
            if written < input.count {
                let n = writeSome(channel, input, from: written)
                if n > 0 { written += n; progressed = true }
                else if n != LIBSSH2_ERROR_EAGAIN {
                    throw giveUp(fail(Int32(n), code: "ssh.exec", "sending a script to the shell on \(target.endpoint) failed"))
                }
            }
            let before = stdout.count
            _ = try drain(channel, stderr: false, into: &stdout, buffer: &buffer, "sh")
            if libssh2_poll_channel_read(channel.raw, 1) != 0 {
                _ = try drain(channel, stderr: true, into: &stderr, buffer: &buffer, "sh")
            }
            if stdout.count > before, let result = Self.finished(stdout, marker: marker, searchFrom: max(0, before - marker.count - 12)) {
                var out = SSHExecResult(status: result.status, stdout: Array(stdout[..<result.end]), stderr: stderr)
                out.socketWaits = waits
                return out
            }
            if libssh2_channel_eof(channel.raw) != 0 {
                throw giveUp(SSHError("ssh.exec", "the shell on \(target.endpoint) ended before the script finished", host: target.endpoint))
            }
            if progressed { continue }
            if cancel?.isSet == true {
                throw giveUp(SSHError("ssh.cancelled", "a script on \(target.endpoint) was cancelled; it may still be running",
                                      host: target.endpoint))
            }
            var waitMs = 1000
            if let deadline {
                let left = deadline - .now
                if left <= .zero {
                    throw giveUp(SSHError("ssh.timeout", "a script on \(target.endpoint) did not finish within \(Self.seconds(timeout!)); "
                                          + "its shell was closed (it may still be running)", host: target.endpoint))
                }
                waitMs = min(waitMs, Self.milliseconds(left))
            }
            if try waitForSocket(milliseconds: waitMs, "sh") { waits += 1 }
        }
    }

    /// Opens a channel running `sh` (through the user's login shell, as every command).
    private func openShell() throws -> ChannelHandle {
        guard let raw = otto_ssh2_channel_open_session(session.raw) else {
            throw fail(libssh2_session_last_errno(session.raw), code: "ssh.exec", "cannot open a channel for a shell on \(target.endpoint)")
        }
        let channel = ChannelHandle(raw, session: session)
        let started = otto_ssh2_channel_exec(channel.raw, "sh")
        if started != 0 { throw fail(started, code: "ssh.exec", "\(target.endpoint) refused to start a shell") }
        return channel
    }

    /// Where the marker line `\nNONCE STATUS\n` starts in `output` and the status it carries, once the whole line is
    /// there.
    static func finished(_ output: [UInt8], marker: [UInt8], searchFrom: Int) -> (end: Int, status: Int32)? {
        guard output.count >= marker.count + 2, output.last == UInt8(ascii: "\n") else { return nil }
        var i = max(0, searchFrom)
        while i + marker.count <= output.count {
            if output[i] == marker[0], output[i..<(i + marker.count)].elementsEqual(marker) {
                let digits = output[(i + marker.count)...].prefix { $0 != UInt8(ascii: "\n") }
                guard i + marker.count + digits.count < output.count, let status = Int32(String(decoding: digits, as: UTF8.self)) else { return nil }
                return (i, status)
            }
            i += 1
        }
        return nil
    }
}
