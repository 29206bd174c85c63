import Foundation

/// An HTTP proxy in front of a test server (moto_server) that injects faults on demand: Python's http.server on a
/// free loopback port, started per test and killed by PID.
///
/// Every request is forwarded to `target` as is (method, path, headers, body) unless a rule matches it. A rule
/// matches when its text occurs in `METHOD PATH\nBODY` and applies to its next `count` matching requests:
/// - `lose`: the request is forwarded (the server acts on it), then the connection is closed without an answer, as
///   when a response is lost on the way back;
/// - `respond`: the request is not forwarded; the proxy answers `status` with `body` (an AWS error document, a 503);
/// - `delay`: the request is forwarded after `seconds`.
///
/// Besides rules, `chaos(...)` makes a share of all calls fail at random: 500s (half before the server saw the call,
/// half after it acted on it), hangs past the client's timeout (likewise), and a 429 with `Retry-After` every N calls.
public final class FaultProxy: Sendable {
    /// `http://127.0.0.1:PORT`: point the client here instead of at the target.
    public let endpoint: String
    /// The proxy's process.
    public let process: ChildProcess
    /// The proxy's process id.
    public var pid: Int32 { process.pid }
    private let directory: String

    private init(endpoint: String, process: ChildProcess, directory: String) {
        self.endpoint = endpoint
        self.process = process
        self.directory = directory
    }

    /// Starts a proxy forwarding to `target` (`http://127.0.0.1:PORT`); waits (up to 30 s) until it answers.
    public static func start(target: String) async throws -> FaultProxy {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("otto-proxy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try script.write(toFile: dir + "/proxy.py", atomically: true, encoding: .utf8)
        let port = freeLoopbackPort()
        let process = try await ChildProcess.start(["python3", dir + "/proxy.py", String(port), target], logPath: dir + "/proxy.log")
        let proxy = FaultProxy(endpoint: "http://127.0.0.1:\(port)", process: process, directory: dir)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                let text = (try? String(contentsOfFile: dir + "/proxy.log", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: dir)
                throw MotoServerError("the fault proxy exited during startup: \(text.suffix(2000))")
            }
            if let hits = try? await proxy.hits(), hits >= 0 { return proxy }
            try await Task.sleep(for: .milliseconds(50))
        }
        proxy.stop()
        throw MotoServerError("the fault proxy did not answer on \(proxy.endpoint) within 30 s")
    }

    /// Adds a rule (see the type's description).
    public func inject(_ mode: String, matching text: String, count: Int = 1, status: Int = 503, body: String = "",
                       seconds: Double = 2) async throws {
        let rule = try JSONSerialization.data(withJSONObject: ["mode": mode, "match": text, "count": count, "status": status, "body": body,
                                                               "seconds": seconds])
        let result = try await runProcess(["curl", "-s", "-f", "--max-time", "10", "-X", "POST", "--data-binary", "@-", endpoint + "/_fault"],
                                    input: String(decoding: rule, as: UTF8.self))
        guard result.status == 0 else { throw MotoServerError("could not add a fault rule: \(result.stderr)") }
    }

    /// Random faults on every forwarded call from now on: `errorRate` answered 500, `hangRate` held for `hangSeconds`
    /// and then dropped, and every `throttleEvery`-th call (0: none) answered 429 with `Retry-After: retryAfter`.
    public func chaos(errorRate: Double, hangRate: Double, hangSeconds: Double, throttleEvery: Int, retryAfter: Int = 1) async throws {
        let config = try JSONSerialization.data(withJSONObject: ["error_rate": errorRate, "hang_rate": hangRate, "hang_seconds": hangSeconds,
                                                                 "throttle_every": throttleEvery, "retry_after": retryAfter])
        let result = try await runProcess(["curl", "-s", "-f", "--max-time", "10", "-X", "POST", "--data-binary", "@-", endpoint + "/_chaos"],
                                    input: String(decoding: config, as: UTF8.self))
        guard result.status == 0 else { throw MotoServerError("could not set chaos: \(result.stderr)") }
    }

    /// How many faults of each kind chaos injected (`500`, `hang`, `429`).
    public func chaosCounts() async throws -> [String: Int] {
        let result = try await runProcess(["curl", "-s", "-f", "--max-time", "10", endpoint + "/_chaos"])
        guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Int] else {
            throw MotoServerError("the fault proxy did not answer: \(result.stderr)")
        }
        return object
    }

    /// How many requests a rule has applied to so far.
    public func hits() async throws -> Int {
        let result = try await runProcess(["curl", "-s", "-f", "--max-time", "10", endpoint + "/_fault"])
        guard result.status == 0, let count = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw MotoServerError("the fault proxy did not answer: \(result.stderr)")
        }
        return count
    }

    /// Kills the proxy by PID and removes its directory (swift-subprocess reaps it).
    public func stop() {
        process.kill(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let script = #"""
    import http.client, json, random, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    PORT = int(sys.argv[1])
    TARGET = urlsplit(sys.argv[2])
    rules = []
    hits = [0]
    chaos = {"error_rate": 0.0, "hang_rate": 0.0, "hang_seconds": 3.0, "throttle_every": 0, "retry_after": 1}
    injected = {"500": 0, "hang": 0, "429": 0}
    calls = [0]
    rng = random.Random(0x5EED)
    lock = threading.Lock()
    ERROR = b"<Response><Errors><Error><Code>InternalError</Code><Message>chaos: injected failure</Message></Error></Errors></Response>"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *args): pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path == "/_chaos":
                if self.command == "POST":
                    with lock: chaos.update(json.loads(body))
                    return self.reply(200, b"ok")
                with lock: data = json.dumps(injected).encode()
                return self.reply(200, data, "application/json")
            if self.path == "/_fault":
                if self.command == "POST":
                    with lock: rules.append(json.loads(body))
                    return self.reply(200, b"ok")
                with lock: count = hits[0]
                return self.reply(200, str(count).encode())
            text = self.command + " " + self.path + "\n" + body.decode("utf-8", "replace")
            rule = None
            with lock:
                for r in rules:
                    if r["count"] > 0 and r["match"] in text:
                        r["count"] -= 1
                        hits[0] += 1
                        rule = r
                        break
            if rule and rule["mode"] == "respond":
                return self.reply(rule["status"], rule["body"].encode(), "text/xml")
            if rule and rule["mode"] == "delay":
                time.sleep(rule.get("seconds", 2))
            fault, after = None, False
            if not rule and not self.path.startswith("/moto-api"):
                with lock:
                    calls[0] += 1
                    every = int(chaos["throttle_every"])
                    roll = rng.random()
                    after = rng.random() < 0.5
                    if every > 0 and calls[0] % every == 0:
                        fault = "429"
                    elif roll < chaos["error_rate"]:
                        fault = "500"
                    elif roll < chaos["error_rate"] + chaos["hang_rate"]:
                        fault = "hang"
                    if fault: injected[fault] += 1
            if fault == "429":
                self.send_response(429)
                self.send_header("Retry-After", str(chaos["retry_after"]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if fault and not after:
                if fault == "hang":
                    time.sleep(chaos["hang_seconds"])
                    self.close_connection = True
                    return
                return self.reply(500, ERROR, "text/xml")
            conn = http.client.HTTPConnection(TARGET.hostname, TARGET.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
            conn.request(self.command, self.path, body=body, headers=headers)
            upstream = conn.getresponse()
            data = upstream.read()
            if rule and rule["mode"] == "lose":
                self.close_connection = True
                return
            if fault == "hang":
                time.sleep(chaos["hang_seconds"])
                self.close_connection = True
                return
            if fault == "500":
                return self.reply(500, ERROR, "text/xml")
            self.send_response(upstream.status)
            for k, v in upstream.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def reply(self, status, data, kind="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
    """#
}
