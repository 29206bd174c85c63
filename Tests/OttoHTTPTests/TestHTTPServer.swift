import Foundation
import OttoTestSupport

/// A real HTTP/1.1 (keep-alive) server for the client tests: Python's http.server on a free loopback port,
/// started per test and killed by PID.
///
/// Endpoints (every hit is counted per path, see `hits(_:)`):
/// - `/echo`: the method, path, query, headers and body as JSON.
/// - `/retry-after/ID/SECONDS`: 429 with `Retry-After: SECONDS` on the first hit, then 200.
/// - `/fail/ID/N/STATUS`: STATUS with a JSON `error` for the first N hits, then 200.
/// - `/sleep/SECONDS`: sleeps, then 200.
/// - `/close-once/ID`: the first hit is read, then the connection is closed without an answer; later hits get 200.
/// - `/error-json/STATUS`, `/error-text/STATUS`: STATUS with a JSON `message` / a long text body.
/// - `/together/ID/N`: waits until N requests of ID are in the server at the same moment, then 200; 504 when that
///   has not happened within 20 s (the requests did not run concurrently).
/// - `/hits/PATH`: how many times PATH was requested. `/connections`: distinct client peer ports seen so far.
/// - `/max-in-flight/PATH`: the most requests of PATH the server was handling at the same moment.
final class TestHTTPServer: Sendable {
    let process: ChildProcess
    let port: Int
    let scriptDir: URL

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(process: ChildProcess, port: Int, scriptDir: URL) {
        self.process = process
        self.port = port
        self.scriptDir = scriptDir
    }

    /// Starts a server and waits (up to 60 s: Python starts slowly on a loaded machine) until it has printed its port.
    static func start() async throws -> TestHTTPServer {
        let scriptDir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-http-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scriptDir, withIntermediateDirectories: true)
        let script = scriptDir.appendingPathComponent("server.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        let log = scriptDir.appendingPathComponent("server.log").path
        let process = try await ChildProcess.start(["python3", script.path], logPath: log)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n", omittingEmptySubsequences: false).first, text.contains("\n"),
               let port = Int(line.trimmingCharacters(in: .whitespaces)) {
                return TestHTTPServer(process: process, port: port, scriptDir: scriptDir)
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.kill(SIGKILL)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: scriptDir)
        throw SpawnError("the test HTTP server did not print its port within 60 s: \(text.suffix(2000))")
    }

    /// Kills the server by PID and removes its directory (swift-subprocess reaps it).
    func stop() {
        process.kill(SIGKILL)
        try? FileManager.default.removeItem(at: scriptDir)
    }

    deinit { stop() }

    static let script = #"""
import http.server, json, sys, threading, time

lock = threading.Lock()
hits = {}
peers = set()
in_flight = {}
max_in_flight = {}
arrived = threading.Condition(lock)

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        path = self.path.partition("?")[0]
        with lock:
            in_flight[path] = in_flight.get(path, 0) + 1
            max_in_flight[path] = max(max_in_flight.get(path, 0), in_flight[path])
            arrived.notify_all()
        try:
            self.handle_request()
        finally:
            with lock:
                in_flight[path] -= 1

    def handle_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        with lock:
            peers.add(self.client_address[1])
            if parts[0] not in ("hits", "connections", "max-in-flight"):
                hits[path] = hits.get(path, 0) + 1
            count = hits.get(path, 0)
        kind = parts[0]
        if kind == "echo":
            self.reply(200, json.dumps({"method": self.command, "path": path, "query": query,
                                        "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": body.decode("utf-8", "replace")}), [("Content-Type", "application/json")])
        elif kind == "retry-after":
            if count == 1:
                self.reply(429, '{"error": "slow down"}', [("Retry-After", parts[2]), ("Content-Type", "application/json")])
            else:
                self.reply(200, "ok")
        elif kind == "fail":
            if count <= int(parts[2]):
                self.reply(int(parts[3]), json.dumps({"error": "failure %d" % count}), [("Content-Type", "application/json")])
            else:
                self.reply(200, "ok")
        elif kind == "close-once":
            if count == 1:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.reply(200, "second")
        elif kind == "sleep":
            time.sleep(float(parts[1]))
            self.reply(200, "slept")
        elif kind == "together":
            wanted = int(parts[2])
            with lock:
                met = arrived.wait_for(lambda: in_flight.get(path, 0) >= wanted or max_in_flight.get(path, 0) >= wanted, timeout=20)
            if met:
                self.reply(200, "together")
            else:
                self.reply(504, "only %d of %d requests arrived together" % (max_in_flight.get(path, 0), wanted))
        elif kind == "error-json":
            self.reply(int(parts[1]), json.dumps({"message": "zone name is not canonical", "code": 42}), [("Content-Type", "application/json")])
        elif kind == "error-text":
            self.reply(int(parts[1]), "E" * 2000, [("Content-Type", "text/plain")])
        elif kind == "hits":
            with lock:
                n = hits.get("/" + "/".join(parts[1:]), 0)
            self.reply(200, str(n))
        elif kind == "max-in-flight":
            with lock:
                n = max_in_flight.get("/" + "/".join(parts[1:]), 0)
            self.reply(200, str(n))
        elif kind == "connections":
            with lock:
                n = len(peers)
            self.reply(200, str(n))
        else:
            self.reply(404, "no such endpoint")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = handle_any

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""#
}
