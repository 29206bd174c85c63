internal import CLibSSH2
import Foundation

/// An OpenSSH known_hosts file loaded into libssh2 (plain and hashed entries). Lines libssh2 cannot parse
/// (markers such as `@cert-authority`, key types it does not know) are skipped instead of ending the read.
final class KnownHostsFile {
    let path: String
    /// False when the file does not exist or cannot be read.
    let exists: Bool
    private let handle: KnownHostsHandle

    init?(path: String, session: SessionHandle) {
        guard let handle = KnownHostsHandle(session: session) else { return nil }
        self.path = path
        self.handle = handle
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            exists = false
            return
        }
        exists = true
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            _ = libssh2_knownhost_readline(handle.raw, trimmed, trimmed.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
        }
    }

    /// The result of checking a host key.
    enum Check {
        case match
        /// The host is listed, with another key of the same type (its fingerprint).
        case mismatch(expected: String)
        case notFound
        case failure
    }

    /// Checks `blob` for `host`:`port` (`[host]:port` entries, as ssh-keyscan writes them for ports other than 22).
    func check(host: String, port: Int, blob: [UInt8]) -> Check {
        guard let type = SSHHostKey.keyType(blob: blob) else { return .failure }
        var entry: UnsafeMutablePointer<libssh2_knownhost>?
        let rc = blob.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                libssh2_knownhost_checkp(handle.raw, host, Int32(port), $0.baseAddress, $0.count,
                                         OTTO_SSH2_KNOWNHOST_PLAIN_RAW | Self.keyMask(type), &entry)
            }
        }
        switch rc {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH: return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            let known = entry?.pointee.key.flatMap { Data(base64Encoded: String(cString: $0)) }
            return .mismatch(expected: known.map { SSHHostKey.fingerprint(blob: [UInt8]($0)) } ?? "SHA256:(unreadable)")
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND: return .notFound
        default: return .failure
        }
    }

    /// The key types the file lists for `host`:`port`, in file order (used to ask the server for one of them).
    func keyTypes(host: String, port: Int) -> [String] {
        var types: [String] = []
        var previous: UnsafeMutablePointer<libssh2_knownhost>?
        var current: UnsafeMutablePointer<libssh2_knownhost>?
        while libssh2_knownhost_get(handle.raw, &current, previous) == 0, let entry = current {
            previous = entry
            let keyType = entry.pointee.typemask & OTTO_SSH2_KNOWNHOST_KEY_MASK
            guard let key = entry.pointee.key, let name = Self.typeName(keyType) else { continue }
            // An entry's own key matches it exactly when its host pattern covers our host (works for hashed names too).
            let rc = libssh2_knownhost_checkp(handle.raw, host, Int32(port), key, strlen(key),
                                              OTTO_SSH2_KNOWNHOST_PLAIN_BASE64 | keyType, nil)
            if rc == LIBSSH2_KNOWNHOST_CHECK_MATCH && !types.contains(name) { types.append(name) }
        }
        return types
    }

    private static let types: [(String, Int32)] = [
        ("ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA), ("ssh-dss", LIBSSH2_KNOWNHOST_KEY_SSHDSS),
        ("ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256), ("ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384),
        ("ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521), ("ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519),
    ]

    private static func keyMask(_ type: String) -> Int32 {
        types.first { $0.0 == type }?.1 ?? LIBSSH2_KNOWNHOST_KEY_UNKNOWN
    }

    private static func typeName(_ mask: Int32) -> String? {
        types.first { $0.1 == mask }?.0
    }
}

/// Host key verification, right after the handshake.
enum HostKeyCheck {
    static func verify(presented: String, session: SessionHandle, target: SSHTarget) throws {
        let endpoint = target.endpoint
        guard let got = SSHHostKey.parse(presented) else {
            throw SSHError("ssh.hostkey.unknown", "\(endpoint) presented a host key otto cannot read", host: endpoint)
        }
        let gotPrint = SSHHostKey.fingerprint(blob: got.blob)
        switch target.hostKeyPolicy {
        case .pinned(let pinned):
            // One key per line: while otto replaces a new machine's first key, both are pinned.
            let expected = pinned.split(whereSeparator: \.isNewline).map { SSHHostKey.parse(String($0)) }
            guard !expected.isEmpty, expected.allSatisfy({ $0 != nil }) else {
                throw SSHError("ssh.hostkey.mismatch", "the pinned host key for \(endpoint) is not an OpenSSH key line "
                               + "(\"ssh-ed25519 AAAA...\"); the server presented \(gotPrint)", host: endpoint)
            }
            guard !expected.contains(where: { $0!.normalized == got.normalized }) else { return }
            throw mismatch(endpoint, expected: expected.map { SSHHostKey.fingerprint(blob: $0!.blob) }.joined(separator: " or "), got: gotPrint,
                           fix: "replace the machine (otto apply --replace ADDRESS) so otto pins the key of the machine it makes (otto pinned this key when it made the machine; the new key is \(got.type) \(gotPrint))")
        case .knownHosts(let path):
            guard let file = KnownHostsFile(path: path, session: session) else {
                throw SSHError("ssh.hostkey.unknown", "cannot load known_hosts \(path) for \(endpoint)", host: endpoint)
            }
            let hostPattern = target.port == 22 ? target.host : "[\(target.host)]:\(target.port)"
            switch file.check(host: target.host, port: target.port, blob: got.blob) {
            case .match: return
            case .mismatch(let expected):
                throw mismatch(endpoint, expected: expected, got: gotPrint,
                               fix: "remove the old entry with ssh-keygen -R \(ShellQuote.quote(hostPattern)) -f \(path) and add the new one")
            case .notFound, .failure:
                let missing = file.exists ? "" : " (the file does not exist)"
                throw SSHError("ssh.hostkey.unknown", "\(endpoint) is not in \(path)\(missing); verify its key fingerprint "
                               + "\(gotPrint) (\(got.type)) and add it, e.g. ssh-keyscan -p \(target.port) \(target.host) >> \(path)",
                               host: endpoint)
            }
        }
    }

    private static func mismatch(_ endpoint: String, expected: String, got: String, fix: String) -> SSHError {
        SSHError("ssh.hostkey.mismatch", "host key for \(endpoint) changed: expected \(expected), got \(got); if the machine was "
                 + "rebuilt on purpose, \(fix); otherwise do not connect, someone may be intercepting the connection",
                 host: endpoint)
    }
}
