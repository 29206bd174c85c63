#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Converts record values between otto's canonical presentation form (docs/config.md "DNS records", the form
/// PowerDNS returns) and Route53's.
///
/// Route53 takes and returns values in presentation form already; the differences are small:
/// - escapes: presentation form writes a byte as `\DDD` in decimal, Route53 as `\OOO` in octal (TXT values, names);
/// - targets (CNAME, NS, MX, SRV) and delegation-set name servers may come back without the trailing dot or in
///   upper case;
/// - AAAA values come back as they were sent, so they are put in canonical form on the way in.
enum Route53RecordValues {
    /// A value as Route53 should receive it.
    static func toRoute53(type: String, _ value: String) -> String {
        type == "TXT" ? convertEscapes(value, from: 10, to: 8) : value
    }

    /// A value Route53 returned, in otto's canonical form.
    static func fromRoute53(type: String, _ value: String) -> String {
        switch type {
        case "AAAA": return canonicalIPv6(value) ?? value
        case "CNAME", "NS", "PTR": return fqdn(value)
        case "MX":
            let parts = value.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else { return value }
            return "\(parts[0]) \(fqdn(String(parts[1])))"
        case "SRV":
            let parts = value.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 4 else { return value }
            return "\(parts[0]) \(parts[1]) \(parts[2]) \(fqdn(String(parts[3])))"
        case "TXT": return convertEscapes(value, from: 8, to: 10)
        default: return value
        }
    }

    /// A host name lower-case with the trailing dot (`.` stays `.`).
    static func fqdn(_ name: String) -> String {
        let lower = octalUnescape(name).lowercased()
        return lower.hasSuffix(".") ? lower : lower + "."
    }

    /// Rewrites every `\NNN` escape (three digits in base `from`, value at most 255) as three digits in base `to`;
    /// other escapes (`\"`, `\\`) and everything else are kept.
    static func convertEscapes(_ text: String, from: Int, to: Int) -> String {
        guard text.contains("\\") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < bytes.count else {
                out.append(byte)
                index += 1
                continue
            }
            if index + 3 < bytes.count, let value = number(bytes[(index + 1)...(index + 3)], radix: from), value <= 255 {
                var digits = Array(String(value, radix: to).utf8)
                while digits.count < 3 { digits.insert(UInt8(ascii: "0"), at: 0) }
                out.append(UInt8(ascii: "\\"))
                out += digits
                index += 4
            } else {
                out += [byte, bytes[index + 1]]  // `\"`, `\\` or a malformed escape: kept as written
                index += 2
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Replaces `\OOO` (octal) escapes with the byte they stand for (Route53's names: `\052` is `*`).
    static func octalUnescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
               let value = number(bytes[(index + 1)...(index + 3)], radix: 8), value <= 255 {
                out.append(UInt8(value))
                index += 4
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func number(_ digits: ArraySlice<UInt8>, radix: Int) -> Int? {
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && Int($0 - UInt8(ascii: "0")) < radix }) else { return nil }
        return digits.reduce(0) { $0 * radix + Int($1 - UInt8(ascii: "0")) }
    }

    /// `2001:DB8:0::1` → `2001:db8::1`; nil when it is not an IPv6 address.
    static func canonicalIPv6(_ text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
