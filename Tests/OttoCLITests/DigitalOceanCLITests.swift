import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Droplets, SSH keys, domains and records through the real binary against the fake DigitalOcean (API v2).
@Suite(.serialized, .tags(.digitalOcean), .endToEnd) struct DigitalOceanCLITests {
    static let token = "dop_v1_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()

    /// A site of `count` web droplets with DNS at DigitalOcean; the apex follows the droplets' addresses.
    static func site(count: Int = 2, size: String = "s-1vcpu-1gb", image: String = "debian-12-x64") -> String {
        """
        site: shop
        domain: shop.test
        provider: do
        machines:
          web: { count: \(count), image: \(image), size: \(size) }
        dns:
          provider: do
          ttl: 300
          records:
            - { name: "@", type: A, to: web }
            - { name: www, type: CNAME, value: shop.test. }
            - { name: "@", type: MX, values: ["10 mail", "20 mail2.shop.test."] }
            - { name: "@", type: TXT, value: "v=spf1 -all" }
            - { name: _sip._tcp, type: SRV, value: "10 5 5060 sip" }
        """
    }

    static func inventory(_ server: FakeDigitalOceanServer, timeout: Double = 5) -> String {
        """
        providers:
          do:
            type: digitalocean
            token_env: OTTO_TEST_DO_TOKEN
            endpoint: \(server.baseURL)
            region: nyc3
            ssh_key: keys/otto
            host_keys: known_hosts
            rate_limit: 1000
            burst: 1000
            timeout: \(timeout)
        """
    }

    static func start() async throws -> (FakeDigitalOceanServer, CLIProject) {
        let server = try await FakeDigitalOceanServer.start(FakeDigitalOcean(token: token, actionSeconds: 0.1))
        let p = try CLIProject(inventory: inventory(server), environment: ["OTTO_TEST_DO_TOKEN": token])
        try await p.makeSSHKey()
        try p.write("sites/shop.yml", site())
        return (server, p)
    }

    /// Droplets carrying otto's tag, by name.
    static func ours(_ fake: FakeDigitalOcean) async -> [String: FakeDropletSummary] {
        var out: [String: FakeDropletSummary] = [:]
        for d in await fake.dropletSummaries() where d.tags.contains("otto") {
            #expect(out[d.name] == nil, "duplicate droplet \(d.name)")
            out[d.name] = d
        }
        return out
    }

    @Test func lifecycleThroughTheCLI() async throws {
        let (server, p) = try await Self.start()
        defer { Task { await server.stop() } }
        let fake = server.fake
        // What someone else has in the account: never listed as otto's, never touched.
        let foreign = await fake.seedDroplets(count: 2, namePrefix: "prod-db-", tags: ["database"])
        await fake.seedDomain("other.test", records: [(name: "www", type: "A", data: "198.51.100.7")])
        let foreignKey = await fake.seedKey(name: "laptop", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkE3m3Dq2bQ6B1Jw5m1n8o3bR2tq7zJkqkqk0y8xZ0a laptop")

        // Create: the key, two droplets, the domain and its records, with the apex on the droplets' addresses.
        var r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("9 created"), "\(r.stdout)")
        var droplets = await Self.ours(fake)
        #expect(droplets.keys.sorted() == ["shop-web-0", "shop-web-1"])
        #expect(droplets.values.allSatisfy { $0.status == "active" && $0.size == "s-1vcpu-1gb" && $0.region == "nyc3" })
        #expect(await fake.keySummaries().map(\.name).contains("otto-do"))
        var lines = await fake.recordLines("shop.test")
        let ips = droplets.values.map(\.publicIPv4).sorted()
        #expect(lines.filter { $0.hasPrefix("@ 300 A ") }.map { String($0.split(separator: " ")[3]) }.sorted() == ips)
        // As DigitalOcean stores them: the apex as @, hostnames without the final dot, priorities in their own fields.
        #expect(lines.contains("www 300 CNAME @"))
        #expect(lines.contains("@ 300 MX 10 mail.shop.test"))
        #expect(lines.contains("@ 300 MX 20 mail2.shop.test"))
        #expect(lines.contains("_sip._tcp 300 SRV 10 5 5060 sip.shop.test"))
        #expect(lines.contains("@ 300 TXT v=spf1 -all"))

        // Converged: the next plan has nothing to do, and says how few calls its refresh took.
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("No changes"))
        #expect(r.stdout.contains("API calls (do: "), "\(r.stdout)")

        // Update in place: a new size is a resize of the same droplets.
        let before = droplets.mapValues(\.id)
        try p.write("sites/shop.yml", Self.site(size: "s-2vcpu-2gb"))
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 2)
        #expect(r.stdout.contains("~ machine.shop.web[0]"))
        #expect(r.stdout.contains("size: \"s-1vcpu-1gb\" → \"s-2vcpu-2gb\""))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        droplets = await Self.ours(fake)
        #expect(droplets.mapValues(\.id) == before)
        #expect(droplets.values.allSatisfy { $0.size == "s-2vcpu-2gb" && $0.status == "active" })
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)

        // A new image replaces the droplets; the apex record follows their new addresses.
        try p.write("sites/shop.yml", Self.site(size: "s-2vcpu-2gb", image: "ubuntu-24-04-x64"))
        r = try await p.run("plan")
        #expect(r.stdout.contains("-/+ machine.shop.web[1]"))
        #expect(r.stdout.contains("forces replacement"))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        droplets = await Self.ours(fake)
        #expect(droplets.count == 2)
        #expect(Set(droplets.values.map(\.id)).isDisjoint(with: before.values))
        #expect(droplets.values.allSatisfy { $0.image == "ubuntu-24-04-x64" })
        lines = await fake.recordLines("shop.test")
        #expect(lines.filter { $0.hasPrefix("@ 300 A ") }.map { String($0.split(separator: " ")[3]) }.sorted()
                == droplets.values.map(\.publicIPv4).sorted())
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)

        // Deleted behind otto's back: detected and recreated.
        let victim = try #require(droplets["shop-web-1"])
        #expect(await fake.removeDroplet(id: victim.id))
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 2)
        #expect(r.stdout.contains("+ machine.shop.web[1]"))
        #expect(r.stdout.contains("deleted outside otto"))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        droplets = await Self.ours(fake)
        #expect(droplets.count == 2 && droplets["shop-web-1"]?.id != victim.id)
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)

        // Fewer machines: the extra droplet is deleted (and the apex record shrinks with it).
        try p.write("sites/shop.yml", Self.site(count: 1, size: "s-2vcpu-2gb", image: "ubuntu-24-04-x64"))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("1 deleted"))
        #expect(await Self.ours(fake).keys.sorted() == ["shop-web-0"])

        // Destroy removes exactly what otto made.
        r = try await p.run("destroy", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(await Self.ours(fake).isEmpty)
        let left = await fake.dropletSummaries().map(\.id).sorted()
        #expect(left == foreign.sorted())
        #expect(await fake.domainNames() == ["other.test"])
        #expect(await fake.recordLines("other.test").contains { $0.hasPrefix("www ") && $0.hasSuffix(" A 198.51.100.7") })
        #expect(await fake.keySummaries().map(\.id) == [foreignKey].compactMap { $0 })
        #expect(try await p.run("state", "list").stdout.isEmpty)
        #expect(!(r.stdout + r.stderr).contains(Self.token))
    }

    @Test func importAdoptsAnExistingDropletAndRecord() async throws {
        let (server, p) = try await Self.start()
        defer { Task { await server.stop() } }
        let fake = server.fake
        // A droplet made by hand before otto (no otto tag): imported by id, then managed.
        let id = try #require(await fake.seedDroplets(count: 1, namePrefix: "shop-web-", tags: []).first)
        try p.write("sites/shop.yml", Self.site(count: 1))
        var r = try await p.run("state", "import", "machine.shop.web[0]", String(id))
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        r = try await p.run("state", "import", "machine.shop.web[0]", String(id))
        #expect(r.status == 1 && r.stderr.contains("already in the state"))
        r = try await p.run("state", "import", "machine.shop.web[0]", "999999")
        #expect(r.status == 1)
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        // No second droplet was made for it.
        #expect(await fake.dropletSummaries().filter { $0.name == "shop-web-0" }.map(\.id) == [id])
        let shown = try await p.run("state", "show", "machine.shop.web[0]")
        #expect(shown.stdout.contains("provider id: \(id)"))
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)
    }

    @Test func faultsOnEveryKindOfCallStillConvergeWithoutDuplicates() async throws {
        let server = try await FakeDigitalOceanServer.start(FakeDigitalOcean(token: Self.token, actionSeconds: 0.1))
        defer { Task { await server.stop() } }
        let fake = server.fake
        let p = try CLIProject(inventory: Self.inventory(server, timeout: 1), environment: ["OTTO_TEST_DO_TOKEN": Self.token])
        try await p.makeSSHKey()
        try p.write("sites/shop.yml", Self.site(count: 4))
        var faults = FakeDigitalOceanFaults()
        faults.errorRate = 0.1          // 500s
        faults.hangRate = 0.1           // no answer within the 1 s timeout
        faults.hangSeconds = 3
        faults.throttleEvery = 9        // 429 with Retry-After: 1
        faults.retryAfterSeconds = 1
        faults.loseCreates = 2          // the droplet is made, the answer never arrives
        faults.loseCreateMode = "drop"
        await fake.setFaults(faults)

        for round in 0..<2 {
            let r = try await p.run("apply", "--auto-approve")
            #expect(r.status == 0, "round \(round): \(r.stdout)\n\(r.stderr)")
            let droplets = await Self.ours(fake)
            #expect(droplets.keys.sorted() == (0..<4).map { "shop-web-\($0)" })
            #expect(await fake.dropletSummaries().count == 4)
            try p.write("sites/shop.yml", Self.site(count: 4, size: "s-2vcpu-2gb"))
        }
        let plan = try await p.run("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(await Self.ours(fake).values.allSatisfy { $0.size == "s-2vcpu-2gb" })
        // Every kind of fault really happened (the test proves nothing otherwise).
        let injected = await fake.injectedFaults()
        #expect((injected["500"] ?? 0) > 0 && (injected["hang"] ?? 0) > 0 && (injected["429"] ?? 0) > 0, "\(injected)")
        #expect(injected["lost_create"] == 2, "\(injected)")
        #expect(await p.stateCount("pending_creates") == 0)
    }

    @Test func applyKilledDuringCreatesLeavesNoDuplicate() async throws {
        // Droplets take 2 s to boot, so otto is killed while it waits on creates the API already made.
        let server = try await FakeDigitalOceanServer.start(FakeDigitalOcean(token: Self.token, actionSeconds: 2))
        defer { Task { await server.stop() } }
        let fake = server.fake
        let p = try CLIProject(inventory: Self.inventory(server), environment: ["OTTO_TEST_DO_TOKEN": Self.token])
        try await p.makeSSHKey()
        try p.write("sites/shop.yml", Self.site(count: 6))
        let child = try await p.start("apply", "--auto-approve", "--parallelism", "3")
        let deadline = Date().addingTimeInterval(20)
        while await fake.dropletSummaries().count < 3 && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        child.kill(SIGKILL)
        await child.waitForExit()
        let made = await fake.dropletSummaries().count
        #expect(made >= 3 && made < 6, "killed too late to test anything: \(made) droplets")
        // otto recorded each create before making it, and nothing it could not prove.
        #expect(await p.stateCount("pending_creates") >= 3)
        #expect(await p.stateCount("resources") < 6 + 2)

        // The killed otto's lock died with it (its row is left): the next commands need no force-unlock.
        #expect(await Self.lockID(p)?.isEmpty == false)
        var r = try await p.run("plan")
        #expect(r.stdout.contains("made by an interrupted run"), "\(r.stdout)")
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let droplets = await Self.ours(fake)
        #expect(droplets.keys.sorted() == (0..<6).map { "shop-web-\($0)" })
        #expect(await fake.dropletSummaries().count == 6)
        #expect(await p.stateCount("pending_creates") == 0)
        // The state records exactly the droplets that exist.
        for (name, droplet) in droplets {
            let index = name.split(separator: "-").last!
            let shown = try await p.run("state", "show", "machine.shop.web[\(index)]")
            #expect(shown.stdout.contains("provider id: \(droplet.id)"), "\(name): \(shown.stdout)")
        }
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)
    }

    /// The id of the lock row a killed otto left (its flock died with it).
    static func lockID(_ p: CLIProject) async -> String? {
        let r = try? await runProcess(["sqlite3", p.dir + "/.otto/state.db", "SELECT id FROM locks LIMIT 1"])
        return r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
