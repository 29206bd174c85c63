internal import CLibSSH2
import Foundation

extension Connection {
    /// Writes `data` over SFTP to a new temporary file next to `path` (mode 0600 while it is written), sets owner
    /// and group (`chown` via exec, values quoted) and then `mode`, and renames it over `path`. The content never
    /// passes through a shell. SFTP v3 rename cannot replace an existing file on OpenSSH, so that case falls back
    /// to `mv -f` (rename(2) in the same directory, equally atomic). The temporary file is removed on failure.
    func upload(_ data: [UInt8], to path: String, mode: UInt32, owner: String?, group: String?) throws {
        try ensureUsable()
        touch()
        defer { touch() }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else {
            throw SSHError("ssh.sftp", "cannot upload to \(path) on \(target.endpoint): the path names a directory", host: target.endpoint)
        }
        let temp = directory + "." + name + ".otto-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let sftp = try sftpSession()

        let flags = UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL | LIBSSH2_FXF_TRUNC)
        guard let rawFile = otto_ssh2_sftp_open(sftp.raw, temp, flags, 0o600) else {
            throw sftpError(libssh2_session_last_errno(session.raw), sftp, "cannot create \(temp)")
        }
        var keepTemp = false
        defer { if !keepTemp { _ = otto_ssh2_sftp_unlink(sftp.raw, temp) } }
        let file = SFTPFileHandle(rawFile, sftp: sftp)

        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBufferPointer { bytes in
                bytes.withMemoryRebound(to: CChar.self) {
                    libssh2_sftp_write(file.raw, $0.baseAddress! + offset, min($0.count - offset, 1 << 20))
                }
            }
            if n < 0 { throw sftpError(Int32(n), sftp, "writing \(temp) failed after \(offset) of \(data.count) bytes") }
            offset += n
        }
        let synced = libssh2_sftp_fsync(file.raw)
        if synced != 0 && synced != LIBSSH2_ERROR_SFTP_PROTOCOL { throw sftpError(synced, sftp, "syncing \(temp) failed") }
        let closed = file.close()
        if closed != 0 { throw sftpError(closed, sftp, "closing \(temp) failed") }

        if owner != nil || group != nil {
            let spec = (owner ?? "") + (group.map { ":" + $0 } ?? "")
            let chown = try exec("chown -- \(ShellQuote.quote(spec)) \(ShellQuote.quote(temp))", stdin: [], timeout: nil, cancel: nil)
            guard chown.status == 0 else {
                throw SSHError("ssh.exec", "chown \(spec) for \(path) on \(target.endpoint) failed (status \(chown.status)): "
                               + chown.stderrText.trimmingCharacters(in: .whitespacesAndNewlines), host: target.endpoint)
            }
        }
        var attributes = LIBSSH2_SFTP_ATTRIBUTES()
        attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
        attributes.permissions = UInt(mode & 0o7777)
        let chmod = libssh2_sftp_stat_ex(sftp.raw, temp, UInt32(temp.utf8.count), LIBSSH2_SFTP_SETSTAT, &attributes)
        if chmod != 0 { throw sftpError(chmod, sftp, "setting mode \(String(mode, radix: 8)) on \(temp) failed") }

        let renamed = otto_ssh2_sftp_rename(sftp.raw, temp, path, Int(OTTO_SSH2_SFTP_RENAME_ALL))
        if renamed != 0 {
            guard renamed == LIBSSH2_ERROR_SFTP_PROTOCOL else { throw sftpError(renamed, sftp, "renaming \(temp) to \(path) failed") }
            let move = try exec("mv -f -- \(ShellQuote.quote(temp)) \(ShellQuote.quote(path))", stdin: [], timeout: nil, cancel: nil)
            guard move.status == 0 else {
                throw SSHError("ssh.sftp", "cannot move \(temp) over \(path) on \(target.endpoint) (status \(move.status)): "
                               + move.stderrText.trimmingCharacters(in: .whitespacesAndNewlines), host: target.endpoint)
            }
        }
        keepTemp = true
    }

    /// The connection's SFTP subsystem, started on first use.
    private func sftpSession() throws -> SFTPHandle {
        if let sftp { return sftp }
        guard let raw = libssh2_sftp_init(session.raw) else {
            throw fail(libssh2_session_last_errno(session.raw), code: "ssh.sftp",
                       "cannot start SFTP on \(target.endpoint) (is the sftp Subsystem enabled in its sshd_config?)")
        }
        let handle = SFTPHandle(raw, session: session)
        sftp = handle
        return handle
    }

    /// An `ssh.sftp` error with the server's SFTP status text, or the connection error behind `rc`.
    private func sftpError(_ rc: Int32, _ sftp: SFTPHandle, _ what: String) -> SSHError {
        guard rc == LIBSSH2_ERROR_SFTP_PROTOCOL else { return fail(rc, code: "ssh.sftp", what) }
        let status = libssh2_sftp_last_error(sftp.raw)
        return SSHError("ssh.sftp", "\(what) on \(target.endpoint): \(Self.sftpStatusText(status)) (SFTP status \(status))",
                        host: target.endpoint)
    }

    static func sftpStatusText(_ status: UInt) -> String {
        let texts: [UInt: String] = [
            0: "ok", 1: "end of file", 2: "no such file", 3: "permission denied", 4: "failure", 5: "bad message",
            6: "no connection", 7: "connection lost", 8: "operation unsupported", 9: "invalid handle", 10: "no such path",
            11: "file already exists", 12: "write protected", 13: "no media", 14: "no space left on the file system",
            15: "quota exceeded", 16: "unknown principal", 17: "lock conflict", 18: "directory not empty",
            19: "not a directory", 20: "invalid file name", 21: "too many symbolic links",
        ]
        return texts[status] ?? "unknown status"
    }
}
