import Foundation

/// A real moto_server (AWS emulator, pip `moto[server]`) for one test: `.venv/bin/moto_server -p PORT` from the
/// package's own venv, on a free loopback port, with AMI validation on (so an unknown or malformed AMI id is refused
/// the way EC2 refuses it). moto picks the service from the `Authorization` header's credential scope, so every
/// request must be SigV4-signed (any credentials do). `stop()` kills it by PID and removes its log directory.
public final class MotoServer: Sendable {
    /// `http://127.0.0.1:PORT`: the provider's `endpoint` for every service.
    public let endpoint: String
    /// The port it listens on.
    public let port: Int
    /// The server's process id.
    public let pid: Int32
    /// Directory holding the server's log.
    public let directory: String
    /// The server's log (requests and Python errors).
    public var logPath: String { directory + "/moto.log" }

    /// AMIs moto knows out of the box (valid with AMI validation on).
    public static let ubuntuXenialAMI = "ami-785db401"
    /// Another AMI moto knows out of the box (for replacements).
    public static let ubuntuTrustyAMI = "ami-1e749f67"

    /// The package root, found from this file's path (`Tests/Support/MotoServer.swift`).
    public static let packageRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// `<package>/.venv/bin/moto_server`.
    public static var binary: String { packageRoot + "/.venv/bin/moto_server" }

    /// Starts the server and waits (up to 60 s) until it answers (a reset).
    public init(environment extra: [String: String] = [:]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw MotoServerError("moto_server is missing at \(Self.binary); run scripts/install-deps.sh (`make test` does) to create the project venv with moto[server]")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-moto-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["MOTO_ENABLE_AMI_VALIDATION"] = "true"
        environment["PYTHONUNBUFFERED"] = "1"
        for (key, value) in extra { environment[key] = value }
        directory = dir
        // Servers of this process start one at a time, so two cannot pick the same free port and the one that lost
        // the race answer for both. Another process can still take the port first: then try another.
        Self.startLock.lock()
        defer { Self.startLock.unlock() }
        var attempt = 0
        while true {
            attempt += 1
            let port = freeLoopbackPort()
            try? FileManager.default.removeItem(atPath: dir + "/moto.log")
            let pid: Int32
            do {
                pid = try spawnDaemon([Self.binary, "-H", "127.0.0.1", "-p", String(port)], logPath: dir + "/moto.log",
                                      environment: environment)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
            switch Self.waitUntilAnswering(pid: pid, endpoint: "http://127.0.0.1:\(port)") {
            case .ready where isRunning(pid):
                self.endpoint = "http://127.0.0.1:\(port)"
                self.port = port
                self.pid = pid
                return
            case .ready, .exited:
                let log = (try? String(contentsOfFile: dir + "/moto.log", encoding: .utf8)) ?? ""
                if log.contains("Address already in use") && attempt < 5 { continue }
                try? FileManager.default.removeItem(atPath: dir)
                throw MotoServerError("moto_server exited during startup: \(log.suffix(2000))")
            case .silent:
                if kill(pid, SIGKILL) == 0 { waitForExit(pid) }
                try? FileManager.default.removeItem(atPath: dir)
                throw MotoServerError("moto_server did not answer on 127.0.0.1:\(port) within 60 s")
            }
        }
    }

    private enum Startup { case ready, exited, silent }

    private static let startLock = NSLock()

    /// Waits up to 60 s until the server answers a reset.
    private static func waitUntilAnswering(pid: Int32, endpoint: String) -> Startup {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !isRunning(pid) { return .exited }
            if (try? reset(endpoint)) != nil { return .ready }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return .silent
    }

    /// Starts a server on a dedicated thread (startup blocks while it waits), so async tests do not hold a
    /// cooperative-pool thread meanwhile.
    public static func start(environment: [String: String] = [:]) async throws -> MotoServer {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try MotoServer(environment: environment) }) }.start()
        }
    }

    /// Forgets every resource (`POST /moto-api/reset`). Blocks the calling thread.
    public func reset() throws { try Self.reset(endpoint) }

    private static func reset(_ endpoint: String) throws {
        let result = try runProcess(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-X", "POST",
                                     endpoint + "/moto-api/reset"])
        guard result.stdout == "200" else { throw MotoServerError("POST /moto-api/reset answered \(result.stdout) \(result.stderr)") }
    }

    /// Sends one SigV4-signed request with curl (`--aws-sigv4`), as a client outside otto would: for resources the
    /// test makes behind otto's back. `service` is `ec2` or `route53`; returns the response body.
    public func awsCurl(service: String, method: String = "POST", path: String = "/", form: String? = nil, xml: String? = nil) throws -> String {
        var argv = ["curl", "-s", "--max-time", "30", "--aws-sigv4", "aws:amz:us-east-1:\(service)", "--user", "AKIDOUTSIDE:outside-secret",
                    "-X", method]
        if let form { argv += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", form] }
        if let xml { argv += ["-H", "Content-Type: application/xml", "--data-binary", xml] }
        argv.append(endpoint + path)
        let result = try runProcess(argv)
        guard result.status == 0 else { throw MotoServerError("curl \(method) \(path) failed: \(result.stderr)") }
        return result.stdout
    }

    /// Kills the server by PID (SIGKILL: its state is thrown away anyway), reaps it and removes its directory.
    public func stop() {
        if kill(pid, SIGKILL) == 0 { waitForExit(pid) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A test moto_server could not be started or asked.
public struct MotoServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
