import Foundation
import OttoSSH
import Synchronization

/// A real OpenSSH server for one test: `/usr/sbin/sshd -D -e -f CONFIG` on 127.0.0.1 and a free port, with its
/// own temp directory (ed25519 host key, authorized_keys, pid file, log) and a fresh ed25519 client key pair whose
/// public half is authorized. Root may log in with keys only. `stop()` kills the server and its per-connection
/// children by PID and removes the directory.
public final class SSHServer: Sendable {
    /// The port sshd listens on (127.0.0.1).
    public let port: Int
    /// The server's working directory.
    public let directory: String
    /// The client's private key (`ssh-keygen -t ed25519 -N ''`); `clientKeyPath + ".pub"` is authorized.
    public let clientKeyPath: String
    /// Where sshd writes its log (`-e`).
    public var logPath: String { directory + "/sshd.log" }
    /// The authorized_keys file.
    public var authorizedKeysPath: String { directory + "/authorized_keys" }

    private struct State {
        var process: ChildProcess?
        var hostKey: String
    }
    private let state: Mutex<State>

    /// The server's host key, `"ssh-ed25519 AAAA..."`.
    public var hostKey: String { state.withLock { $0.hostKey } }
    /// The listening sshd's process id (0 while it is stopped).
    public var pid: Int32 { state.withLock { $0.process?.pid ?? 0 } }

    private init(port: Int, directory: String, hostKey: String) {
        self.port = port
        self.directory = directory
        self.clientKeyPath = directory + "/client_ed25519"
        self.state = Mutex(State(process: nil, hostKey: hostKey))
    }

    /// Generates keys, writes the config and starts sshd; waits (up to 10 s) until it accepts connections.
    /// `logLevel` is sshd's `LogLevel` (`INFO` logs every accepted login); `extraConfig` is appended to sshd_config
    /// (e.g. `SetEnv NAME=value` for the commands it runs).
    public static func start(logLevel: String = "ERROR", extraConfig: String = "") async throws -> SSHServer {
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-sshd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        do {
            let port = freeLoopbackPort()
            try await Self.keygen(dir + "/client_ed25519")
            let hostKey = try await Self.newHostKey(dir)
            try FileManager.default.copyItem(atPath: dir + "/client_ed25519.pub", toPath: dir + "/authorized_keys")
            let config = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(dir)/ssh_host_ed25519_key
                PidFile \(dir)/sshd.pid
                AuthorizedKeysFile \(dir)/authorized_keys
                PermitRootLogin yes
                StrictModes no
                UsePAM no
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                LogLevel \(logLevel)
                MaxStartups 200
                MaxSessions 100
                Subsystem sftp internal-sftp
                \(extraConfig)
                """
            try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
            let server = SSHServer(port: port, directory: dir, hostKey: hostKey)
            try await server.launch()
            return server
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    /// A target for this server: user root, the client key, and by default the server's key pinned.
    public func target(policy: HostKeyPolicy? = nil, identityFiles: [String]? = nil,
                       connectTimeout: Duration = .seconds(10)) -> SSHTarget {
        SSHTarget(host: "127.0.0.1", port: port, user: "root", identityFiles: identityFiles ?? [clientKeyPath],
                  hostKeyPolicy: policy ?? .pinned(hostKey), connectTimeout: connectTimeout)
    }

    /// Appends a public key file to authorized_keys.
    public func authorize(publicKeyFile: String) throws {
        let key = try String(contentsOfFile: publicKeyFile, encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedKeysPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + key).utf8))
    }

    /// Kills the server (and its connections), optionally gives it a NEW host key, and starts it again on the
    /// same port. Returns the host key now in use.
    @discardableResult
    public func restart(newHostKey: Bool = true) async throws -> String {
        await killAll()
        if newHostKey {
            let key = try await Self.newHostKey(directory)
            state.withLock { $0.hostKey = key }
        }
        try await launch()
        return hostKey
    }

    /// Kills the listening sshd and every connection it forked, by PID, waits until sshd has exited, and keeps
    /// the directory.
    public func killAll() async {
        guard let root = killProcesses() else { return }
        await root.waitForExit()
    }

    /// Kills the server and its connections by PID and removes the directory (swift-subprocess reaps sshd).
    public func stop() {
        _ = killProcesses()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sends SIGKILL to sshd and every process below it; returns sshd's process (nil when none was running).
    private func killProcesses() -> ChildProcess? {
        guard let root = state.withLock({ state in defer { state.process = nil }; return state.process }) else { return nil }
        for victim in processDescendants(of: root.pid) { kill(victim, SIGKILL) }
        root.kill(SIGKILL)
        return root
    }

    private func launch() async throws {
        try? FileManager.default.removeItem(atPath: directory + "/sshd.pid")
        let process = try await ChildProcess.start(["/usr/sbin/sshd", "-D", "-e", "-f", directory + "/sshd_config"], logPath: logPath)
        state.withLock { $0.process = process }

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if !process.isRunning {
                state.withLock { $0.process = nil }
                let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw SSHServerError("sshd exited during startup: \(text.suffix(2000))")
            }
            if Self.accepts(port: port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        await killAll()
        throw SSHServerError("sshd did not accept connections on 127.0.0.1:\(port) within 10 s")
    }

    /// Writes a new ed25519 host key into `dir` and returns it as `"ssh-ed25519 AAAA..."`.
    private static func newHostKey(_ dir: String) async throws -> String {
        let path = dir + "/ssh_host_ed25519_key"
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".pub")
        try await keygen(path)
        return try SSHHostKey.read(publicKeyFile: path + ".pub")
    }

    /// `ssh-keygen -q -t ed25519 -N '' -f path`.
    public static func keygen(_ path: String, type: String = "ed25519", extra: [String] = []) async throws {
        let result = try await runProcess(["ssh-keygen", "-q", "-t", type, "-N", "", "-C", "otto-test", "-f", path] + extra)
        guard result.status == 0 else { throw SSHServerError("ssh-keygen failed: \(result.stderr)") }
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A test sshd could not be started.
public struct SSHServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
