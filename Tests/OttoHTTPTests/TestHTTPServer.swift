import Foundation

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
/// - `/hits/PATH`: how many times PATH was requested. `/connections`: distinct client peer ports seen so far.
final class TestHTTPServer {
    let process: Process
    let port: Int
    let scriptDir: URL

    var baseURL: String { "http://127.0.0.1:\(port)" }

    init() throws {
        scriptDir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-http-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scriptDir, withIntermediateDirectories: true)
        let script = scriptDir.appendingPathComponent("server.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
    }

    /// Starts a server on a dedicated thread, so async tests do not block the cooperative pool meanwhile.
    static func start() async throws -> TestHTTPServer {
        let box: SendableBox = try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { SendableBox(try TestHTTPServer()) }) }.start()
        }
        return box.server
    }

    func stop() {
        let pid = process.processIdentifier
        if pid > 0, kill(pid, SIGKILL) == 0 {
            // Not `waitUntilExit`: with many tests starting processes at once, Foundation can miss the exit and spin
            // in it forever (seen with the CurlMulti tests). Reap it here, or see it gone (Foundation reaped it).
            for _ in 0..<500 {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid || kill(pid, 0) != 0 { break }
                usleep(10_000)
            }
        }
        try? FileManager.default.removeItem(at: scriptDir)
    }

    deinit { stop() }

    static let script = #"""
import http.server, json, sys, threading, time

lock = threading.Lock()
hits = {}
peers = set()

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
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        parts = path.strip("/").split("/")
        with lock:
            peers.add(self.client_address[1])
            if parts[0] not in ("hits", "connections"):
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
        elif kind == "error-json":
            self.reply(int(parts[1]), json.dumps({"message": "zone name is not canonical", "code": 42}), [("Content-Type", "application/json")])
        elif kind == "error-text":
            self.reply(int(parts[1]), "E" * 2000, [("Content-Type", "text/plain")])
        elif kind == "hits":
            with lock:
                n = hits.get("/" + "/".join(parts[1:]), 0)
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

/// Carries a freshly started server from its start thread to the test (nothing else holds it meanwhile).
private struct SendableBox: @unchecked Sendable {
    let server: TestHTTPServer
    init(_ server: TestHTTPServer) { self.server = server }
}
