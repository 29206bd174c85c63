import Foundation

/// Whether an SSH server answers: a TCP connect and the `SSH-2.0` greeting, within a deadline. Used by the local
/// provider to wait for a booting machine and by the static provider to say when a host is unreachable.
enum SSHBanner {
    /// True when `host:port` (a name or an address) greets with `SSH-2.0` within `timeout` seconds. Blocking:
    /// callers run it off the cooperative pool.
    static func answers(_ host: String, port: Int = 22, timeout: Double = 1) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let info = res else { return false }
        defer { freeaddrinfo(res) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                        info.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 && errno != EINPROGRESS { return false }
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { continue }
            if pfd.revents & Int16(POLLERR | POLLHUP) != 0 && pfd.revents & Int16(POLLIN) == 0 { return false }
            let got = read(fd, &buffer, buffer.count)
            if got <= 0 { if got < 0 && errno == EAGAIN { continue }; return false }
            received += buffer[0..<got]
            if received.count >= 7 { return received.starts(with: Array("SSH-2.0".utf8)) }
        }
        return false
    }
}
