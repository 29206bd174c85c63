import Foundation
import OttoCore

/// The runtime API of a haproxy on this machine, through its admin socket directly (one connection per command,
/// as haproxy's non-interactive mode expects: it answers, then closes). The socket work runs through
/// `Blocking.run`, off the cooperative pool. For tests and tools running beside haproxy.
public struct HAProxySocketTransport: HAProxyRuntimeTransport {
    /// The admin socket's path.
    public let socketPath: String
    /// How long one exchange may take.
    public let timeout: Duration

    /// A transport to the admin socket at `socketPath`.
    public init(socketPath: String, timeout: Duration = .seconds(10)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    public func send(_ command: String) async throws -> String {
        let path = socketPath, timeout = timeout
        return try await Blocking.run { try Self.exchange(path: path, request: Array((command + "\n").utf8), timeout: timeout) }
    }

    public func replaceFile(_ path: String, with contents: String) async throws {
        try await Blocking.run {
            let temp = path + ".otto-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            do {
                try Data(contents.utf8).write(to: URL(fileURLWithPath: temp))
                guard rename(temp, path) == 0 else {
                    throw OttoError("haproxy.runtime.state", "cannot rename \(temp) to \(path): \(String(cString: strerror(errno)))")
                }
            } catch {
                unlink(temp)
                throw error
            }
        }
    }

    /// Connects to the unix socket at `path`, writes `request`, and reads until haproxy closes the connection.
    private static func exchange(path: String, request: [UInt8], timeout: Duration) throws -> String {
        func failure(_ what: String) -> OttoError {
            OttoError("haproxy.runtime.transport", "\(what) haproxy's admin socket \(path): \(String(cString: strerror(errno)))")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw failure("cannot open a socket for") }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw OttoError("haproxy.runtime.transport", "the admin socket path \(path) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw failure("cannot connect to") }
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { write(fd, $0.baseAddress! + sent, $0.count - sent) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("cannot write to") }
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw failure(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer in time from" : "cannot read from") }
            if n == 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
