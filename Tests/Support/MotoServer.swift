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
    /// The server's process.
    public let process: ChildProcess
    /// The server's process id.
    public var pid: Int32 { process.pid }
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

    private init(port: Int, process: ChildProcess, directory: String) {
        self.endpoint = "http://127.0.0.1:\(port)"
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// Starts a server and waits (up to 60 s) until it answers (a reset).
    public static func start(environment extra: [String: String] = [:]) async throws -> MotoServer {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw MotoServerError("moto_server is missing at \(Self.binary); run scripts/install-deps.sh (`make test` does) to create the project venv with moto[server]")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-moto-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["MOTO_ENABLE_AMI_VALIDATION"] = "true"
        environment["PYTHONUNBUFFERED"] = "1"
        for (key, value) in extra { environment[key] = value }
        // Servers of this process start one at a time, so two cannot pick the same free port and the one that lost
        // the race answer for both. Another process can still take the port first: then try another.
        await startGate.enter()
        do {
            let server = try await launch(directory: dir, environment: environment)
            await startGate.leave()
            return server
        } catch {
            await startGate.leave()
            throw error
        }
    }

    private static func launch(directory dir: String, environment: [String: String]) async throws -> MotoServer {
        var attempt = 0
        while true {
            attempt += 1
            let port = freeLoopbackPort()
            try? FileManager.default.removeItem(atPath: dir + "/moto.log")
            let process: ChildProcess
            do {
                process = try await ChildProcess.start([Self.binary, "-H", "127.0.0.1", "-p", String(port)], logPath: dir + "/moto.log",
                                                       environment: environment)
            } catch {
                try? FileManager.default.removeItem(atPath: dir)
                throw error
            }
            switch await Self.waitUntilAnswering(process, endpoint: "http://127.0.0.1:\(port)") {
            case .ready where process.isRunning:
                return MotoServer(port: port, process: process, directory: dir)
            case .ready, .exited:
                let log = (try? String(contentsOfFile: dir + "/moto.log", encoding: .utf8)) ?? ""
                if log.contains("Address already in use") && attempt < 5 { continue }
                try? FileManager.default.removeItem(atPath: dir)
                throw MotoServerError("moto_server exited during startup: \(log.suffix(2000))")
            case .silent:
                process.kill(SIGKILL)
                await process.waitForExit()
                try? FileManager.default.removeItem(atPath: dir)
                throw MotoServerError("moto_server did not answer on 127.0.0.1:\(port) within 60 s")
            }
        }
    }

    private enum Startup { case ready, exited, silent }

    /// Lets one server of this process start at a time.
    private static let startGate = StartGate()

    /// Waits up to 60 s until the server answers a reset.
    private static func waitUntilAnswering(_ process: ChildProcess, endpoint: String) async -> Startup {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning { return .exited }
            if (try? await reset(endpoint)) != nil { return .ready }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return .silent
    }

    /// Forgets every resource (`POST /moto-api/reset`).
    public func reset() async throws { try await Self.reset(endpoint) }

    private static func reset(_ endpoint: String) async throws {
        let result = try await runProcess(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-X", "POST",
                                     endpoint + "/moto-api/reset"])
        guard result.stdout == "200" else { throw MotoServerError("POST /moto-api/reset answered \(result.stdout) \(result.stderr)") }
    }

    /// Sends one SigV4-signed request with curl (`--aws-sigv4`), as a client outside otto would: for resources the
    /// test makes behind otto's back. `service` is `ec2` or `route53`; returns the response body.
    public func awsCurl(service: String, method: String = "POST", path: String = "/", form: String? = nil, xml: String? = nil) async throws -> String {
        try await Self.awsCurl(endpoint, service: service, method: method, path: path, form: form, xml: xml)
    }

    /// `awsCurl` to another endpoint that speaks for moto (a proxy in front of it: `MotoMachineProxy`).
    public static func awsCurl(_ endpoint: String, service: String, method: String = "POST", path: String = "/", form: String? = nil,
                               xml: String? = nil) async throws -> String {
        var argv = ["curl", "-s", "--max-time", "30", "--aws-sigv4", "aws:amz:us-east-1:\(service)", "--user", "AKIDOUTSIDE:outside-secret",
                    "-X", method]
        if let form { argv += ["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", form] }
        if let xml { argv += ["-H", "Content-Type: application/xml", "--data-binary", xml] }
        argv.append(endpoint + path)
        let result = try await runProcess(argv)
        guard result.status == 0 else { throw MotoServerError("curl \(method) \(path) failed: \(result.stderr)") }
        return result.stdout
    }

    /// Kills the server by PID (SIGKILL: its state is thrown away anyway) and removes its directory
    /// (swift-subprocess reaps it).
    public func stop() {
        process.kill(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// One at a time through an async section: `enter` waits while another task is inside, `leave` lets the next in.
private actor StartGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}

/// A test moto_server could not be started or asked.
public struct MotoServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
