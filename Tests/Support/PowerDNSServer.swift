import Foundation

/// A real PowerDNS authoritative server (sqlite backend, HTTP API) for one test: a temp directory, a fresh
/// database from the packaged schema, API and DNS on free loopback ports. `stop()` kills it by PID and
/// removes the directory.
public final class PowerDNSServer: Sendable {
    /// The API's base URL, e.g. `http://127.0.0.1:PORT` (the provider appends `/api/v1/...`).
    public let apiURL: String
    /// The API port.
    public let apiPort: Int
    /// The DNS (UDP and TCP) port, for `dig @127.0.0.1 -p PORT`.
    public let dnsPort: Int
    /// The API key the server accepts.
    public let apiKey: String
    /// The server's working directory (config, database, log).
    public let directory: String
    /// The server's process.
    public let process: ChildProcess
    /// The server's process id.
    public var pid: Int32 { process.pid }

    /// Where Debian puts the sqlite schema.
    public static let schemaPaths = [
        "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
        "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
    ]

    private init(apiURL: String, apiPort: Int, dnsPort: Int, apiKey: String, directory: String, process: ChildProcess) {
        self.apiURL = apiURL
        self.apiPort = apiPort
        self.dnsPort = dnsPort
        self.apiKey = apiKey
        self.directory = directory
        self.process = process
    }

    /// Starts a server and waits (up to 60 s) until its API answers. Its API listens on `webAddress` (loopback unless a
    /// test made an address of its own, e.g. on a bridge) and answers 127.0.0.1 and `allowFrom` (addresses or CIDRs).
    public static func start(apiKey: String = "otto-test-\(UUID().uuidString.prefix(8))", webAddress: String = "127.0.0.1",
                             allowFrom: [String] = []) async throws -> PowerDNSServer {
        guard let schema = Self.schemaPaths.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw PowerDNSServerError("the PowerDNS sqlite schema is missing; install pdns-backend-sqlite3")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-pdns-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let database = dir + "/pdns.sqlite3"
        let created = try await runProcess(["sqlite3", database], input: try String(contentsOfFile: schema, encoding: .utf8))
        guard created.status == 0 else { throw PowerDNSServerError("sqlite3 could not create the database: \(created.stderr)") }

        let apiPort = freeLoopbackPort()
        var dnsPort = freeLoopbackPort(udp: true)
        while dnsPort == apiPort { dnsPort = freeLoopbackPort(udp: true) }
        let config = """
            launch=gsqlite3
            gsqlite3-database=\(database)
            api=yes
            api-key=\(apiKey)
            webserver=yes
            webserver-address=\(webAddress)
            webserver-port=\(apiPort)
            webserver-allow-from=\((["127.0.0.1", webAddress] + allowFrom).joined(separator: ","))
            local-address=127.0.0.1
            local-port=\(dnsPort)
            daemon=no
            guardian=no
            socket-dir=\(dir)
            config-dir=\(dir)
            disable-syslog=yes
            cache-ttl=0
            negquery-cache-ttl=0
            query-cache-ttl=0
            zone-cache-refresh-interval=0

            """
        try config.write(toFile: dir + "/pdns.conf", atomically: true, encoding: .utf8)

        let process = try await ChildProcess.start(["/usr/sbin/pdns_server", "--config-dir=\(dir)"], logPath: dir + "/pdns.log")
        let apiURL = "http://\(webAddress):\(apiPort)"
        let server = PowerDNSServer(apiURL: apiURL, apiPort: apiPort, dnsPort: dnsPort, apiKey: apiKey, directory: dir,
                                    process: process)

        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning {
                let text = (try? String(contentsOfFile: dir + "/pdns.log", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: dir)
                throw PowerDNSServerError("pdns_server exited during startup: \(text.suffix(2000))")
            }
            let probe = try await runProcess(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-API-Key: \(apiKey)",
                                        "\(apiURL)/api/v1/servers/localhost"])
            if probe.stdout == "200" { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        server.stop()
        throw PowerDNSServerError("the PowerDNS API did not answer on \(apiURL) within 60 s")
    }

    /// Kills the server by PID (SIGKILL: its database is thrown away anyway) and removes its directory
    /// (swift-subprocess reaps it).
    public func stop() {
        process.kill(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `dig @127.0.0.1 -p DNSPORT NAME TYPE +short` and returns the answer lines, sorted.
    public func dig(_ name: String, _ type: String) async throws -> [String] {
        let result = try await runProcess(["dig", "@127.0.0.1", "-p", String(dnsPort), name, type, "+short", "+time=2", "+tries=2"])
        guard result.status == 0 else { throw PowerDNSServerError("dig failed: \(result.stdout) \(result.stderr)") }
        return result.stdout.split(separator: "\n").map { String($0) }.filter { !$0.isEmpty }.sorted()
    }
}

/// A test PowerDNS server could not be started.
public struct PowerDNSServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
