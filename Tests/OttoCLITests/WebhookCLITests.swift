import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// The deployment ledger's webhooks through `otto serve`: a receiver on loopback that answers 500 for a while, and
/// checks every signature itself (Python's hmac, not otto's code); every event arrives, at least once, across a
/// restart of `otto serve` in the middle of the retries.
@Suite(.serialized, .tags(.liveServer), .endToEnd) struct WebhookCLITests {
    static let secret = "whsec-0123456789abcdef0123456789"

    /// The receiver: one JSON line per request (event, delivery, signature valid or not, status answered) in `log`;
    /// answers 500 while the file `fail` exists, else 204.
    static let receiver = #"""
        import hashlib, hmac, http.server, json, os, sys, time
        port, log, fail, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3], os.environ["HOOK_SECRET"].encode()
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                sig = dict(p.split("=", 1) for p in self.headers.get("X-Otto-Signature", "").split(",") if "=" in p)
                want = hmac.new(secret, sig.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
                valid = hmac.compare_digest(want, sig.get("v1", "")) and abs(time.time() - int(sig.get("t", "0"))) < 300
                status = 500 if os.path.exists(fail) else 204
                with open(log, "a") as f:
                    f.write(json.dumps({"event": self.headers.get("X-Otto-Event"), "delivery": self.headers.get("X-Otto-Delivery"),
                                        "valid": valid, "status": status, "body": json.loads(body)}) + "\n")
                self.send_response(status); self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
        """#

    static func received(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func everyEventArrivesSignedDespiteFailuresAndARestart() async throws {
        let p = try CLIProject(inventory: "hosts:\n  h1: { address: 192.0.2.1 }\n", environment: ["OTTO_TEST_HOOK_SECRET": Self.secret])
        let port = freeLoopbackPort()
        let log = p.dir + "/received.jsonl", fail = p.dir + "/fail"
        try "".write(toFile: fail, atomically: true, encoding: .utf8)
        try p.write("webhooks/ci.yml", """
            webhook: ci
            url: http://127.0.0.1:\(port)/hooks/otto
            secret_env: OTTO_TEST_HOOK_SECRET
            """)
        let receiver = try await ChildProcess.start(["python3", "-c", Self.receiver, String(port), log, fail],
                                                    environment: ["HOOK_SECRET": Self.secret, "PATH": "/usr/bin:/bin"])
        defer { receiver.kill(SIGKILL) }
        var serve = try await ServeProcess.start(p, interval: "off")
        let digest = String(repeating: "ab", count: 32)
        let registered = try await serve.send("POST", "/v1/artifacts",
                                              body: #"{"name": "hello", "version": "1.0.0", "digest": "\#(digest)", "deploy_to": "default"}"#)
        #expect(registered.status == 201, "\(registered.body)")
        #expect(try await serve.send("PATCH", "/v1/deployments/1", body: #"{"state": "STARTED"}"#).status == 200)
        #expect(try await serve.send("PATCH", "/v1/deployments/1", body: #"{"state": "COMPLETED"}"#).status == 200)
        // The receiver fails: each event is tried, and tried again.
        let retried = await serve.wait(seconds: 20) {
            let answers = Self.received(log)
            return Set(answers.map { $0["delivery"] as? String ?? "" }).count == 3 && answers.count >= 4
        }
        #expect(retried, "\(Self.received(log))")
        let log1 = try await serve.get("/v1/webhooks/deliveries").body
        #expect(log1.contains("\"last_status\":500") && log1.contains("\"delivered_at\":null"), "\(log1)")
        #expect(await serve.stop() == 0)

        // Restarted, with the receiver back: everything queued is delivered, nothing is lost.
        try FileManager.default.removeItem(atPath: fail)
        serve = try await ServeProcess.start(p, interval: "off")
        let delivered = await serve.wait(seconds: 60) {
            Set(Self.received(log).filter { $0["status"] as? Int == 204 }.map { $0["event"] as? String ?? "" }).count == 3
        }
        let answers = Self.received(log)
        #expect(delivered, "\(answers)\n\(serve.log)")
        #expect(answers.allSatisfy { $0["valid"] as? Bool == true }, "every signature checks out")
        let kinds = answers.filter { $0["status"] as? Int == 204 }.compactMap { $0["event"] as? String }
        #expect(Set(kinds) == ["deployment.created", "deployment.started", "deployment.completed"])
        let completed = answers.first { $0["event"] as? String == "deployment.completed" }?["body"] as? [String: Any]
        #expect((completed?["deployment"] as? [String: Any])?["state"] as? String == "COMPLETED")
        let after = try await serve.get("/v1/webhooks/deliveries").body
        #expect(!after.contains("\"delivered_at\":null"), "\(after)")
        #expect(!serve.log.contains(Self.secret))
        let served = try await serve.get("/v1/deployments").body
        #expect(await serve.stop() == 0)

        // `otto history` reads the same ledger: the API's JSON shape with --json, a table without.
        let history = try await p.otto("history", "--json")
        #expect(history.status == 0, "\(history.stderr)")
        let fromCLI = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? NSDictionary
        let fromAPI = try JSONSerialization.jsonObject(with: Data(served.utf8)) as? NSDictionary
        #expect(fromCLI != nil && fromCLI == fromAPI)
        let table = try await p.otto("history", "--app", "hello", "--in", "default").stdout
        #expect(table.hasPrefix("#  APP    VERSION  DIGEST        ENVIRONMENT  STATE      CREATED"), "\(table)")
        #expect(table.contains("1  hello  1.0.0    abababababab  default      COMPLETED"), "\(table)")
        #expect(try await p.otto("history", "--in", "production").stdout == "No deployments yet.\n")
    }
}
