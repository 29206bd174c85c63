import Crypto
import Foundation

/// Host (and other public) keys in OpenSSH's one-line form, `"ssh-ed25519 AAAA..."`.
public enum SSHHostKey {
    /// The key's fingerprint as `ssh-keygen -l` prints it, `"SHA256:..."` (unpadded base64 of the SHA-256 of the
    /// key blob). A string that is not a key gives `"SHA256:(not a key)"`.
    public static func fingerprint(_ key: String) -> String {
        guard let parsed = parse(key) else { return "SHA256:(not a key)" }
        return fingerprint(blob: parsed.blob)
    }

    /// Reads a public key file (`id_ed25519.pub`, `ssh_host_ed25519_key.pub`) and returns `"TYPE BASE64"`
    /// without its comment.
    public static func read(publicKeyFile: String) throws -> String {
        let text: String
        do { text = try String(contentsOfFile: publicKeyFile, encoding: .utf8) } catch {
            throw SSHError("ssh.key", "cannot read public key file \(publicKeyFile): \(error.localizedDescription)", host: "")
        }
        for line in text.split(whereSeparator: \.isNewline) {
            if let parsed = parse(String(line)) { return parsed.normalized }
        }
        throw SSHError("ssh.key", "\(publicKeyFile) holds no OpenSSH public key (expected a line like \"ssh-ed25519 AAAA...\")",
                       host: "")
    }

    /// The `"SHA256:..."` fingerprint of a raw key blob.
    static func fingerprint(blob: [UInt8]) -> String {
        var text = Data(SHA256.hash(data: blob)).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }

    /// `"TYPE BASE64"` for a raw key blob (the type is read from the blob itself).
    static func line(blob: [UInt8]) -> String {
        let type = keyType(blob: blob) ?? "unknown"
        return type + " " + Data(blob).base64EncodedString()
    }

    /// The key type named at the start of a key blob (an SSH string), e.g. `ssh-ed25519`.
    static func keyType(blob: [UInt8]) -> String? {
        var reader = SSHWireReader(blob)
        guard let name = reader.string(), !name.isEmpty, name.allSatisfy({ $0 >= 0x21 && $0 < 0x7f }) else { return nil }
        return String(decoding: name, as: UTF8.self)
    }

    /// A parsed key line: the type, the decoded blob and `"TYPE BASE64"`.
    struct Parsed: Equatable {
        var type: String
        var blob: [UInt8]
        var normalized: String { type + " " + Data(blob).base64EncodedString() }
    }

    /// Parses `"TYPE BASE64 [comment]"` (leading options such as known_hosts markers are not accepted); the blob
    /// must name the same type.
    static func parse(_ key: String) -> Parsed? {
        let fields = key.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let data = Data(base64Encoded: String(fields[1])) else { return nil }
        let blob = [UInt8](data)
        guard let type = keyType(blob: blob), type == fields[0] else { return nil }
        return Parsed(type: type, blob: blob)
    }
}

/// Reads SSH wire-format values (RFC 4251 §5).
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// A big-endian uint32.
    mutating func uint32() -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A length-prefixed byte string.
    mutating func string() -> [UInt8]? {
        guard let length = uint32(), Int(length) <= bytes.count - offset else { return nil }
        defer { offset += Int(length) }
        return Array(bytes[offset..<offset + Int(length)])
    }

    /// Raw bytes.
    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard count <= bytes.count - offset else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}
