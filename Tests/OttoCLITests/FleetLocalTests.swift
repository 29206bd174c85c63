import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Fleet units placed by otto's own scheduler on real local machines (systemd-nspawn), through the `otto` binary:
/// spreading under `Conflicts`, units no machine can take, `Global` units on a machine added later, `MachineOf`,
/// a re-apply that changes nothing, a machine that stops answering for less and for longer than `lost_after`
/// (its stale copy stopped only after the replacement runs), a deleted machine, and a SIGKILLed apply.
@Suite(.serialized, .enabled(if: geteuid() == 0), .tags(.machines), .endToEnd) struct FleetLocalTests {
    static let bridge = "otto-t8", subnet = "10.213.0.208/28"

    static func site(count: Int, instances: String) -> String {
        """
        site: f
        domain: f.test
        provider: local
        machines:
          web: { count: \(count), image: base, labels: { role: web } }
        fleet:
          lost_after: 15s
          units:
            - { file: units/web@.service, instances: "\(instances)" }
            - { file: units/agent.service }
            - { file: units/helper.service }
        """
    }

    static let webUnit = """
        [Unit]
        Description=web instance %i

        [Service]
        ExecStart=/bin/sleep infinity

        [X-Fleet]
        Conflicts=web@*.service
        """
    static let agentUnit = "[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nGlobal=true\nMachineMetadata=role=web\n"
    static let helperUnit = "[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nMachineOf=web@1.service\n"

    /// Runs `command` inside machine `name` without SSH (its sshd may be stopped): nsenter into the container's init.
    static func inside(_ name: String, _ command: [String]) async throws -> ProcessResult {
        let pidFile = MachineProject.stateDir + "/machines/" + name + "/nspawn.pid"
        let nspawn = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(nspawn)/task/\(nspawn)/children", encoding: .utf8)
        guard let pid1 = children.split(separator: " ").first else { throw PowerDNSServerError("\(name): no container init") }
        return try await runProcess(["nsenter", "-t", String(pid1), "-m", "-u", "-i", "-n", "-p"] + command)
    }

    /// Which units run on each machine (`systemctl is-active` of every unit name asked about).
    static func running(_ machines: [String], _ units: [String]) async throws -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for m in machines {
            let r = try await inside(m, ["systemctl", "is-active"] + units)
            let states = r.stdout.split(separator: "\n").map(String.init)
            out[m] = Set(zip(units, states).filter { $0.1 == "active" }.map(\.0))
        }
        return out
    }

    /// Where each unit runs; a unit running on two machines appears twice.
    static func placements(_ running: [String: Set<String>]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (m, units) in running { for u in units { out[u, default: []].append(m) } }
        return out.mapValues { $0.sorted() }
    }

    @Test func schedulesSpreadsReplacesAndSurvivesLostMachines() async throws {
        let p = try MachineProject(site: "f", bridge: Self.bridge, subnet: Self.subnet)
        try FileManager.default.createDirectory(atPath: p.dir + "/units", withIntermediateDirectories: true)
        try p.write("units/web@.service", Self.webUnit)
        try p.write("units/agent.service", Self.agentUnit)
        try p.write("units/helper.service", Self.helperUnit)
        try p.write("sites/f.yml", Self.site(count: 3, instances: "1..3"))
        try await p.sweep((0..<4).map { ("web[\($0)]", "f-web-\($0)") })
        let names = ["web@1.service", "web@2.service", "web@3.service", "web@4.service", "web@5.service", "agent.service", "helper.service"]
        let three = ["f-web-0", "f-web-1", "f-web-2"], four = three + ["f-web-3"]
        try await withCleanup {
            // web@1..3 with Conflicts=web@*: one per machine; agent on every machine; helper beside web@1.
            var r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            var at = Self.placements(try await Self.running(three, names))
            #expect(at["web@1.service"] == ["f-web-0"] && at["web@2.service"] == ["f-web-1"] && at["web@3.service"] == ["f-web-2"], "\(at)")
            #expect(at["agent.service"] == three, "\(at)")
            #expect(at["helper.service"] == at["web@1.service"], "\(at)")

            // A re-apply changes nothing: no change planned, no unit file rewritten.
            let before = try await p.ssh("web[0]", "stat -c %Y /etc/systemd/system/web@1.service").stdout
            r = try await p.otto("plan", "--detailed-exitcode")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0 && r.stdout.contains("No changes"), "\(r.stdout.suffix(2000))")
            #expect(try await p.ssh("web[0]", "stat -c %Y /etc/systemd/system/web@1.service").stdout == before)

            // web@1..5 on 3 machines: 3 placed, 2 reported with the constraint that blocks them; the apply succeeds.
            try p.write("sites/f.yml", Self.site(count: 3, instances: "1..5"))
            r = try await p.otto("plan")
            #expect(r.stdout.components(separatedBy: "cannot be placed").count - 1 == 2, "\(r.stdout)")
            #expect(r.stdout.contains("Conflicts=web@*.service"), "\(r.stdout)")
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")

            // A machine added later: the Global unit runs there too, and web@4 goes there; nothing else moves.
            try p.write("sites/f.yml", Self.site(count: 4, instances: "1..5"))
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(four, names))
            #expect(at["agent.service"] == four, "\(at)")
            #expect(at["web@4.service"] == ["f-web-3"] && at["web@5.service"] == nil, "\(at)")
            #expect(at["web@1.service"] == ["f-web-0"] && at["web@2.service"] == ["f-web-1"] && at["web@3.service"] == ["f-web-2"], "\(at)")

            // Back to web@1..3: web@4 and web@5 go; f-web-3 keeps only the agent.
            try p.write("sites/f.yml", Self.site(count: 4, instances: "1..3"))
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")

            // f-web-1 stops answering SSH for less than lost_after: nothing moves.
            #expect(try await Self.inside("f-web-1", ["systemctl", "stop", "ssh.service", "ssh.socket"]).status == 0)
            let down = Date()
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(four, names))
            #expect(at["web@2.service"] == ["f-web-1"], "\(at)")
            // Longer: web@2 moves to the only machine it may use; its old copy keeps running while f-web-1 is away.
            let wait = 16 - Date().timeIntervalSince(down)
            if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(four, names))
            #expect(at["web@2.service"] == ["f-web-1", "f-web-3"], "\(at)")
            // It comes back: the stale copy is stopped (its replacement already runs), and only then.
            #expect(try await Self.inside("f-web-1", ["systemctl", "start", "ssh.service"]).status == 0)
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(four, names))
            #expect(at["web@2.service"] == ["f-web-3"], "\(at)")
            #expect(at["agent.service"] == four, "\(at)")
            r = try await p.otto("plan", "--detailed-exitcode")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")

            // Delete the machine web@2 runs on: it is placed again in the same apply, and runs once.
            try p.write("sites/f.yml", Self.site(count: 3, instances: "1..3"))
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(three, names))
            #expect(at["web@2.service"] == ["f-web-1"], "\(at)")
            #expect(at["web@1.service"]?.count == 1 && at["web@3.service"]?.count == 1, "\(at)")

            // `otto status` lists the units like `fleetctl list-units`: unit, machine, active and sub state.
            r = try await p.otto("status")
            #expect(r.stdout.contains("FLEET UNITS"), "\(r.stdout)")
            #expect(r.stdout.contains(/web@2\.service\s+f-web-1\s+launched\s+active\s+running/), "\(r.stdout)")

            // Replace the machine web@2 runs on: the new machine runs it after the same apply, and a plan after it is empty.
            r = try await p.otto("apply", "--auto-approve", "--replace", "machine.f.web[1]")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(three, names))
            #expect(at["web@2.service"] == ["f-web-1"] && at["agent.service"] == three, "\(at)")
            r = try await p.otto("plan", "--detailed-exitcode")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")

            // A unit systemd-analyze does not accept fails alone, naming its installed path, and is never written.
            try p.write("sites/f.yml", Self.site(count: 3, instances: "1..3")
                        + "\n    - { name: bad.service, text: \"[Service]\\nExecStart=/bin/true\\nBogusKey=1\\n\" }\n")
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 1 && r.stdout.contains("does not verify") && r.stdout.contains("/etc/systemd/system/bad.service"),
                    "\(r.stdout.suffix(3000))\n\(r.stderr)")
            #expect(r.stdout.contains("1 failed"), "\(r.stdout.suffix(1000))")
            #expect(try await Self.inside("f-web-0", ["sh", "-c", "ls /etc/systemd/system/bad.service /tmp/otto-unit.* 2>/dev/null | wc -l"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "0")
            try p.write("sites/f.yml", Self.site(count: 3, instances: "1..3"))

            // `otto serve` puts back a unit stopped behind its back, on its schedule.
            let serve = try await ServeProcess.start(dir: p.dir, environment: p.environment, interval: "2s")
            #expect(try await Self.inside("f-web-1", ["systemctl", "stop", "web@2.service"]).status == 0)
            let restarted = await serve.wait(seconds: 30) {
                (try? await Self.running(["f-web-1"], ["web@2.service"]))?["f-web-1"]?.contains("web@2.service") == true
            }
            #expect(restarted, "\(serve.log.suffix(3000))")
            #expect(await serve.stop() == 0)

            // Applies killed at several points (refresh, verify, write, reload, start): the next one converges and a
            // plan after it is empty.
            for (i, delay) in [300, 700, 1100, 1600, 2200].enumerated() {
                try p.write("units/web@.service", Self.webUnit.replacingOccurrences(of: "sleep infinity", with: "sleep \(86_400 + i)"))
                let child = try await ChildProcess.start([CLIProject.binary, "apply", "--auto-approve", "--dir", p.dir], environment: p.environment)
                try await Task.sleep(for: .milliseconds(delay))
                child.kill(SIGKILL)
                _ = await child.waitForExit()
            }
            r = try await p.otto("apply", "--auto-approve")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            r = try await p.otto("plan", "--detailed-exitcode")
            #expect(r.status == 0, "\(r.stdout.suffix(3000))\n\(r.stderr)")
            at = Self.placements(try await Self.running(three, names))
            #expect(at["web@1.service"]?.count == 1 && at["web@2.service"]?.count == 1 && at["web@3.service"]?.count == 1, "\(at)")
            #expect(try await p.ssh("web[0]", "grep -c 'sleep 86404' /etc/systemd/system/web@1.service").stdout.hasPrefix("1"))
        } cleanup: {
            _ = try? await p.otto("destroy", "--auto-approve")
            _ = try? await runProcess(["ip", "link", "del", Self.bridge])
        }
    }
}
