import Foundation
import OttoTestTags
import Synchronization
import OttoTestSupport
import Testing

/// A project of real local machines (systemd-nspawn) on a test bridge, driven through the `otto` binary.
final class MachineProject: Sendable {
    /// The project's directory (removed with the project).
    let scratch: TempDir
    var dir: String { scratch.path }
    /// The site whose machines `attribute` and `ssh` name.
    let siteName: String
    /// The local provider's state directory (images, machines): `OTTO_TEST_STATE_DIR` lets a machine test run beside
    /// another run of the suite without sharing one.
    static let stateDir = ProcessInfo.processInfo.environment["OTTO_TEST_STATE_DIR"] ?? "/var/lib/otto-test"
    static let bridge = "otto-t1"
    static let subnet = "10.213.0.192/27"

    /// A project of site `t` on bridge `otto-t1`; other suites pass their own site, bridge and subnet (and write
    /// their own site file) so that they never share machines.
    init(site: String = "t", bridge: String = MachineProject.bridge, subnet: String = MachineProject.subnet,
         extraInventory: String = "") throws {
        siteName = site
        scratch = try TempDir(prefix: "otto-machines")
        for sub in ["sites/t/www", "inventory", "images"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try write("inventory/local.yml", """
            providers:
              local: { type: local, subnet: \(subnet), bridge: \(bridge), state_dir: \(Self.stateDir) }
            \(extraInventory)
            """)
        try write("images/base.yml", "image: base\nbase: { suite: bookworm }\npackages: [python3, curl]\n")
        try write("images/web.yml", "image: web\nfrom: base\npackages: [nginx]\nrun: [\"rm -f /etc/nginx/sites-enabled/default\"]\n")
        try write("images/lb.yml", "image: lb\nfrom: base\npackages: [haproxy, socat]\n")
        try write("sites/t/www/index.html", "<p>Served by <b><!--# echo var=\"hostname\" --></b></p>\n")
        try write("sites/t/www/about.html", "<p>about</p>\n")
        try write("sites/t/www/robots.txt", "User-agent: *\n")
        if site == "t" { try self.site() }
    }


    /// The payload: quotes, a command substitution, backticks and newlines that must arrive as text and never run.
    static let payload = "it's \"quoted\" $(touch /tmp/otto-pwned) `touch /tmp/otto-pwned2`\nsecond line\\n\n"

    func site(directives: [String] = ["ssi on;", "location = /healthz { return 200 \"ok\\\\n\"; }"]) throws {
        let d = directives.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ", ")
        let payload = MachineProject.payload.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        try write("sites/t.yml", """
            site: t
            domain: t.test
            provider: local
            machines:
              web: { count: 2, image: web }
              lb:  { count: 1, image: lb }
            nginx: { on: web, root: /srv/www/t, content: sites/t/www, directives: [\(d)] }
            haproxy: { on: lb, backend: web, health: { path: /healthz, interval: 1s } }
            units:
              - { name: t-worker.service, on: web, exec: "/usr/bin/python3 -m http.server 9000 --bind 127.0.0.1", restart: always }
            files:
              - { on: web, path: /etc/otto-test/payload.txt, content: "\(payload)", mode: "0640" }
            """)
    }

    /// Machines an earlier run on this host left behind (a run killed before its cleanup, or a cleanup that failed)
    /// go first, so that a test starts from nothing: each of `machines` (address in the site, provider name) that
    /// exists is imported into this project's state, then everything is destroyed. `arguments` go to every command
    /// (`--env NAME`).
    func sweep(_ machines: [(address: String, name: String)], _ arguments: String...) async throws {
        for (address, name) in machines where FileManager.default.fileExists(atPath: Self.stateDir + "/machines/" + name) {
            let imported = try await runProcess([CLIProject.binary, "state", "import", "machine.\(siteName).\(address)", name, "--dir", dir]
                                                + arguments, environment: environment)
            guard imported.status == 0 else { throw PowerDNSServerError("cannot import leftover \(name): \(imported.stdout)\n\(imported.stderr)") }
        }
        let destroyed = try await runProcess([CLIProject.binary, "destroy", "--auto-approve", "--dir", dir] + arguments, environment: environment)
        guard destroyed.status == 0 else { throw PowerDNSServerError("cannot destroy leftovers: \(destroyed.stdout)\n\(destroyed.stderr)") }
    }

    func write(_ path: String, _ text: String) throws { try text.write(toFile: dir + "/" + path, atomically: true, encoding: .utf8) }

    @discardableResult
    func otto(_ args: String...) async throws -> ProcessResult {
        try await runProcess([CLIProject.binary] + args + ["--dir", dir], environment: environment)
    }

    /// Extra environment for otto (a PowerDNS key).
    let extraEnvironment = Mutex<[String: String]>([:])
    var environment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["NO_COLOR": "1"]) { $1 }.merging(extraEnvironment.withLock { $0 }) { $1 }
    }

    /// A machine's recorded attribute (from `otto state show`).
    func attribute(_ machine: String, _ name: String) async throws -> String {
        let show = try await otto("state", "show", "machine.\(siteName).\(machine)").stdout
        for line in show.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix(name + " = ") {
            return String(line.split(separator: "=", maxSplits: 1)[1]).trimmingCharacters(in: CharacterSet(charactersIn: " \""))
        }
        throw PowerDNSServerError("machine.\(siteName).\(machine) has no \(name) in state:\n\(show)")
    }

    /// Runs a command in a machine with the system ssh client, checking the pinned host key.
    @discardableResult
    func ssh(_ machine: String, _ command: String) async throws -> ProcessResult {
        let ip = try await attribute(machine, "ipv4"), key = try await attribute(machine, "host_key")
        let known = dir + "/known_hosts"
        try "\(ip) \(key)\n".write(toFile: known, atomically: true, encoding: .utf8)
        return try await runProcess(["ssh", "-i", Self.stateDir + "/ssh/id_ed25519", "-o", "UserKnownHostsFile=\(known)",
                               "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "root@\(ip)", command])
    }

    /// The servers seen behind the load balancer once both web machines serve: haproxy checks a server it has just been
    /// given every 2 s, and on a loaded machine one check can fail, taking that server out until its next one passes
    /// (run 13 of make test under load). Waits up to 15 s for both; returns the last requests' servers either way.
    func servedByBoth() async throws -> [String] {
        let deadline = Date().addingTimeInterval(15)
        var served = try await servedBy()
        while Set(served) != ["t-web-0", "t-web-1"] && Date() < deadline {
            try await Task.sleep(for: .milliseconds(500))
            served = try await servedBy()
        }
        return served
    }

    /// Who served each of `n` requests through the load balancer.
    func servedBy(_ n: Int = 6) async throws -> [String] {
        let lb = try await attribute("lb[0]", "ipv4")
        var servers: [String] = []
        for _ in 0..<n {
            let page = try await runProcess(["curl", "-s", "-m", "5", "http://\(lb)/"]).stdout
            servers.append(page.firstMatch(of: /Served by <b>([^<]*)</)?.1.description ?? "(none: \(page.prefix(80)))")
        }
        return servers
    }
}

@Suite(.serialized, .enabled(if: geteuid() == 0), .tags(.machines, .powerDNS), .endToEnd) struct MachineEndToEndTests {
    @Test func demoConvergesDriftIsPutBackAndFailuresStayLocal() async throws {
        let p = try MachineProject()
        try await p.sweep([("web[0]", "t-web-0"), ("web[1]", "t-web-1"), ("lb[0]", "t-lb-0")])
        try await withCleanup {
            // Apply from nothing: machines, content, nginx, haproxy, units, files.
            let first = try await p.otto("apply", "--auto-approve")
            #expect(first.status == 0, "\(first.stdout.suffix(2000))\n\(first.stderr)")
            let servedFirst = try await p.servedByBoth()
            #expect(Set(servedFirst) == ["t-web-0", "t-web-1"], "\(servedFirst)")
            #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)

            // YAML values reach the file byte for byte, and nothing in them ran.
            let payload = try await p.ssh("web[0]", "cat /etc/otto-test/payload.txt; stat -c %a /etc/otto-test/payload.txt; ls /tmp/otto-pwned /tmp/otto-pwned2 2>&1")
            #expect(payload.stdout.hasPrefix(MachineProject.payload))
            #expect(payload.stdout.contains("\n640\n"))
            #expect(payload.stdout.contains("No such file"))

            // The same machine as a static host in another project: configured over SSH, checked against known_hosts,
            // never created or deleted; a static host that does not answer is reported unreachable.
            let staticDir = p.dir + "/static"
            for sub in ["sites", "inventory"] { try FileManager.default.createDirectory(atPath: staticDir + "/" + sub, withIntermediateDirectories: true) }
            let ip0 = try await p.attribute("web[0]", "ipv4")
            let key0 = try await p.attribute("web[0]", "host_key")
            try "\(ip0) \(key0)\n".write(toFile: staticDir + "/known_hosts", atomically: true, encoding: .utf8)
            try """
                providers:
                  static: { type: static, known_hosts: \(staticDir)/known_hosts }
                hosts:
                  box:   { address: \(ip0), user: root, key: \(MachineProject.stateDir)/ssh/id_ed25519, groups: [boxes] }
                  ghost: { address: 10.213.0.222, user: root, key: \(MachineProject.stateDir)/ssh/id_ed25519, groups: [ghosts] }
                """.write(toFile: staticDir + "/inventory/hosts.yml", atomically: true, encoding: .utf8)
            try """
                site: s
                domain: s.test
                provider: static
                machines:
                  boxes: { count: 1 }
                files:
                  - { on: boxes, path: /etc/otto-test/static.txt, content: "configured as a static host\\n" }
                """.write(toFile: staticDir + "/sites/s.yml", atomically: true, encoding: .utf8)
            let staticApply = try await runProcess([CLIProject.binary, "apply", "--auto-approve", "--dir", staticDir])
            #expect(staticApply.status == 0, "\(staticApply.stdout)\(staticApply.stderr)")
            #expect(try await p.ssh("web[0]", "cat /etc/otto-test/static.txt").stdout == "configured as a static host\n")
            #expect(try await runProcess([CLIProject.binary, "plan", "--detailed-exitcode", "--dir", staticDir]).status == 0)
            try """
                site: g
                domain: g.test
                provider: static
                machines:
                  ghosts: { count: 1 }
                """.write(toFile: staticDir + "/sites/g.yml", atomically: true, encoding: .utf8)
            let status = try await runProcess([CLIProject.binary, "status", "--dir", staticDir]).stdout
            #expect(status.contains("machine.g.ghosts[0]") && status.contains("unreachable"), "\(status)")
            #expect(try await runProcess([CLIProject.binary, "destroy", "--auto-approve", "--target", "file", "--dir", staticDir]).status == 0)
            #expect(try await p.ssh("web[0]", "test -e /etc/otto-test/static.txt || echo gone").stdout == "gone\n")

            // Drift behind otto's back shows as exactly those changes, and apply puts it back.
            try await p.ssh("web[0]", "echo '# hand edit' >> /etc/nginx/sites-enabled/otto-t.conf")
            try await p.ssh("lb[0]", "systemctl stop haproxy")
            try await p.ssh("web[1]", "rm /srv/www/t/about.html && chmod 0600 /srv/www/t/robots.txt && chmod 0700 /srv/www/t")
            try await p.ssh("web[0]", "systemctl disable --now t-worker.service && rm /etc/systemd/system/t-worker.service && systemctl daemon-reload")
            let drift = try await p.otto("plan", "--detailed-exitcode")
            #expect(drift.status == 2)
            let changed = drift.stdout.split(separator: "\n").filter { $0.hasPrefix("  ~ ") || $0.hasPrefix("  + ") || $0.hasPrefix("  - ") }
                .map { String($0.split(separator: " ")[1]) }.sorted()
            #expect(changed == ["directory.t.content.web[1]", "nginx_site.t.web[0]", "service.t.haproxy.lb[0]", "unit.t.t-worker.service.web[0]"],
                    "\(drift.stdout)")
            #expect(drift.stdout.contains("Plan: 1 to create, 3 to update, 0 to replace, 0 to delete"))
            let repair = try await p.otto("apply", "--auto-approve")
            #expect(repair.status == 0, "\(repair.stdout.suffix(2000))")
            #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)
            #expect(try await p.ssh("web[1]", "cat /srv/www/t/about.html").stdout == "<p>about</p>\n")
            #expect(try await p.ssh("web[1]", "stat -c %a /srv/www/t /srv/www/t/robots.txt").stdout == "755\n644\n")
            #expect(try await p.ssh("lb[0]", "systemctl is-active haproxy").stdout == "active\n")

            // A bad nginx directive fails that resource with nginx's own words; the old configuration keeps serving.
            try p.site(directives: ["ssi on;", "location = /healthz { return 200 \"ok\\\\n\"; }", "bogus_directive on;"])
            let bad = try await p.otto("apply", "--auto-approve")
            #expect(bad.status == 1)
            #expect(bad.stdout.contains("unknown directive \"bogus_directive\""), "\(bad.stdout.suffix(2000))")
            #expect(bad.stdout.contains("nginx_site.t.web[0]: updating FAILED"))
            let servedAgain = try await p.servedByBoth()
            #expect(Set(servedAgain) == ["t-web-0", "t-web-1"], "\(servedAgain)")
            try p.site()
            #expect(try await p.otto("plan", "--detailed-exitcode").status == 0)

            // A changed host key is refused with a clear message: the key pinned when web[0] was created no longer matches.
            let record = MachineProject.stateDir + "/machines/t-web-0/machine.json"
            let original = try Data(contentsOf: URL(fileURLWithPath: record))
            let other = p.dir + "/other"
            _ = try await runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other])
            let otherKey = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
            var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            #expect(json["hostKey"] as? String == (try await p.attribute("web[0]", "host_key")))
            json["hostKey"] = otherKey
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: record))
            try p.write("sites/t/www/new.html", "<p>new</p>\n")
            let refused = try await p.otto("apply", "--auto-approve")
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("host key for") && refused.stdout.contains("changed"), "\(refused.stdout.suffix(2000))")
            #expect(refused.stdout.contains("directory.t.content.web[1]: updated"))
            try original.write(to: URL(fileURLWithPath: record))
            #expect(try await p.otto("apply", "--auto-approve").status == 0)

            // A stopped machine fails its own resources; the others converge; exit 1 with a summary.
            _ = try? await p.ssh("web[1]", "systemctl poweroff")
            try await Task.sleep(for: .seconds(3))
            try p.write("sites/t/www/later.html", "<p>later</p>\n")
            let partial = try await p.otto("apply", "--auto-approve")
            #expect(partial.status == 1)
            #expect(partial.stdout.contains("directory.t.content.web[0]: updated"), "\(partial.stdout.suffix(2000))")
            #expect(partial.stdout.contains("directory.t.content.web[1]: updating FAILED"))
            #expect(partial.stdout.contains("Apply finished with errors:"))
            #expect(try await p.ssh("web[0]", "cat /srv/www/t/later.html").stdout == "<p>later</p>\n")

            // Replacing the stopped machine brings it back, and the load balancer follows its new address.
            let replaced = try await p.otto("apply", "--auto-approve", "--replace", "machine.t.web[1]")
            #expect(replaced.status == 0, "\(replaced.stdout.suffix(2000))")
            let after = try await p.otto("plan", "--detailed-exitcode")
            #expect(after.status == 0, "\(after.stdout.suffix(3000))")
            // haproxy kept the old machine's DOWN state across the reload (its server-state file) and takes the new one
            // in after its health checks pass (`rise`, 2 checks at 1 s): allow those few seconds, no more.
            var served: [String] = []
            for _ in 0..<20 {
                served = try await p.servedBy(8)
                if Set(served) == ["t-web-0", "t-web-1"] { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(Set(served) == ["t-web-0", "t-web-1"], "\(served)\n\(replaced.stdout.suffix(3000))")

            // Destroy removes every machine.
            let destroy = try await p.otto("destroy", "--auto-approve")
            #expect(destroy.status == 0, "\(destroy.stdout.suffix(2000))")
            let left = (try? FileManager.default.contentsOfDirectory(atPath: MachineProject.stateDir + "/machines")) ?? []
            #expect(!left.contains { $0.contains("t-web") || $0.contains("t-lb") })
        } cleanup: {
            _ = try? await p.otto("destroy", "--auto-approve")
            _ = try? await runProcess(["ip", "link", "del", MachineProject.bridge])
        }
    }
}
