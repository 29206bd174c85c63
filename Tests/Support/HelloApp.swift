import Foundation

/// The test and demo application `examples/apps/hello` (python3's standard library only) run on loopback for one
/// test: a child process on a free 127.0.0.1 port, its output in a log file, stopped by PID.
public final class HelloApp: Sendable {
    /// `examples/apps/hello` of this checkout (server.py, VERSION, hooks/).
    public static let bundle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/apps/hello").path

    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// The version it serves.
    public let version: String
    /// The server's process.
    public let process: ChildProcess
    /// Its stdout and stderr.
    public let logPath: String
    private let directory: String

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The server's process id.
    public var pid: Int32 { process.pid }

    private init(port: Int, version: String, process: ChildProcess, logPath: String, directory: String) {
        self.port = port
        self.version = version
        self.process = process
        self.logPath = logPath
        self.directory = directory
    }

    /// Starts `server.py --host 127.0.0.1 --port P --version V` plus `arguments` (`--fail-after 1`,
    /// `--ignore-sigterm`, ...) and, unless `waitUntilListening` is false (a slow start), waits up to 30 s until it
    /// accepts connections.
    public static func start(version: String = "1.0.0", arguments: [String] = [], environment: [String: String]? = nil,
                             waitUntilListening: Bool = true) async throws -> HelloApp {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-hello-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let port = freeLoopbackPort()
        let log = dir + "/server.log"
        let process = try await ChildProcess.start(["python3", bundle + "/server.py", "--host", "127.0.0.1", "--port", String(port),
                                                    "--version", version] + arguments,
                                                   logPath: log, environment: environment)
        let app = HelloApp(port: port, version: version, process: process, logPath: log, directory: dir)
        if waitUntilListening { try await app.waitUntilListening() }
        return app
    }

    /// Waits (up to `timeout`) until the server accepts connections; throws with its log when it exits or never does.
    public func waitUntilListening(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw SpawnError("hello exited during startup: \(log().suffix(2000))") }
            if acceptsConnections { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SpawnError("hello did not listen on 127.0.0.1:\(port) within \(timeout): \(log().suffix(2000))")
    }

    /// True when the server accepts TCP connections right now.
    public var acceptsConnections: Bool { NginxServer.accepts(port: port) }

    /// Everything the server wrote so far.
    public func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills the server by PID (SIGKILL unless told) and, once it has exited, removes its directory.
    public func stop(_ signal: Int32 = SIGKILL) async {
        process.kill(signal)
        await process.waitForExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
