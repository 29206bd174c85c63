import Foundation

/// A real nginx (Debian's) for one test: its own temp directory (config, document root, logs), listening on
/// 127.0.0.1 and a free port, run in the foreground as one process (`daemon off; master_process off;`) so `stop()`
/// kills exactly it by PID. The access log records `METHOD URI STATUS` per request (`requests()`).
public final class NginxServer: Sendable {
    /// The port nginx listens on (127.0.0.1).
    public let port: Int
    /// The server's directory (nginx.conf, logs, temp files).
    public let directory: String
    /// The document root (`directory/www`).
    public var root: String { directory + "/www" }
    /// nginx's process.
    public let process: ChildProcess
    /// nginx's process id.
    public var pid: Int32 { process.pid }

    /// `http://127.0.0.1:PORT`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, directory: String, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Writes `files` (path under the root → content) and starts nginx with `locations` (raw directives inside the
    /// server block, e.g. `location = /boom { return 500; }`); waits (up to 10 s) until it answers.
    public static func start(files: [String: String], locations: String = "") async throws -> NginxServer {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
            throw NginxServerError("nginx is not installed (/usr/sbin/nginx); run scripts/install-deps.sh")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-nginx-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/www", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/tmp", withIntermediateDirectories: true)
        for (path, content) in files {
            let full = dir + "/www/" + path.drop { $0 == "/" }
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: true, encoding: .utf8)
        }
        let port = freeLoopbackPort()
        let config = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log warn;
            events { worker_connections 1024; }
            http {
                types { text/html html; text/css css; application/javascript js; image/png png; text/plain txt; }
                default_type application/octet-stream;
                log_format otto '$request_method $request_uri $status';
                access_log \(dir)/access.log otto;
                client_body_temp_path \(dir)/tmp/body;
                proxy_temp_path \(dir)/tmp/proxy;
                fastcgi_temp_path \(dir)/tmp/fastcgi;
                uwsgi_temp_path \(dir)/tmp/uwsgi;
                scgi_temp_path \(dir)/tmp/scgi;
                keepalive_requests 100000;
                keepalive_timeout 60s;
                server {
                    listen 127.0.0.1:\(port);
                    server_name _;
                    root \(dir)/www;
            \(locations)
                }
            }

            """
        try config.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = try await ChildProcess.start(["/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf", "-e", dir + "/error.log"],
                                                   logPath: dir + "/stderr.log")
        let server = NginxServer(port: port, directory: dir, process: process)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOfFile: dir + "/error.log", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: dir)
                throw NginxServerError("nginx exited during startup: \(log.suffix(2000))")
            }
            if Self.accepts(port: port) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        server.stop()
        throw NginxServerError("nginx did not listen on 127.0.0.1:\(port) within 10 s")
    }

    /// Every request so far as `METHOD URI STATUS`, in order (nginx writes the line when the request ends).
    public func requests() -> [String] {
        let text = (try? String(contentsOfFile: directory + "/access.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// Kills nginx by PID and removes its directory (swift-subprocess reaps it).
    public func stop() {
        process.kill(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopbackAddress(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete (the kernel's backlog) and requests are
/// never answered, so clients time out. For timeout tests; `close()` (or deinit) stops listening.
public final class SilentListener: Sendable {
    /// The port.
    public let port: Int
    private let fd: Int32

    /// Binds and listens on a free loopback port.
    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NginxServerError("socket failed") }
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw NginxServerError("cannot listen on a loopback port")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A test nginx could not be started.
public struct NginxServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
