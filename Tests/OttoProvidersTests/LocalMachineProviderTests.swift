import Foundation
import OttoConfig
import OttoCore
import OttoTestTags
import Testing
@testable import OttoProviders

@Suite(.serialized, .enabled(if: geteuid() == 0, "the local provider needs root"), .tags(.machines), .endToEnd)
struct LocalMachineProviderTests {
    func makeProvider() throws -> LocalMachineProvider {
        LocalMachineProvider(name: "local", settings: LocalTestSupport.settings, recipes: try LocalTestSupport.recipes(),
                             projectRoot: "/nonexistent")
    }

    func machine(_ name: String, image: String = "tweb", size: String = "small") -> Resource {
        Resource(address: ResourceAddress(kind: "machine", name: name), provider: "local", attributes: [
            "name": .string(name), "group": .string("web"), "image": .string(image), "size": .string(size), "region": .string("here"),
        ])
    }

    func request(_ r: Resource, id: String? = nil) -> ObserveRequest {
        ObserveRequest(address: r.address, providerID: id, attributes: r.attributes)
    }

    /// Runs ssh as otto would, pinning the host key the provider reported.
    func ssh(_ provider: LocalMachineProvider, _ observed: ObservedResource, _ command: String) async throws -> LocalCommand.Output {
        let ip = observed.attributes["ipv4"]!.stringValue!, key = observed.attributes["host_key"]!.stringValue!
        let knownHosts = provider.machineDirectory(observed.providerID) + "/../test-known-hosts-\(observed.providerID)"
        try "\(ip) \(key)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: knownHosts) }
        return try await LocalCommand.run(["ssh", "-i", provider.clientKeyPath, "-o", "StrictHostKeyChecking=yes",
                                           "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "BatchMode=yes",
                                           "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", "root@\(ip)", command], check: false)
    }

    /// Deletes what a test made, whatever happened, and the test bridge once no machine is left.
    func cleanUp(_ provider: LocalMachineProvider, _ names: [String]) async {
        for n in names {
            try? await provider.delete(ResourceAddress(kind: "machine", name: n), current: ObservedResource(providerID: n, attributes: [:]))
        }
        _ = try? await provider.removeBridgeIfUnused()
    }

    @Test func bootObserveRebootAndDelete() async throws {
        let provider = try makeProvider()
        let m = machine("lt-web-0")
        await cleanUp(provider, ["lt-web-0"])
        _ = try await provider.images.build("tweb", recipes: try LocalTestSupport.recipes(), projectRoot: "/") { print("[image] \($0)") }
        var start = Date()
        let created = try await provider.create(m)
        print("[timing] first boot to ssh banner: \(LocalTestSupport.seconds(since: start))")
        do {
            let ip = try #require(created.attributes["ipv4"]?.stringValue)
            let address = try #require(IPv4Subnet.parseAddress(ip))
            #expect(LocalTestSupport.settings.subnet.contains(address))
            #expect(address != LocalTestSupport.settings.subnet.gateway)
            #expect(created.attributes["mac"] == .string(IPv4Subnet.mac(for: address)))
            #expect(created.attributes["running"] == .bool(true))
            #expect(created.attributes["size"] == .string("small"))
            #expect(created.attributes["ssh_user"] == .string("root"))
            #expect(SSHBanner.answers(ip))
            // the guest's eth0 carries the derived MAC
            let link = try await LocalCommand.run(["ip", "-n", LocalNames.netns("lt-web-0", scope: LocalTestSupport.settings.scope), "-o", "link", "show", "eth0"])
            #expect(link.text.contains(created.attributes["mac"]!.stringValue!))
            // host_key is the key file inside the machine
            let dir = provider.machineDirectory("lt-web-0")
            let pub = try String(contentsOfFile: dir + "/merged/etc/ssh/ssh_host_ed25519_key.pub", encoding: .utf8)
            let hostKey = try #require(created.attributes["host_key"]?.stringValue)
            #expect(hostKey.hasPrefix("ssh-ed25519 AAAA"))
            #expect(pub.split(separator: " ").prefix(2).joined(separator: " ") == hostKey)
            #expect(created.attributes["image_id"] == .string(try provider.images.identify("tweb", recipes: try LocalTestSupport.recipes(), projectRoot: "/")[0].id))

            // a new provider instance (otto restarted) observes the same machine
            let again = try makeProvider()
            let seen = try await again.observe(kind: "machine", [request(m), request(machine("lt-absent-0"))])
            #expect(seen.count == 1)
            #expect(seen[m.address] == created)

            // ssh with the pinned key works; the image's layer is in place; the hostname is the machine's
            let hello = try await ssh(provider, created, "hostname; cat /etc/otto-built; systemctl is-system-running --wait || true")
            #expect(hello.status == 0, "\(hello.text)")
            #expect(hello.text.hasPrefix("lt-web-0\nbuilt\n"))

            // a guest reboot comes back (the supervisor restarts nspawn), same host key
            let before = LocalHost.readPid(dir + "/nspawn.pid")
            start = Date()
            _ = try await ssh(provider, created, "systemctl reboot")
            let deadline = Date().addingTimeInterval(60)
            while LocalHost.readPid(dir + "/nspawn.pid") == before && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
            #expect(LocalHost.readPid(dir + "/nspawn.pid") != before)
            var back = false
            while !back && Date() < deadline {
                back = try await ssh(provider, created, "true").status == 0
                if !back { try await Task.sleep(for: .milliseconds(200)) }
            }
            print("[timing] guest reboot to ssh: \(LocalTestSupport.seconds(since: start))")
            #expect(back)
            #expect(provider.isRunning("lt-web-0"))

            // update records size in place
            let updated = try await provider.update(machine("lt-web-0", size: "large"), current: created, changed: ["size"])
            #expect(updated.attributes["size"] == .string("large"))
            #expect(try await again.observe(kind: "machine", [request(m)])[m.address]?.attributes["size"] == .string("large"))
        } catch {
            await cleanUp(provider, ["lt-web-0"])
            throw error
        }

        start = Date()
        try await provider.delete(m.address, current: created)
        print("[timing] delete: \(LocalTestSupport.seconds(since: start))")
        let dir = provider.machineDirectory("lt-web-0")
        #expect(!FileManager.default.fileExists(atPath: dir))
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/" + LocalNames.netns("lt-web-0", scope: LocalTestSupport.settings.scope)))
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(LocalNames.veth("lt-web-0", scope: LocalTestSupport.settings.scope))"))
        #expect(!LocalHost.mountPoints().contains(dir + "/merged"))
        for root in LocalHost.cgroupRoots { #expect(!FileManager.default.fileExists(atPath: "\(root)/" + LocalNames.cgroup("lt-web-0", scope: LocalTestSupport.settings.scope))) }
        #expect(try await provider.observe(kind: "machine", [request(m)]).isEmpty)
        try await provider.delete(m.address, current: created) // already gone: fine
        #expect(try await provider.removeBridgeIfUnused())
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(LocalTestSupport.bridge)"))
    }

    @Test func twoMachinesGetDifferentAddressesAndAStoppedMachineRestarts() async throws {
        let provider = try makeProvider()
        let names = ["lt-pair-0", "lt-pair-1"]
        await cleanUp(provider, names)
        do {
            let start = Date()
            async let a = provider.create(machine(names[0]))
            async let b = provider.create(machine(names[1], image: "tnginx"))
            let (ma, mb) = try await (a, b)
            print("[timing] two machines in parallel to ssh banner: \(LocalTestSupport.seconds(since: start))")
            #expect(ma.attributes["ipv4"] != mb.attributes["ipv4"])
            #expect(ma.attributes["mac"] != mb.attributes["mac"])
            for m in [ma, mb] { #expect(SSHBanner.answers(m.attributes["ipv4"]!.stringValue!)) }
            // the package's service runs in the machine built from that image, reachable from the host
            var code = ""
            let deadline = Date().addingTimeInterval(30)
            while code != "200" && Date() < deadline {
                code = try await LocalCommand.run(["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}",
                                                   "http://\(mb.attributes["ipv4"]!.stringValue!)/"], check: false).text
                if code != "200" { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(code == "200")

            // stopped like after a host reboot (processes, mount and netns gone): observed with running false
            try await provider.stop(names[0])
            _ = try await LocalCommand.run(["ip", "netns", "del", LocalNames.netns(names[0], scope: LocalTestSupport.settings.scope)])
            let r0 = machine(names[0])
            let seen = try await makeProvider().observe(kind: "machine", [request(r0)])
            #expect(seen[r0.address]?.attributes["running"] == .bool(false))
            #expect(seen[r0.address]?.attributes["ipv4"] == ma.attributes["ipv4"])
            // update starts it again at the same address
            let restarted = try await provider.update(r0, current: seen[r0.address]!, changed: [])
            #expect(restarted.attributes["running"] == .bool(true))
            #expect(restarted.attributes["ipv4"] == ma.attributes["ipv4"])
            #expect(SSHBanner.answers(ma.attributes["ipv4"]!.stringValue!))
        } catch {
            await cleanUp(provider, names)
            throw error
        }
        let start = Date()
        await cleanUp(provider, names)
        print("[timing] delete two machines: \(LocalTestSupport.seconds(since: start))")
        for n in names { #expect(!FileManager.default.fileExists(atPath: provider.machineDirectory(n))) }
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(LocalTestSupport.bridge)"))
    }
}
