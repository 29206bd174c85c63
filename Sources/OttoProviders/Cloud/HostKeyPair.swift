import Crypto
import Foundation

/// An ed25519 SSH host key made by otto for a new cloud machine, in the forms cloud-init takes: the private half as an
/// OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted) and the public half as a key line.
///
/// Made in memory (swift-crypto), never written to disk by otto: the private half travels only in the machine's user
/// data and is replaced on the machine at the first connection (`HostKeyRotation`). Its `description` hides it.
struct HostKeyPair: Sendable, CustomStringConvertible {
    /// `ssh-ed25519 AAAA...` (no comment): what otto pins.
    let publicKey: String
    /// The OpenSSH private key file's text.
    let privateKeyFile: String

    var description: String { "HostKeyPair(\(publicKey), private key hidden)" }

    /// A fresh key pair; `comment` goes into the private key file (as ssh-keygen's `-C`).
    static func generate(comment: String = "otto") -> HostKeyPair {
        let key = Curve25519.Signing.PrivateKey()
        let publicRaw = [UInt8](key.publicKey.rawRepresentation)
        let seed = [UInt8](key.rawRepresentation)
        var publicBlob = SSHWire()
        publicBlob.string("ssh-ed25519")
        publicBlob.string(publicRaw)

        // openssh-key-v1 (PROTOCOL.key): magic, cipher/kdf "none", one key, its public blob, then the private section
        // with two equal check words, the key, the comment, and padding 1, 2, 3 ... to the cipher block size (8).
        let check = UInt32.random(in: .min ... .max)
        var secret = SSHWire()
        secret.uint32(check)
        secret.uint32(check)
        secret.string("ssh-ed25519")
        secret.string(publicRaw)
        secret.string(seed + publicRaw)
        secret.string(comment)
        var pad: UInt8 = 1
        while secret.bytes.count % 8 != 0 { secret.bytes.append(pad); pad += 1 }

        var file = SSHWire()
        file.bytes += Array("openssh-key-v1".utf8) + [0]
        file.string("none")
        file.string("none")
        file.string([UInt8]())
        file.uint32(1)
        file.string(publicBlob.bytes)
        file.string(secret.bytes)
        let base64 = Data(file.bytes).base64EncodedString()
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return HostKeyPair(publicKey: "ssh-ed25519 " + Data(publicBlob.bytes).base64EncodedString(),
                           privateKeyFile: lines.joined(separator: "\n") + "\n")
    }
}

/// SSH wire encoding (RFC 4251): big-endian uint32 and length-prefixed strings.
struct SSHWire {
    var bytes: [UInt8] = []

    mutating func uint32(_ value: UInt32) {
        bytes += [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    mutating func string(_ value: [UInt8]) {
        uint32(UInt32(value.count))
        bytes += value
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }
}
