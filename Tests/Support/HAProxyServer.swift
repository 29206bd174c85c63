import Foundation

/// A real haproxy (Debian's) for one test, in master-worker mode (`haproxy -W`, as Debian's unit runs it with
/// `-Ws`): the test writes the configuration (its admin socket, state file and listeners in the test's own directory,
/// on loopback), `reload()` sends SIGUSR2 to the master as `systemctl reload` does, and `stop()` ends the master and
/// its workers by PID.
public final class HAProxyServer: Sendable {
    /// The directory holding haproxy.cfg and haproxy.log.
    public let directory: String
    /// The admin socket the configuration declares (waited for at start and after a reload).
    public let adminSocket: String
    /// The master process.
    public let master: ChildProcess

    /// The configuration file.
    public var configPath: String { directory + "/haproxy.cfg" }
    /// What haproxy wrote on stdout and stderr.
    public var log: String { (try? String(contentsOfFile: directory + "/haproxy.log", encoding: .utf8)) ?? "" }

    private init(directory: String, adminSocket: String, master: ChildProcess) {
        self.directory = directory
        self.adminSocket = adminSocket
        self.master = master
    }

    /// Writes `config` to `directory/haproxy.cfg` and starts `haproxy -W -f` on it; waits (up to 10 s) until a worker
    /// answers on `adminSocket`.
    public static func start(config: String, directory: String, adminSocket: String) async throws -> HAProxyServer {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") else {
            throw HAProxyServerError("haproxy is not installed (/usr/sbin/haproxy); run scripts/install-deps.sh")
        }
        try config.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let master = try await ChildProcess.start(["/usr/sbin/haproxy", "-W", "-f", directory + "/haproxy.cfg"],
                                                  logPath: directory + "/haproxy.log")
        let server = HAProxyServer(directory: directory, adminSocket: adminSocket, master: master)
        do {
            try await server.waitForWorker(notIn: [])
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// The live worker processes (the master's children that have not exited).
    public func workers() -> [Int32] {
        processDescendants(of: master.pid).filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
        }
    }

    /// Reloads as `systemctl reload` does (SIGUSR2 to the master) and waits (up to 10 s) until only new workers run
    /// and one answers on the admin socket, so what the socket says next comes from the reloaded process.
    public func reload() async throws {
        let old = Set(workers())
        master.kill(SIGUSR2)
        try await waitForWorker(notIn: old)
    }

    /// Ends the master (SIGTERM, which stops its workers) and then kills, by PID, whatever of it is left.
    public func stop() {
        let workers = workers()
        master.kill(SIGTERM)
        let deadline = Date().addingTimeInterval(3)
        while master.isRunning && Date() < deadline { usleep(20_000) }
        for pid in workers { kill(pid, SIGKILL) }
        master.kill(SIGKILL)
    }

    private func waitForWorker(notIn old: Set<Int32>) async throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard master.isRunning else { throw HAProxyServerError("haproxy exited: \(log.suffix(2000))") }
            let now = workers()
            if !now.isEmpty && Set(now).isDisjoint(with: old) && Self.accepts(socket: adminSocket) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HAProxyServerError("haproxy did not answer on \(adminSocket) with a new worker within 10 s: \(log.suffix(2000))")
    }

    /// True when something accepts connections on the unix socket at `path`.
    static func accepts(socket path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}

/// A test haproxy could not be started or reloaded.
public struct HAProxyServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
