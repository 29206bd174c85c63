import Foundation
import OttoTestSupport
import OttoTestTags
import Synchronization
import Testing

/// `otto serve` correcting drift on real local machines: a file changed, a service stopped and a DNS record deleted
/// behind otto's back are all put back within one interval (policy `correct`), or reported and left alone (`report`).
@Suite(.serialized, .enabled(if: geteuid() == 0), .tags(.machines, .powerDNS, .liveServer), .endToEnd) struct MachineDriftTests {
    static func site(_ policy: String) -> String {
        """
        site: d
        domain: d.test
        provider: local
        machines:
          web: { count: 1, image: web }
        nginx: { on: web, root: /srv/www/d, content: sites/t/www }
        units:
          - { name: d-worker.service, on: web, exec: "/usr/bin/python3 -m http.server 9001 --bind 127.0.0.1", restart: always }
        files:
          - { on: web, path: /etc/otto-test/motd, content: "managed by otto\\n" }
        dns:
          provider: powerdns
          records:
            - { name: "@", type: A, to: web }
            - { name: www, type: CNAME, value: d.test. }
        drift: \(policy)
        """
    }

    /// Changes the file, stops the service and deletes the CNAME, behind otto's back.
    static func tamper(_ p: MachineProject, _ pdns: PowerDNSServer) async throws {
        #expect(try await p.ssh("web[0]", "echo defaced > /etc/otto-test/motd && systemctl stop d-worker.service").status == 0)
        let body = #"{"rrsets":[{"name":"www.d.test.","type":"CNAME","changetype":"DELETE"}]}"#
        let r = try await runProcess(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PATCH", "-H", "X-API-Key: \(pdns.apiKey)",
                                "-H", "Content-Type: application/json", "--data", body, pdns.apiURL + "/api/v1/servers/localhost/zones/d.test."])
        #expect(r.stdout == "204")
    }

    /// The file's content, the service's state and the CNAME, on the machine and in DNS now.
    struct Observed: Equatable {
        var file: String
        var service: String
        var cname: [String]
        init(_ file: String, _ service: String, _ cname: [String]) { self.file = file; self.service = service; self.cname = cname }
    }

    static func observed(_ p: MachineProject, _ pdns: PowerDNSServer) async throws -> Observed {
        let file = try await p.ssh("web[0]", "cat /etc/otto-test/motd").stdout
        let service = try await p.ssh("web[0]", "systemctl is-active d-worker.service").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return Observed(file, service, try await pdns.dig("www.d.test", "CNAME"))
    }

    @Test func serveCorrectsFileServiceAndDNSDriftWithinOneInterval() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try MachineProject(site: "d", bridge: "otto-t2", subnet: "10.213.0.128/27", extraInventory: """
              powerdns: { type: powerdns, url: "\(pdns.apiURL)", api_key_env: OTTO_TEST_PDNS_KEY }
            """)
        p.extraEnvironment.withLock { $0["OTTO_TEST_PDNS_KEY"] = pdns.apiKey }
        try p.write("sites/d.yml", Self.site("correct"))
        // run 20 of make test under load found d-web-0 left behind, adopted it half torn down and could not reach it
        try await p.sweep([("web[0]", "d-web-0")])
        try await withCleanup {
            let apply = try await p.otto("apply", "--auto-approve")
            #expect(apply.status == 0, "\(apply.stdout.suffix(2000))\n\(apply.stderr)")
            #expect(try await Self.observed(p, pdns) == Observed("managed by otto\n", "active", ["d.test."]))

            // Policy correct: all three are put back within one interval (4 s) and the run that did it.
            var serve = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "4s")
            #expect(await serve.wait(seconds: 30) { (try? await serve.metric("otto_runs_total{outcome=\"ok\"}")) ?? 0 >= 1 }, "\(serve.log.suffix(3000))")
            try await Self.tamper(p, pdns)
            let tampered = Date()
            #expect(await serve.wait(seconds: 25) { (try? await Self.observed(p, pdns)) == Observed("managed by otto\n", "active", ["d.test."]) },
                    "\(serve.log.suffix(4000))")
            let took = Date().timeIntervalSince(tampered)
            #expect(took < 4 + 15, "corrected after \(took) s")
            #expect(try await serve.metric("otto_drift_corrected_total") ?? 0 >= 3)
            var dom = try await serve.renderedStatusPage()
            for address in ["file.d./etc/otto-test/motd.web[0]", "unit.d.d-worker.service.web[0]", "dns_record.d.www.CNAME"] {
                #expect(dom.contains(address), "\(address) is not on the page")
            }
            #expect(dom.components(separatedBy: ">corrected<").count - 1 >= 3)
            #expect(await serve.stop() == 0)

            // Policy report: found, shown, counted, and left as it is.
            try p.write("sites/d.yml", Self.site("report"))
            serve = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "2s")
            defer { serve.terminate() }
            try await Self.tamper(p, pdns)
            #expect(await serve.wait(seconds: 25) { (try? await serve.metric("otto_drift_reported_total")) ?? 0 >= 3 }, "\(serve.log.suffix(4000))")
            try await Task.sleep(for: .seconds(3))  // at least one more interval: still nothing touched
            #expect(try await Self.observed(p, pdns) == Observed("defaced\n", "inactive", []))
            #expect(try await serve.metric("otto_drift_corrected_total") == 0)
            dom = try await serve.renderedStatusPage()
            #expect(dom.components(separatedBy: ">reported<").count - 1 >= 3)
        } cleanup: {
            _ = try? await p.otto("destroy", "--auto-approve")
            _ = try? await runProcess(["ip", "link", "del", "otto-t2"])
        }
    }
}
