import OttoCore

/// Turns record names and values into the canonical presentation form PowerDNS returns, so that a plan
/// made right after an apply shows no difference. Every function returns either the result or a message.
enum DNSNormalizer {
    enum Outcome { case ok(String), bad(String) }

    /// A domain name without trailing dot is valid: labels of `[a-z0-9_-]` (and `*` as a whole first label),
    /// 1-63 bytes each, at most 253 in all.
    static func isValidDomain(_ name: String, allowUnderscore: Bool = false, allowWildcard: Bool = false) -> Bool {
        DNSPresentation.isValidDomain(name, allowUnderscore: allowUnderscore, allowWildcard: allowWildcard)
    }

    /// `demo.test` or `demo.test.` -> `demo.test.`.
    static func zone(_ text: String) -> String? {
        let bare = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard isValidDomain(bare) else { return nil }
        return bare.lowercased() + "."
    }

    /// A record owner name: `@` is the apex, a relative name gets the zone appended, an absolute one
    /// must lie inside the zone.
    static func owner(_ name: String, zone: String) -> Outcome {
        if name == "@" { return .ok(zone) }
        let lower = name.lowercased()
        if lower.hasSuffix(".") {
            guard isValidDomain(String(lower.dropLast()), allowUnderscore: true, allowWildcard: true) else {
                return .bad("invalid record name \(quoted(name))")
            }
            guard lower == zone || lower.hasSuffix("." + zone) else {
                return .bad("record name \(quoted(name)) is outside the zone `\(zone)`")
            }
            return .ok(lower)
        }
        guard isValidDomain(lower, allowUnderscore: true, allowWildcard: true) else {
            return .bad("invalid record name \(quoted(name))")
        }
        return .ok(lower + "." + zone)
    }

    /// A target host name (CNAME, NS, MX, SRV): relative names get the zone appended; `@` is the zone.
    static func target(_ text: String, zone: String) -> Outcome {
        if text == "@" { return .ok(zone) }
        if text == "." { return .ok(".") }
        let lower = text.lowercased()
        let bare = lower.hasSuffix(".") ? String(lower.dropLast()) : lower
        guard isValidDomain(bare, allowUnderscore: true) else { return .bad("invalid host name \(quoted(text))") }
        return .ok(lower.hasSuffix(".") ? lower : lower + "." + zone)
    }

    static func ipv4(_ text: String) -> Outcome {
        DNSPresentation.ipv4(text).map(Outcome.ok) ?? .bad("invalid IPv4 address \(quoted(text))")
    }

    static func ipv6(_ text: String) -> Outcome {
        DNSPresentation.ipv6(text).map(Outcome.ok) ?? .bad("invalid IPv6 address \(quoted(text))")
    }

    /// `PRIO TARGET`.
    static func mx(_ text: String, zone: String) -> Outcome {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let prio = UInt16(parts[0]) else {
            return .bad("invalid MX value \(quoted(text)): expected \"PRIORITY TARGET\", e.g. \"10 mail\"")
        }
        switch target(String(parts[1]), zone: zone) {
        case .ok(let t): return .ok("\(prio) \(t)")
        case .bad(let m): return .bad(m)
        }
    }

    /// `PRIO WEIGHT PORT TARGET`.
    static func srv(_ text: String, zone: String) -> Outcome {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 4, let prio = UInt16(parts[0]), let weight = UInt16(parts[1]), let port = UInt16(parts[2]) else {
            return .bad("invalid SRV value \(quoted(text)): expected \"PRIORITY WEIGHT PORT TARGET\", e.g. \"10 5 5060 sip\"")
        }
        switch target(String(parts[3]), zone: zone) {
        case .ok(let t): return .ok("\(prio) \(weight) \(port) \(t)")
        case .bad(let m): return .bad(m)
        }
    }

    /// TXT: the text quoted, `"` and `\` escaped, bytes outside printable ASCII as `\DDD`, split into
    /// 255-byte strings. A value already written in presentation form (`"..."`) is kept as written.
    static func txt(_ text: String) -> Outcome { .ok(DNSPresentation.quoteTXT(text)) }

    /// Any value of `type`.
    static func value(_ text: String, type: DNSRecordType, zone: String) -> Outcome {
        switch type {
        case .A: return ipv4(text)
        case .AAAA: return ipv6(text)
        case .CNAME, .NS: return target(text, zone: zone)
        case .MX: return mx(text, zone: zone)
        case .SRV: return srv(text, zone: zone)
        case .TXT: return txt(text)
        }
    }

    static func quoted(_ s: String) -> String { "\"" + s + "\"" }
}
