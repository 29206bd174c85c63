/// An IPv4 network in CIDR form, e.g. 10.213.0.0/24.
public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    /// Network address as a 32-bit number (host bits cleared).
    public var network: UInt32
    /// Prefix length, 0-32.
    public var prefix: Int

    /// Parses `A.B.C.D/N`; host bits are cleared.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits),
              let address = IPv4Subnet.parseAddress(String(parts[0])) else { return nil }
        prefix = bits
        network = address & IPv4Subnet.mask(bits)
    }

    /// The netmask for `bits`.
    static func mask(_ bits: Int) -> UInt32 { bits == 0 ? 0 : UInt32.max << UInt32(32 - bits) }

    /// Parses dotted-quad text.
    public static func parseAddress(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for o in octets {
            guard !o.isEmpty, o.count <= 3, let n = UInt32(o), n <= 255 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    /// Dotted-quad text of `address`.
    public static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 255).\(address >> 8 & 255).\(address & 255)"
    }

    /// The broadcast address.
    public var broadcast: UInt32 { network | ~IPv4Subnet.mask(prefix) }
    /// The gateway: the first host address (the bridge's).
    public var gateway: UInt32 { network + 1 }
    /// Addresses machines may take: every host address except the gateway, lowest first.
    public var machineAddresses: ClosedRange<UInt32>? {
        prefix <= 30 ? (network + 2)...(broadcast - 1) : nil
    }
    /// True when `address` lies inside the subnet.
    public func contains(_ address: UInt32) -> Bool { address & IPv4Subnet.mask(prefix) == network }

    /// A locally administered unicast MAC derived from an IPv4 address: `02:00:` + the four octets in hex.
    /// Reusing an address then reuses its MAC, so no stale ARP entry delays the next machine.
    public static func mac(for address: UInt32) -> String {
        let octets = [2, 0, address >> 24, address >> 16 & 255, address >> 8 & 255, address & 255]
        return octets.map { o in
            let s = String(o, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }

    public var description: String { "\(IPv4Subnet.format(network))/\(prefix)" }
}
