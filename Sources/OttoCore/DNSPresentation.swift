#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// DNS names and values in the canonical presentation form otto compares (the form PowerDNS returns): the one
/// definition the configuration reader (which normalizes what YAML and the API write), the providers whose APIs store
/// records differently (DigitalOcean keeps TXT unquoted, MX and SRV numbers in separate fields) and the server share.
public enum DNSPresentation {
    /// True when `name` (without trailing dot) is a valid domain: labels of `[a-z0-9-]` (also `_` when
    /// `allowUnderscore`, and `*` as a whole first label when `allowWildcard`), 1-63 bytes each, at most 253 in all.
    public static func isValidDomain(_ name: String, allowUnderscore: Bool = false, allowWildcard: Bool = false) -> Bool {
        asciiDomainIsValid(name, allowUnderscore: allowUnderscore, allowWildcard: allowWildcard)
            ?? anyDomainIsValid(name, allowUnderscore: allowUnderscore, allowWildcard: allowWildcard)
    }

    /// `isValidDomain` for any name: lowercased, then split into labels.
    static func anyDomainIsValid(_ name: String, allowUnderscore: Bool, allowWildcard: Bool) -> Bool {
        let lower = name.lowercased()
        guard !lower.isEmpty, lower.utf8.count <= 253 else { return false }
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        for (i, label) in labels.enumerated() {
            guard !label.isEmpty, label.utf8.count <= 63 else { return false }
            if allowWildcard, i == 0, label == "*" { continue }
            for c in label.utf8 {
                let ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || (allowUnderscore && c == 95)
                if !ok { return false }
            }
            if label.hasPrefix("-") || label.hasSuffix("-") { return false }
        }
        return true
    }

    /// `isValidDomain` over the bytes of an ASCII name (A-Z counts as its lowercase letter), without making strings;
    /// nil for a name with other bytes, which takes the general path (lowercasing may change a non-ASCII name's length,
    /// or make a letter ASCII).
    static func asciiDomainIsValid(_ name: String, allowUnderscore: Bool, allowWildcard: Bool) -> Bool? {
        name.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            if bytes.contains(where: { $0 >= 0x80 }) { return nil }
            guard !bytes.isEmpty, bytes.count <= 253 else { return false }
            var start = 0, labelIndex = 0
            for end in 0...bytes.count where end == bytes.count || bytes[end] == UInt8(ascii: ".") {
                defer { start = end + 1; labelIndex += 1 }
                let length = end - start
                guard length > 0, length <= 63 else { return false }
                if allowWildcard, labelIndex == 0, length == 1, bytes[start] == UInt8(ascii: "*") { continue }
                for c in bytes[start..<end] {
                    let ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 45 || (allowUnderscore && c == 95)
                    if !ok { return false }
                }
                if bytes[start] == UInt8(ascii: "-") || bytes[end - 1] == UInt8(ascii: "-") { return false }
            }
            return true
        } ?? nil
    }

    /// A domain as the API and sites take it: lowercased, without trailing dot, valid (the check `domain:` gets in a
    /// site); nil when it is not a valid domain name.
    public static func normalizedDomain(_ text: String) -> String? {
        let bare = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard isValidDomain(bare) else { return nil }
        return bare.lowercased()
    }

    /// TXT data as presentation: quoted, `"` and `\` escaped, bytes outside printable ASCII as `\DDD`, split into
    /// 255-byte strings (exactly what the configuration reader makes of a TXT value).
    /// A value already written in presentation form (`"..."`) is kept as written.
    public static func quoteTXT(_ text: String) -> String {
        let bytes = Array(text.utf8)
        if bytes.count >= 2, bytes.first == 34, bytes.last == 34 { return text }
        var chunks: [String] = []
        var start = 0
        repeat {
            let end = min(start + 255, bytes.count)
            var out = "\""
            for b in bytes[start..<end] {
                switch b {
                case 34: out += "\\\""
                case 92: out += "\\\\"
                case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(b))
                default:
                    let d = String(b)
                    out += "\\" + String(repeating: "0", count: 3 - d.count) + d
                }
            }
            chunks.append(out + "\"")
            start = end
        } while start < bytes.count
        return chunks.joined(separator: " ")
    }

    /// The text a TXT presentation value stands for: its quoted strings unescaped and joined. Nil when `value` is not
    /// made of quoted strings (an unquoted value is taken as is when it has no spaces).
    public static func unquoteTXT(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        var out: [UInt8] = []
        var i = 0
        var sawString = false
        while i < bytes.count {
            if bytes[i] == 32 || bytes[i] == 9 {
                i += 1
                continue
            }
            guard bytes[i] == 34 else {
                // A bare word (not quoted): allowed only as the whole value.
                guard !sawString, !bytes.contains(32) else { return nil }
                return value
            }
            sawString = true
            i += 1
            var closed = false
            while i < bytes.count {
                let b = bytes[i]
                if b == 34 {
                    closed = true
                    i += 1
                    break
                }
                if b == 92 {
                    guard i + 1 < bytes.count else { return nil }
                    let next = bytes[i + 1]
                    if next >= 48 && next <= 57 {
                        guard i + 3 < bytes.count, let code = Int(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self)), code < 256 else {
                            return nil
                        }
                        out.append(UInt8(code))
                        i += 4
                    } else {
                        out.append(next)
                        i += 2
                    }
                    continue
                }
                out.append(b)
                i += 1
            }
            guard closed else { return nil }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical text of an IPv4 address, nil when `text` is not one.
    public static func ipv4(_ text: String) -> String? {
        // What inet_pton accepts (four decimal octets up to 255, no leading zeros) inet_ntop writes back unchanged.
        if let valid = dottedQuadIsCanonical(text) { return valid ? text : nil }
        return inetIPv4(text)
    }

    /// `ipv4` through the C library: `inet_pton`, then `inet_ntop`.
    static func inetIPv4(_ text: String) -> String? {
        var addr = in_addr()
        guard inet_pton(AF_INET, text, &addr) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `text` is four decimal octets of at most 255 with no leading zeros (glibc's `inet_pton` rules for
    /// AF_INET, whose `inet_ntop` text is then the same bytes), false when it is not; nil when its bytes are not at hand.
    static func dottedQuadIsCanonical(_ text: String) -> Bool? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var octets = 0, value = 0, digits = 0
            for c in bytes {
                if c >= 48 && c <= 57 {
                    if digits > 0 && value == 0 { return false }  // a leading zero
                    value = value * 10 + Int(c - 48)
                    digits += 1
                    if value > 255 { return false }
                    if digits == 1 { octets += 1; if octets > 4 { return false } }
                } else if c == UInt8(ascii: "."), digits > 0, octets < 4 {
                    value = 0
                    digits = 0
                } else {
                    return false
                }
            }
            return octets == 4 && digits > 0
        }
    }

    /// The canonical (RFC 5952) text of an IPv6 address, nil when `text` is not one.
    public static func ipv6(_ text: String) -> String? {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, text, &addr) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
