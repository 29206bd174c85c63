import Foundation

/// A loopback port nothing listens on right now (TCP, and UDP too when `udp` is set), chosen by the kernel.
/// There is a small window before the caller binds it; tests that start servers accept that.
public func freeLoopbackPort(udp: Bool = false) -> Int {
    for _ in 0..<50 {
        guard let port = bindEphemeral(type: SOCK_STREAM_VALUE, port: 0) else { continue }
        if !udp || bindEphemeral(type: SOCK_DGRAM_VALUE, port: port) != nil { return port }
    }
    preconditionFailure("no free loopback port found")
}

#if canImport(Glibc)
private let SOCK_STREAM_VALUE = Int32(SOCK_STREAM.rawValue)
private let SOCK_DGRAM_VALUE = Int32(SOCK_DGRAM.rawValue)
#else
private let SOCK_STREAM_VALUE = SOCK_STREAM
private let SOCK_DGRAM_VALUE = SOCK_DGRAM
#endif

/// 127.0.0.1:`port` as a socket address.
func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// Binds a socket of `type` to 127.0.0.1:`port` (0 = any), returns the bound port and closes the socket.
private func bindEphemeral(type: Int32, port: Int) -> Int? {
    let fd = socket(AF_INET, type, 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = loopbackAddress(port: port)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { return nil }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { return nil }
    return Int(UInt16(bigEndian: address.sin_port))
}
