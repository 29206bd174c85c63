import Foundation

extension Connection {
    /// Resolves the host and opens a TCP connection (non-blocking connect bounded by `connectTimeout`), then
    /// returns the socket in blocking mode with TCP_NODELAY.
    static func connectSocket(_ target: SSHTarget) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw SSHError("ssh.connect", "cannot resolve \(target.host): \(String(cString: gai_strerror(resolved)))",
                           host: target.endpoint)
        }
        defer { freeaddrinfo(list) }

        let deadline = ContinuousClock.now + target.connectTimeout
        var lastError: Int32 = 0
        var timedOut = false
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry?.pointee {
            entry = info.ai_next
            let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard fd >= 0 else { lastError = errno; continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var rc = connect(fd, info.ai_addr, info.ai_addrlen)
            if rc != 0 && errno == EINPROGRESS {
                let remaining = Connection.milliseconds(max(.milliseconds(1), deadline - .now))
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&pfd, 1, Int32(clamping: remaining))
                if ready == 0 {
                    timedOut = true
                    close(fd)
                    continue
                }
                var soError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
                if ready < 0 { soError = errno }
                if soError != 0 { errno = soError; rc = -1 } else { rc = 0 }
            }
            if rc != 0 {
                lastError = errno
                close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        if timedOut && lastError == 0 {
            throw SSHError("ssh.timeout", "connecting to \(target.endpoint) timed out after \(seconds(target.connectTimeout)); "
                           + "check that the host is up and the port is reachable", host: target.endpoint)
        }
        throw SSHError("ssh.connect", "cannot connect to \(target.endpoint): \(String(cString: strerror(lastError))) "
                       + "(is sshd running and listening on port \(target.port)?)", host: target.endpoint)
    }
}
