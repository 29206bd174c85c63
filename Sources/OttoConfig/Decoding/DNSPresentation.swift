/// DNS values in the canonical presentation form otto compares (the form PowerDNS returns and the configuration
/// reader produces), for providers whose APIs store records differently (DigitalOcean keeps TXT unquoted, MX and SRV
/// numbers in separate fields). A thin public face of `DNSNormalizer`, plus the way back from presentation form.
public enum DNSPresentation {
    /// TXT data as presentation: quoted, `"` and `\` escaped, bytes outside printable ASCII as `\DDD`, split into
    /// 255-byte strings (exactly what the configuration reader makes of a TXT value).
    public static func quoteTXT(_ text: String) -> String {
        switch DNSNormalizer.txt(text) {
        case .ok(let value): return value
        case .bad: return "\"\""
        }
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
        if case .ok(let value) = DNSNormalizer.ipv4(text) { return value }
        return nil
    }

    /// The canonical (RFC 5952) text of an IPv6 address, nil when `text` is not one.
    public static func ipv6(_ text: String) -> String? {
        if case .ok(let value) = DNSNormalizer.ipv6(text) { return value }
        return nil
    }
}
