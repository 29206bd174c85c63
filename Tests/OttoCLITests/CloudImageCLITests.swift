import Foundation
import OttoCore
import OttoProviders
import OttoTestSupport
import OttoTestTags
import Testing

/// Golden images and a whole site on DigitalOcean, through the real binary, against the fake DigitalOcean whose droplets
/// are real local machines (`LocalDropletBacking`, bridge `otto-t6`, 10.213.0.0/27, machines `cdo-<id>`): the recipes
/// build into snapshots once and never again while unchanged; a run killed at any step is settled by the next; a site
/// of two web machines and a load balancer made from those images converges over SSH with pinned, rotated host keys
/// and serves through haproxy.
@Suite(.serialized,
       .enabled(if: geteuid() == 0, "droplets backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn"), "systemd-nspawn is not installed (Debian package systemd-container)"),
       .tags(.machines, .digitalOcean), .endToEnd)
struct CloudImageCLITests {
    static let token = "dop_v1_img_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    static let settings = LocalSettings(subnet: IPv4Subnet(parsing: "10.213.0.0/27")!, bridge: "otto-t6", stateDir: "/var/lib/otto-test")
    /// DigitalOcean's `debian-12-x64` in the fake: Debian with nginx, haproxy and python3 already in (the machines have
    /// no network to install packages from).
    static let debian = ImageRecipe(name: "cdo-debian-12", suite: "bookworm", packages: ["nginx", "haproxy", "socat", "python3"],
                                    location: SourceLocation(file: "CloudImageCLITests.swift", line: 1, column: 1))

    static func inventory(_ server: FakeDigitalOceanServer) -> String {
        """
        providers:
          do:
            type: digitalocean
            token_env: OTTO_TEST_DO_TOKEN
            endpoint: \(server.baseURL)
            region: nyc3
            ssh_key: keys/otto
            rate_limit: 1000
            burst: 1000
            timeout: 10
        """
    }

    static func recipes(_ p: CLIProject, webRole: String = "web") throws {
        try p.write("images/base.yml", "image: base\nrun: [\"echo base > /etc/otto-base\"]\n")
        try p.write("images/web.yml", """
            image: web
            from: base
            files:
              - { path: /etc/otto-role, content: "\(webRole)\\n" }
            run: ["rm -f /etc/nginx/sites-enabled/default"]
            """)
        try p.write("images/lb.yml", """
            image: lb
            from: base
            files:
              - { path: /etc/otto-role, content: "lb\\n" }
            run: ["systemctl disable --now nginx", "rm -f /etc/nginx/sites-enabled/default"]
            """)
    }

    /// Runs `body` with a fake DigitalOcean backed by local machines and a project pointed at it; everything the test
    /// made on the host is removed afterwards, whatever happened.
    func withCloud(_ body: (FakeDigitalOcean, FakeDigitalOceanServer, CLIProject) async throws -> Void) async throws {
        let backing = try await LocalDropletBacking.build(settings: Self.settings, slugs: ["debian-12-x64": Self.debian], prefix: "cdo-") {
            print("[image] \($0)")
        }
        try await backing.cleanUp()
        let fake = FakeDigitalOcean(token: Self.token, actionSeconds: 0.2, backing: backing)
        var failure: (any Error)?
        do {
            let server = try await FakeDigitalOceanServer.start(fake)
            do {
                let p = try CLIProject(inventory: Self.inventory(server), environment: ["OTTO_TEST_DO_TOKEN": Self.token])
                try await p.makeSSHKey()
                try Self.recipes(p)
                try await body(fake, server, p)
                await fake.settleBacking()
                #expect(await fake.backingFailures() == [])
            } catch {
                failure = error
            }
            await fake.settleBacking()
            await server.stop()
        } catch {
            failure = failure ?? error
        }
        do { try await backing.cleanUp() } catch { Issue.record("cleaning up: \(error)") }
        let namespaces = (try? await runProcess(["ip", "netns", "list"]).stdout) ?? ""
        #expect(!namespaces.contains("cdo-"), "namespaces left: \(namespaces)")
        if let failure { throw failure }
    }

    /// Images otto made in the fake, by name.
    func ottoImages(_ fake: FakeDigitalOcean) async -> [FakeImageSummary] {
        await fake.imageSummaries().filter { $0.name.hasPrefix("otto-") }
    }

    /// Droplets still alive that are image builders.
    func builders(_ fake: FakeDigitalOcean) async -> [FakeDropletSummary] {
        await fake.dropletSummaries().filter { $0.tags.contains("otto-builder") }
    }

    @Test func imagesBuildOnceAndAreReusedUntilARecipeChanges() async throws {
        try await withCloud { fake, _, p in
            let first = try await p.run("images", "build")
            #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
            var counts = await fake.requestCounts(), actions = await fake.actionCounts()
            #expect(counts["POST /v2/droplets"] == 3)
            #expect(actions["snapshot"] == 3)
            let images = await ottoImages(fake)
            #expect(images.count == 3)
            #expect(Set(images.map(\.name)).count == 3)
            #expect(images.allSatisfy { $0.tags.contains { $0.hasPrefix("otto-image:") } })
            #expect(await fake.dropletSummaries().isEmpty, "every builder is deleted")
            #expect(await fake.keySummaries().count == 1)

            // Unchanged: nothing is launched, nothing captured.
            let again = try await p.run("images", "build")
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.components(separatedBy: "cached").count - 1 == 3, "\(again.stdout)")
            counts = await fake.requestCounts()
            actions = await fake.actionCounts()
            #expect(counts["POST /v2/droplets"] == 3 && actions["snapshot"] == 3)

            // One changed byte in web: exactly one new image (base and lb unchanged).
            try Self.recipes(p, webRole: "web2")
            let changed = try await p.run("images", "build")
            #expect(changed.status == 0, "\(changed.stderr)")
            counts = await fake.requestCounts()
            actions = await fake.actionCounts()
            #expect(counts["POST /v2/droplets"] == 4 && actions["snapshot"] == 4)
            #expect(await ottoImages(fake).count == 4)

            // The old web image is no recipe's and no droplet's: prune deletes it, and only it.
            let listed = try await p.run("images", "list")
            #expect(listed.stdout.contains("no recipe produces it"), "\(listed.stdout)")
            let pruned = try await p.run("images", "prune")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(await ottoImages(fake).count == 3)
            #expect(await builders(fake).isEmpty)
        }
    }

    /// `otto images build` SIGKILLed right after the builder's create, while it provisions, and right after the
    /// snapshot action: the next run leaves exactly one image per recipe, no builder, and no extra key.
    @Test(arguments: ["created", "provisioning", "snapshot"])
    func aKilledBuildIsSettledByTheNextRun(point: String) async throws {
        try await withCloud { fake, _, p in
            try p.write("images/web.yml", "image: web\nfrom: base\nrun: [\"sleep 2\", \"echo done > /etc/otto-web\"]\n")
            try FileManager.default.removeItem(atPath: p.dir + "/images/lb.yml")
            let run = try await p.start("images", "build", "base")
            let deadline = Date().addingTimeInterval(120)
            var reached = false
            while Date() < deadline && run.isRunning {
                let counts = await fake.requestCounts(), actions = await fake.actionCounts()
                switch point {
                case "created": reached = (counts["POST /v2/droplets"] ?? 0) >= 1
                case "provisioning":
                    reached = await fake.dropletSummaries().contains { $0.tags.contains { $0.hasPrefix("otto-hostkey:") } }
                case "snapshot": reached = (actions["snapshot"] ?? 0) >= 1
                default: Issue.record("unknown point \(point)")
                }
                if reached { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(reached, "otto ended before \(point): \(run.log())")
            run.kill(SIGKILL)
            _ = await run.waitForExit()
            await fake.settleBacking()
            var killedRunsSnapshot: Int?
            if point == "snapshot" {
                // The snapshot the killed run asked for ends on DigitalOcean's side anyway.
                for _ in 0..<200 where killedRunsSnapshot == nil {
                    killedRunsSnapshot = await ottoImages(fake).first { $0.name.hasPrefix("otto-base-") }?.id
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(killedRunsSnapshot != nil)
            }

            let next = try await p.run("images", "build")
            #expect(next.status == 0, "\(next.stdout)\n\(next.stderr)")
            await fake.settleBacking()
            let images = await ottoImages(fake)
            #expect(images.count == 2 && Set(images.map(\.name)).count == 2, "\(images.map(\.name))")
            #expect(images.allSatisfy { $0.tags.contains { $0.hasPrefix("otto-image:") } })
            #expect(await builders(fake).isEmpty)
            #expect(await fake.dropletSummaries().isEmpty)
            #expect(await fake.keySummaries().count == 1)
            if let killedRunsSnapshot {
                #expect(images.first { $0.name.hasPrefix("otto-base-") }?.id == killedRunsSnapshot,
                        "the killed run's snapshot is used, not taken again")
            }
            let third = try await p.run("images", "build")
            #expect(third.stdout.components(separatedBy: "cached").count - 1 == 2)
        }
    }

    @Test func aSiteOnDigitalOceanConvergesFromItsImagesWithPinnedRotatedHostKeys() async throws {
        try await withCloud { fake, _, p in
            await fake.startRecording(to: p.dir + "/exchanges.jsonl")
            try p.write("sites/shop/www/index.html", "<p>shop</p>\n")
            try p.write("sites/shop.yml", """
                site: shop
                domain: shop.test
                provider: do
                machines:
                  web: { count: 2, image: web, size: s-1vcpu-1gb }
                  lb:  { count: 1, image: lb, size: s-1vcpu-1gb }
                nginx:
                  on: web
                  server_name: shop.test
                  root: /srv/www/shop
                  content: sites/shop/www
                  directives:
                    - "add_header X-Served-By $hostname always;"
                    - "location = /healthz { return 200 \\"ok\\\\n\\"; }"
                haproxy:
                  on: lb
                  bind: ":80"
                  backend: web
                  balance: roundrobin
                  health: { path: /healthz, interval: 1s }
                units:
                  - { name: shop-worker.service, on: web, exec: "/usr/bin/python3 -m http.server 9000 --bind 127.0.0.1", restart: always }
                dns:
                  provider: do
                  records:
                    - { name: "@", type: A, to: lb }
                """)
            let plan = try await p.run("plan")
            #expect(plan.stdout.contains("web@"), "machines plan with their recipe's image: \(plan.stdout)")
            let apply = try await p.run("apply", "--auto-approve")
            #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
            #expect(await fake.actionCounts()["snapshot"] == 3, "the images were built by the apply, once each")
            #expect(apply.stderr.contains("machine.shop.web[") && apply.stderr.contains("capturing otto-web-"),
                    "the apply tells the steps of the image builds it starts: \(apply.stderr)")

            // Requests through the load balancer reach both web machines.
            let shown = try await p.run("state", "show", "machine.shop.lb[0]")
            let lb = try #require(stateAttribute(shown.stdout, "ipv4")).replacingOccurrences(of: "\"", with: "")
            var servedBy = Set<String>()
            var last = ""
            for _ in 0..<20 where servedBy.count < 2 {
                let r = try await runProcess(["curl", "-s", "-m", "5", "-D", "-", "http://\(lb)/"])
                last = r.stdout + r.stderr
                if r.stdout.contains("<p>shop</p>"),
                   let line = r.stdout.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("x-served-by:") }) {
                    servedBy.insert(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces))
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(servedBy == ["shop-web-0", "shop-web-1"], "served by \(servedBy); the last answer: \(last)")
            #expect(await fake.recordLines("shop.test").contains { $0.contains("A") && $0.contains(lb) })

            // A second plan is empty.
            let second = try await p.run("plan", "--detailed-exitcode")
            #expect(second.status == 0, "\(second.stdout)\n\(second.stderr)")

            // Each machine's pinned key is the one made on it, not the one that travelled in user data.
            _ = try await fake.stopRecording()
            let exchanges = try String(contentsOfFile: p.dir + "/exchanges.jsonl", encoding: .utf8)
            var bootKeys = Set<String>()
            for line in exchanges.split(separator: "\n") where line.contains("ed25519_public") {
                for part in line.components(separatedBy: "ed25519_public: ").dropFirst() {
                    bootKeys.insert(part.split(separator: " ").prefix(2).joined(separator: " "))
                }
            }
            #expect(bootKeys.count >= 3, "user data of every machine carried a host key")
            for machine in ["machine.shop.web[0]", "machine.shop.web[1]", "machine.shop.lb[0]"] {
                let state = try await p.run("state", "show", machine)
                let pinned = try #require(stateAttribute(state.stdout, "host_key")).replacingOccurrences(of: "\"", with: "")
                #expect(pinned.hasPrefix("ssh-ed25519 "), "\(machine): \(state.stdout)")
                #expect(!bootKeys.contains(pinned), "\(machine): the boot key was replaced")
                #expect(stateAttribute(state.stdout, "host_key_pending") == "false")
            }
            let droplets = await fake.dropletSummaries()
            #expect(droplets.allSatisfy { !$0.tags.contains { $0.hasPrefix("otto-hostkey-boot:") } })
            #expect(droplets.allSatisfy { $0.tags.filter { $0.hasPrefix("otto-hostkey:") }.count == 1 })
            // The state, the plans and the output hold no private key.
            let stateBytes = try Data(contentsOf: URL(fileURLWithPath: p.dir + "/.otto/state.db"))
            #expect(stateBytes.range(of: Data("PRIVATE KEY".utf8)) == nil)
            #expect(!(apply.stdout + apply.stderr + plan.stdout).contains("PRIVATE KEY"))

            // A host key changed behind otto's back is refused, with the way out.
            let web0 = try #require(stateAttribute(try await p.run("state", "show", "machine.shop.web[0]").stdout, "ipv4"))
                .replacingOccurrences(of: "\"", with: "")
            let rekey = try await runProcess(["ssh", "-i", p.dir + "/keys/otto", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                              "-o", "BatchMode=yes", "root@\(web0)",
                                              "rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl reload ssh"])
            #expect(rekey.status == 0, "\(rekey.stderr)")
            try p.write("sites/shop/www/index.html", "<p>shop 2</p>\n")
            let refused = try await p.run("apply", "--auto-approve")
            #expect(refused.status != 0)
            #expect((refused.stdout + refused.stderr).contains("host key for \(web0):22 changed"), "\(refused.stdout)\n\(refused.stderr)")
            #expect((refused.stdout + refused.stderr).contains("otto apply --replace"))

            // The way out the message gives: replacing the machine pins the new machine's key, and all converges.
            let replaced = try await p.run("apply", "--auto-approve", "--replace", "machine.shop.web[0]")
            #expect(replaced.status == 0, "\(replaced.stdout)\n\(replaced.stderr)")
            let settled = try await p.run("plan", "--detailed-exitcode")
            #expect(settled.status == 0, "\(settled.stdout)\n\(settled.stderr)")

            let destroyed = try await p.run("destroy", "--auto-approve")
            #expect(destroyed.status == 0, "\(destroyed.stdout)\n\(destroyed.stderr)")
            #expect(await fake.dropletSummaries().isEmpty)
        }
    }
}
