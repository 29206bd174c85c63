import OttoCore

/// Where the server listens: `HOST:PORT`, `[IPV6]:PORT`, or `:PORT` (every interface). Default `127.0.0.1:8420`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address to bind (`0.0.0.0` for `:PORT`).
    public var host: String
    /// TCP port (0: any free port, reported once listening).
    public var port: Int

    /// The default: loopback only.
    public static let `default` = ListenAddress(host: "127.0.0.1", port: 8420)

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPV6]:PORT` or `:PORT`.
    public init(parsing text: String) throws {
        let bad = OttoError("serve.listen", "--listen \(text): expected HOST:PORT, [IPV6]:PORT or :PORT (e.g. 127.0.0.1:8420)")
        var hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw bad }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw bad }
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw bad }
        self.host = hostPart.isEmpty ? "0.0.0.0" : String(hostPart)
        self.port = port
    }

    /// True for `localhost`, 127.0.0.0/8 and `::1`: only this machine can connect.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `127.0.0.1:8420`, `[::1]:8420`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
