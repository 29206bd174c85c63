import Foundation

/// What a private key file holds, as far as it matters before handing it to libssh2.
enum PrivateKeyFile {
    /// The key's algorithm family.
    enum Kind: Equatable {
        /// RSA: libssh2 1.10 can only sign with `ssh-rsa` (SHA-1), which OpenSSH 8.8+ refuses by default.
        case rsa
        /// Anything else (ed25519, ecdsa), or a format we cannot look into (e.g. encrypted PKCS#8).
        case other
    }

    /// Looks at PEM `RSA PRIVATE KEY`, OpenSSH `openssh-key-v1` (its public key names the type, even when
    /// the private part is encrypted) and unencrypted PKCS#8 (the rsaEncryption OID).
    static func kind(of text: String) -> Kind {
        if text.contains("-----BEGIN RSA PRIVATE KEY-----") { return .rsa }
        if let body = pemBody(text, label: "OPENSSH PRIVATE KEY") {
            let magic = Array("openssh-key-v1".utf8) + [0]
            guard body.starts(with: magic) else { return .other }
            var reader = SSHWireReader(Array(body.dropFirst(magic.count)))
            guard reader.string() != nil, reader.string() != nil, reader.string() != nil,  // cipher, kdf, kdf options
                  let count = reader.uint32(), count >= 1, let publicKey = reader.string() else { return .other }
            return SSHHostKey.keyType(blob: publicKey) == "ssh-rsa" ? .rsa : .other
        }
        if let body = pemBody(text, label: "PRIVATE KEY") {
            let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
            return containsRun(Array(body.prefix(64)), rsaEncryption) ? .rsa : .other
        }
        return .other
    }

    /// The decoded base64 between `-----BEGIN LABEL-----` and `-----END LABEL-----`.
    private static func pemBody(_ text: String, label: String) -> [UInt8]? {
        guard let begin = text.range(of: "-----BEGIN \(label)-----"),
              let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex) else { return nil }
        let base64 = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(base64)).map { [UInt8]($0) }
    }
}

/// Whether `needle` occurs as consecutive bytes in `haystack`.
private func containsRun(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
}
