import Foundation
import OttoCore
import OttoProviders
import OttoTestSupport
import OttoTestTags
import Testing

/// Golden AMIs and a whole site on AWS, through the real binary, against moto_server behind `MotoMachineProxy`, whose
/// instances are real local machines (bridge `otto-t7`, 10.213.0.240/28, machines `cmo-<id>`): the recipes build
/// into AMIs once and never again while unchanged; a run killed at any step is settled by the next with no extra key
/// pair or security group; a site made from the AMIs converges over SSH with pinned, rotated host keys and serves
/// through haproxy.
@Suite(.serialized,
       .enabled(if: geteuid() == 0, "instances backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn"), "systemd-nspawn is not installed (Debian package systemd-container)"),
       .tags(.machines, .moto), .endToEnd)
struct AWSImageCLITests {
    static let settings = LocalSettings(subnet: IPv4Subnet(parsing: "10.213.0.240/28")!, bridge: "otto-t7", stateDir: "/var/lib/otto-test")
    /// The base AMI in this cloud: Debian with sudo, nginx, haproxy and python3 already in (no network on the machines).
    static var debian: ImageRecipe {
        var recipe = MotoMachineProxy.debian12
        recipe.packages += ["nginx", "haproxy", "socat", "python3"]
        return recipe
    }

    static func inventory(_ endpoint: String) -> String {
        """
        providers:
          aws:
            type: aws
            region: us-east-1
            endpoint: \(endpoint)
            ssh_key: keys/otto
            ssh_user: root
            base_image: \(MotoServer.ubuntuXenialAMI)
            rate_limit: 1000
            burst: 1000
            route53_rate_limit: 1000
            route53_burst: 1000
            timeout: 10
        """
    }

    /// Runs `body` with moto, the proxy and a project pointed at the proxy; everything made on the host goes afterwards.
    func withCloud(_ body: (MotoServer, MotoMachineProxy, CLIProject) async throws -> Void) async throws {
        let machines = try await MotoMachineProxy.machines(settings: Self.settings, amis: [MotoServer.ubuntuXenialAMI], recipe: Self.debian,
                                                           prefix: "cmo-") { print("[image] \($0)") }
        try await machines.cleanUp()
        var failure: (any Error)?
        do {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            let proxy = try await MotoMachineProxy.start(moto: moto.endpoint, machines: machines)
            do {
                let p = try CLIProject(inventory: Self.inventory(proxy.endpoint), environment: AWSCLITests.environment)
                try await p.makeSSHKey()
                try CloudImageCLITests.recipes(p)
                try await body(moto, proxy, p)
                await proxy.settle()
                #expect(await proxy.failures() == [])
            } catch {
                failure = error
            }
            await proxy.settle()
            await proxy.stop()
        } catch {
            failure = failure ?? error
        }
        do { try await machines.cleanUp() } catch { Issue.record("cleaning up: \(error)") }
        let namespaces = (try? await runProcess(["ip", "netns", "list"]).stdout) ?? ""
        #expect(!namespaces.contains("cmo-"), "namespaces left: \(namespaces)")
        if let failure { throw failure }
    }

    /// What exists in moto: instances ever launched, live builders, AMIs (name → hash tag), key pairs, security groups.
    func census(_ moto: MotoServer) async throws -> (launched: Int, builders: Int, images: [String: String], keyPairs: Int, groups: Int) {
        let out = try await motoQuery(moto.endpoint, """
            inst = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
            live = [i for i in inst if i["State"]["Name"] not in ("terminated", "shutting-down") and any(t["Key"] == "otto:build" for t in i.get("Tags", []))]
            images = {i["Name"]: next((t["Value"] for t in i.get("Tags", []) if t["Key"] == "otto:image_hash"), "") for i in ec2.describe_images(Owners=["self"])["Images"]}
            out = dict(launched=len(inst), builders=len(live), images=images, keys=len(ec2.describe_key_pairs()["KeyPairs"]),
                       groups=len(ec2.describe_security_groups()["SecurityGroups"]))
            """) as? [String: Any] ?? [:]
        return (out["launched"] as? Int ?? -1, out["builders"] as? Int ?? -1, out["images"] as? [String: String] ?? [:],
                out["keys"] as? Int ?? -1, out["groups"] as? Int ?? -1)
    }

    @Test func amisBuildOnceAndASiteConvergesFromThem() async throws {
        try await withCloud { moto, _, p in
            let groupsBefore = try await census(moto).groups
            let first = try await p.run("images", "build")
            #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
            let built = try await census(moto)
            #expect(built.launched == 3 && built.builders == 0, "\(built)")
            #expect(built.images.count == 3 && built.images.values.allSatisfy { $0.count == 64 }, "\(built.images)")
            #expect(built.keyPairs == 1 && built.groups == groupsBefore, "no key pair or group per build")

            let again = try await p.run("images", "build")
            #expect(again.status == 0 && again.stdout.components(separatedBy: "cached").count - 1 == 3, "\(again.stdout)\n\(again.stderr)")
            let unchanged = try await census(moto)
            #expect(unchanged.launched == 3 && unchanged.images.count == 3, "0 RunInstances, 0 CreateImage: \(unchanged)")

            // One changed byte in web: exactly one more builder and AMI; prune then deletes the old web AMI.
            try CloudImageCLITests.recipes(p, webRole: "web2")
            let changed = try await p.run("images", "build")
            #expect(changed.status == 0, "\(changed.stderr)")
            let afterChange = try await census(moto)
            #expect(afterChange.launched == 4 && afterChange.images.count == 4 && afterChange.builders == 0, "\(afterChange)")
            let pruned = try await p.run("images", "prune")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(try await census(moto).images.count == 3)

            try p.write("sites/api/www/index.html", "<p>api</p>\n")
            try p.write("sites/api.yml", """
                site: api
                domain: api.test
                provider: aws
                machines:
                  web: { count: 2, image: web, size: t3.micro }
                  lb:  { count: 1, image: lb, size: t3.micro }
                nginx:
                  on: web
                  server_name: api.test
                  root: /srv/www/api
                  content: sites/api/www
                  directives:
                    - "add_header X-Served-By $hostname always;"
                    - "location = /healthz { return 200 \\"ok\\\\n\\"; }"
                haproxy:
                  on: lb
                  bind: ":80"
                  backend: web
                  health: { path: /healthz, interval: 1s }
                units:
                  - { name: api-worker.service, on: web, exec: "/usr/bin/python3 -m http.server 9000 --bind 127.0.0.1", restart: always }
                dns:
                  provider: aws
                  records:
                    - { name: "@", type: A, to: lb }
                """)
            let apply = try await p.run("apply", "--auto-approve")
            #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
            #expect(try await census(moto).images.count == 3, "the machines run from the built AMIs, nothing rebuilt")

            let lb = try #require(stateAttribute(try await p.run("state", "show", "machine.api.lb[0]").stdout, "ipv4"))
                .replacingOccurrences(of: "\"", with: "")
            var servedBy = Set<String>()
            var last = ""
            for _ in 0..<20 where servedBy.count < 2 {
                let r = try await runProcess(["curl", "-s", "-m", "5", "-D", "-", "http://\(lb)/"])
                last = r.stdout + r.stderr
                if r.stdout.contains("<p>api</p>"),
                   let line = r.stdout.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("x-served-by:") }) {
                    servedBy.insert(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(servedBy.count == 2, "served by \(servedBy); the last answer: \(last)")

            let second = try await p.run("plan", "--detailed-exitcode")
            #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")

            // Pins moved to keys made on the instances; the boot keys are unpinned; no private key in the state.
            let pins = try await motoQuery(moto.endpoint, """
                inst = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"] if i["State"]["Name"] == "running"]
                out = [{t["Key"]: t["Value"] for t in i.get("Tags", [])} for i in inst]
                """) as? [[String: String]] ?? []
            #expect(pins.count == 3)
            #expect(pins.allSatisfy { $0["otto:host_key"]?.hasPrefix("ssh-ed25519 ") == true && $0["otto:host_key_boot"] == nil }, "\(pins)")
            for machine in ["machine.api.web[0]", "machine.api.web[1]", "machine.api.lb[0]"] {
                let state = try await p.run("state", "show", machine)
                let pinned = try #require(stateAttribute(state.stdout, "host_key")).replacingOccurrences(of: "\"", with: "")
                #expect(pins.contains { $0["otto:host_key"] == pinned }, "\(machine)")
            }
            let stateBytes = try Data(contentsOf: URL(fileURLWithPath: p.dir + "/.otto/state.db"))
            #expect(stateBytes.range(of: Data("PRIVATE KEY".utf8)) == nil)

            // A key changed behind otto's back is refused; replacing the machine is the way back.
            let web1 = try #require(stateAttribute(try await p.run("state", "show", "machine.api.web[1]").stdout, "ipv4"))
                .replacingOccurrences(of: "\"", with: "")
            let rekey = try await runProcess(["ssh", "-i", p.dir + "/keys/otto", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                              "-o", "BatchMode=yes", "root@\(web1)",
                                              "sudo -n sh -c 'rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N \"\" -f /etc/ssh/ssh_host_ed25519_key && systemctl reload ssh'"])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            try p.write("sites/api/www/index.html", "<p>api 2</p>\n")
            let refused = try await p.run("apply", "--auto-approve")
            #expect(refused.status != 0)
            #expect((refused.stdout + refused.stderr).contains("host key for \(web1):22 changed"), "\(refused.stdout)\n\(refused.stderr)")
            let replaced = try await p.run("apply", "--auto-approve", "--replace", "machine.api.web[1]")
            #expect(replaced.status == 0, "\(replaced.stdout)\n\(replaced.stderr)")

            let destroyed = try await p.run("destroy", "--auto-approve")
            #expect(destroyed.status == 0, "\(destroyed.stdout)\n\(destroyed.stderr)")
        }
    }

    /// `otto images build` SIGKILLed right after RunInstances of the builder, while it provisions, and right after
    /// CreateImage (its next request is held by the proxy, so the kill lands there however busy the machine is): the
    /// next run leaves one AMI per recipe, no builder, one key pair and no new security group.
    @Test(arguments: ["created", "provisioning", "image"])
    func aKilledBuildIsSettledByTheNextRun(point: String) async throws {
        try await withCloud { moto, proxy, p in
            try p.write("images/web.yml", "image: web\nfrom: base\nrun: [\"sleep 2\", \"echo done > /etc/otto-web\"]\n")
            try FileManager.default.removeItem(atPath: p.dir + "/images/lb.yml")
            let groupsBefore = try await census(moto).groups
            if point == "image" { await proxy.holdRequests(after: "CreateImage") }
            let run = try await p.start("images", "build", "base")
            let deadline = Date().addingTimeInterval(180)
            var reached = false
            while Date() < deadline && run.isRunning {
                switch point {
                case "created":
                    reached = try await census(moto).launched >= 1
                case "provisioning":
                    let tagged = try await motoQuery(moto.endpoint, """
                        out = sum(1 for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                                  if any(t["Key"] == "otto:host_key" for t in i.get("Tags", [])))
                        """) as? Int ?? 0
                    reached = tagged >= 1
                default:
                    reached = await proxy.parkedRequests() > 0
                }
                if reached { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(reached, "otto ended before \(point): \(run.log())")
            run.kill(SIGKILL)
            _ = await run.waitForExit()
            await proxy.releaseParked()
            if point == "image" { #expect(try await census(moto).images.count == 1, "the killed run's CreateImage was answered") }
            if point == "provisioning" {
                // A second builder of the same image, as a launch repeated after a lost answer leaves on a cloud that
                // ignores ClientToken (moto does): the next run deletes it too.
                let second = try await motoQuery(moto.endpoint, """
                    b = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                         if any(t["Key"] == "otto:build" for t in i.get("Tags", [])) and i["State"]["Name"] not in ("terminated", "shutting-down")][0]
                    r = ec2.run_instances(ImageId=b["ImageId"], MinCount=1, MaxCount=1, InstanceType=b["InstanceType"],
                                          TagSpecifications=[{"ResourceType": "instance", "Tags": b["Tags"]}])
                    out = r["Instances"][0]["InstanceId"]
                    """) as? String
                #expect(second != nil)
                #expect(try await census(moto).builders == 2)
            }

            let next = try await p.run("images", "build")
            #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
            let after = try await census(moto)
            #expect(after.images.count == 2 && after.images.values.allSatisfy { $0.count == 64 }, "\(after.images)")
            #expect(after.builders == 0, "\(next.stdout)\n\(next.stderr)")
            #expect(after.keyPairs == 1 && after.groups == groupsBefore)
            let third = try await p.run("images", "build")
            #expect(third.stdout.components(separatedBy: "cached").count - 1 == 2, "\(third.stdout)")
        }
    }
}
