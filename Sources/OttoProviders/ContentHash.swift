import Crypto

/// SHA-256 as lowercase hex, the form `sha256sum` prints: content hashes on machines, image ids, stable names.
enum ContentHash {
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let h = String(byte, radix: 16)
            return h.count == 1 ? "0" + h : h
        }.joined()
    }
}
