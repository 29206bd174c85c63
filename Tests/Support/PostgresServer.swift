import Foundation
import Synchronization

/// A real PostgreSQL 15 server for tests: `initdb` and `pg_ctl` as the `postgres` user, in a temp directory, on a free
/// loopback port (and a Unix socket in the directory), trust authentication, `fsync=off` (its data is thrown away).
///
/// `stop()` stops it (immediate shutdown, by the postmaster's PID) and removes the directory. `shared` is one server for
/// the whole test process, each test taking a database of its own from it (`makeDatabase()`); a watchdog process stops
/// it when the test process ends, however it ends.
public final class PostgresServer: Sendable {
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's directory (data in `data/`, the log and the socket beside it).
    public let directory: String
    /// The first postmaster's process id (`stop()` reads the current one: `restart()` makes a new one).
    public let pid: Int32

    /// Where Debian puts PostgreSQL 15's programs.
    public static let binDirectory = "/usr/lib/postgresql/15/bin"

    /// True when PostgreSQL 15's server programs are installed.
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: binDirectory + "/pg_ctl") }

    private init(port: Int, directory: String, pid: Int32) {
        self.port = port
        self.directory = directory
        self.pid = pid
    }

    /// A URL for `database` as the superuser `postgres`, with `extra` query parameters (`project=…`), at `host` (one of
    /// the server's `listen_addresses`).
    public func url(_ database: String = "postgres", _ extra: String = "", host: String = "127.0.0.1") -> String {
        "postgres://postgres@\(host):\(port)/\(database)?sslmode=disable" + (extra.isEmpty ? "" : "&" + extra)
    }

    /// Starts a server (initdb takes about a second) and waits until it accepts connections. `settings` are more
    /// `NAME=VALUE` server settings (`listen_addresses=127.0.0.1,10.213.0.225`), `hba` more lines of `pg_hba.conf`.
    public static func start(settings: [String] = [], hba: [String] = []) async throws -> PostgresServer {
        guard isInstalled else { throw PostgresServerError("PostgreSQL 15 is not installed (postgresql-15); `make deps` installs it") }
        let dir = "/tmp/otto-pg-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let own = try await runProcess(["chown", "postgres:postgres", dir])
        guard own.status == 0 else { throw PostgresServerError("chown postgres \(dir): \(own.stderr)") }
        let initdb = try await runProcess(["runuser", "-u", "postgres", "--", binDirectory + "/initdb", "-D", dir + "/data",
                                           "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        guard initdb.status == 0 else {
            try? FileManager.default.removeItem(atPath: dir)
            throw PostgresServerError("initdb failed: \(initdb.stderr)")
        }
        if !hba.isEmpty {
            let file = dir + "/data/pg_hba.conf"
            let lines = hba.joined(separator: "\n") + "\n"
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(lines.utf8))
            try handle.close()
        }
        for _ in 0..<5 {
            let port = freeLoopbackPort()
            let options = (["-p \(port)", "-k \(dir)", "-c listen_addresses=127.0.0.1", "-c fsync=off",
                            "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=200"]
                           + settings.map { "-c \($0)" }).joined(separator: " ")
            let started = try await runProcess(["runuser", "-u", "postgres", "--", binDirectory + "/pg_ctl", "-D", dir + "/data",
                                                "-o", options, "-l", dir + "/log", "-w", "-t", "60", "start"])
            if started.status == 0, let pid = Self.postmasterPID(dir) {
                return PostgresServer(port: port, directory: dir, pid: pid)
            }
            // The port may have been taken between choosing and binding it: try another.
            _ = try? await runProcess(["runuser", "-u", "postgres", "--", binDirectory + "/pg_ctl", "-D", dir + "/data", "-m",
                                       "immediate", "stop"])
        }
        let log = (try? String(contentsOfFile: dir + "/log", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: dir)
        throw PostgresServerError("pg_ctl could not start the server: \(log.suffix(2000))")
    }

    static func postmasterPID(_ dir: String) -> Int32? {
        guard let text = try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first else { return nil }
        return Int32(first.trimmingCharacters(in: .whitespaces))
    }

    /// The one server of this test process, started on first use; a watchdog stops it when the process ends.
    public static func shared() async throws -> PostgresServer {
        try await SharedPostgres.instance.server()
    }

    /// Creates an empty database and returns its name.
    public func makeDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try await psql("CREATE DATABASE \(name)")
        return name
    }

    /// Runs `sql` with psql as `postgres` in `database`; returns what it printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let result = try await runProcess(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                           "-p", String(port), "-U", "postgres", "-d", database, "-c", sql])
        guard result.status == 0 else { throw PostgresServerError("psql `\(sql)`: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Restarts the server (`pg_ctl restart`, fast shutdown): every session ends.
    public func restart() async throws {
        let result = try await runProcess(["runuser", "-u", "postgres", "--", Self.binDirectory + "/pg_ctl", "-D", directory + "/data",
                                           "-m", "fast", "-w", "-t", "60", "restart"])
        guard result.status == 0 else { throw PostgresServerError("pg_ctl restart: \(result.stderr)") }
    }

    /// Stops the server at once (SIGQUIT to the postmaster: immediate shutdown) and removes its directory.
    public func stop() {
        // The postmaster of now: `restart()` starts a new one.
        let current = Self.postmasterPID(directory) ?? pid
        kill(current, SIGQUIT)
        for _ in 0..<200 where kill(current, 0) == 0 { usleep(25_000) }
        if kill(current, 0) == 0 { kill(current, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The process-wide server and its watchdog.
private actor SharedPostgres {
    static let instance = SharedPostgres()
    private var started: Task<PostgresServer, any Error>?

    func server() async throws -> PostgresServer {
        if let started { return try await started.value }
        let task = Task<PostgresServer, any Error> {
            let server = try await PostgresServer.start()
            // Stops the server once this process is gone: SIGQUIT to the postmaster, then the directory goes.
            let pidFile = "'\(server.directory)/data/postmaster.pid'"
            let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; p=$(head -1 \(pidFile) 2>/dev/null || echo \(server.pid)); "
                + "kill -QUIT $p; sleep 2; kill -KILL $p 2>/dev/null; rm -rf '\(server.directory)'"
            _ = try await ChildProcess.start(["setsid", "sh", "-c", script])
            return server
        }
        started = task
        return try await task.value
    }
}

/// A test PostgreSQL server could not be started or used.
public struct PostgresServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
