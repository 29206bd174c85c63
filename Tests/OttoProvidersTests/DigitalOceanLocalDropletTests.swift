import Foundation
import OttoCore
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// The fake DigitalOcean with droplets that are real local machines (`LocalDropletBacking`): a droplet boots with the
/// host key its user data gives, answers SSH with it (and only it), is powered off, snapshotted, and a droplet made
/// from the snapshot has what was written on the first. Its own bridge and subnet (`otto-t6`, 10.213.0.0/27); built
/// images are shared with the other local machine tests (`/var/lib/otto-test`); machines are named `fdo-<id>`.
@Suite(.serialized,
       .enabled(if: geteuid() == 0, "droplets backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn"), "systemd-nspawn is not installed (Debian package systemd-container)"),
       .tags(.machines, .digitalOcean), .endToEnd)
struct DigitalOceanLocalDropletTests {
    static let settings = LocalSettings(subnet: IPv4Subnet(parsing: "10.213.0.0/27")!, bridge: "otto-t6", stateDir: LocalTestSupport.stateDir)
    static let prefix = "fdo-"

    /// otto's cloud-config for a machine whose host key is the pair at `keyPath`.
    static func hostKeyConfig(_ keyPath: String) throws -> String {
        let privateKey = try String(contentsOfFile: keyPath, encoding: .utf8)
        let publicKey = try SSHHostKey.read(publicKeyFile: keyPath + ".pub")
        let indented = privateKey.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return "#cloud-config\nssh_deletekeys: true\nssh_genkeytypes: []\nssh_keys:\n  ed25519_private: |\n\(indented)\n  ed25519_public: \(publicKey) otto\n"
    }

    @Test func dropletsAreLocalMachinesThatSnapshotAndBootFromSnapshots() async throws {
        let backing = try await LocalDropletBacking.build(settings: Self.settings, slugs: ["debian-12-x64": LocalDropletBacking.debian12],
                                                          prefix: Self.prefix) { print("[image] \($0)") }
        try await backing.cleanUp()  // what a crashed run left
        let keys = try TempDir(prefix: "otto-fdo-keys")
        defer { keys.cleanup() }
        var failure: (any Error)?
        do {
            try await DigitalOceanHarness.run(timeout: .seconds(10), actionSeconds: 0.2, backing: backing) { h in
                do {
                    try await exercise(h, backing, keys)
                } catch {
                    await h.fake.settleBacking()
                    throw error
                }
                await h.fake.settleBacking()
                #expect(await h.fake.backingFailures() == [])
            }
        } catch {
            failure = error
        }
        // Teardown whatever happened, then nothing of the test may be left on the host.
        do { try await backing.cleanUp() } catch { Issue.record("cleaning up: \(error)") }
        let machines = (try? FileManager.default.contentsOfDirectory(atPath: backing.provider.machinesDirectory)) ?? []
        #expect(machines.filter { $0.hasPrefix(Self.prefix) } == [])
        #expect(LocalHost.netnsNames().filter { $0.contains(Self.prefix) } == [])
        #expect(LocalHost.mountPoints().filter { $0.contains("/machines/\(Self.prefix)") } == [])
        #expect(backing.provider.capturedLayers().filter { $0.name.hasPrefix(Self.prefix) }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/otto-t6"), "the test bridge is removed")
        if let failure { throw failure }
    }

    private func exercise(_ h: DigitalOceanHarness, _ backing: LocalDropletBacking, _ keys: TempDir) async throws {
        let client = keys.file("client"), host1 = keys.file("host1"), host2 = keys.file("host2"), wrong = keys.file("wrong")
        for path in [client, host1, host2, wrong] { try await SSHServer.keygen(path) }
        let clientPublic = try String(contentsOfFile: client + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let host1Public = try SSHHostKey.read(publicKeyFile: host1 + ".pub")
        let host2Public = try SSHHostKey.read(publicKeyFile: host2 + ".pub")
        let wrongPublic = try SSHHostKey.read(publicKeyFile: wrong + ".pub")

        // The account's key, then a droplet with otto's cloud-config.
        let key = await h.call("POST", "/v2/account/keys", JSONValue.object(["name": "otto", "public_key": .string(clientPublic)]).text)
        let keyID = try #require(key.json?["ssh_key"]?["id"]?.int)
        let first: JSONValue = [
            "name": "golden-builder", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "region": "nyc3",
            "ssh_keys": [.int(keyID)], "user_data": .string(try Self.hostKeyConfig(host1)),
        ]
        var start = Date()
        let (builder, created) = try await h.createDroplet(first.text, seconds: 180)
        print("[timing] droplet \(builder) up in \(LocalTestSupport.seconds(since: start))")
        let firstError = await h.fake.dropletSummaries().first?.backingError
        try #require(created == "completed", "the create ended \(created): \(firstError ?? "?")")
        let droplet = try #require(await h.call("GET", "/v2/droplets/\(builder)").json?["droplet"])
        #expect(droplet["status"] == "active")
        let ip1 = try #require(droplet["networks"]?["v4"]?.array?.first { $0["type"] == "public" }?["ip_address"]?.string)
        #expect(Self.settings.subnet.contains(IPv4Subnet.parseAddress(ip1) ?? 0), "\(ip1) is on the test bridge")
        #expect(droplet["networks"]?["v4"]?.array?.first?["gateway"] == "10.213.0.1")
        #expect(await backing.isRunning(droplet: builder) == true)

        // SSH with the pinned key from the user data: in, as root with the account key; a wrong pin is refused.
        let session = try await SSHSession.connect(SSHTarget(host: ip1, identityFiles: [client], hostKeyPolicy: .pinned(host1Public),
                                                             connectTimeout: .seconds(10)))
        #expect(session.hostKey == host1Public)
        let written = try await session.exec("hostname; echo golden-\(builder) > /root/fdo-marker; sync; cat /root/.ssh/authorized_keys")
        #expect(written.status == 0, "\(written.stderrText)")
        #expect(written.stdoutText.hasPrefix("golden-builder\n"))
        #expect(written.stdoutText.contains(clientPublic))
        await session.close()
        do {
            let refused = try await SSHSession.connect(SSHTarget(host: ip1, identityFiles: [client], hostKeyPolicy: .pinned(wrongPublic),
                                                                 connectTimeout: .seconds(10)))
            await refused.close()
            Issue.record("a wrong pinned host key was accepted")
        } catch let error as SSHError {
            #expect(error.code == "ssh.hostkey.mismatch", "\(error)")
        }

        // Power off (the machine stops, the droplet is off), then snapshot.
        #expect(try await h.act(builder, #"{"type":"power_off"}"#, seconds: 60).status == "completed")
        #expect(await h.call("GET", "/v2/droplets/\(builder)").json?["droplet"]?["status"] == "off")
        #expect(await backing.isRunning(droplet: builder) == false)
        start = Date()
        #expect(try await h.act(builder, #"{"type":"snapshot","name":"web-golden"}"#, seconds: 120).status == "completed")
        print("[timing] snapshot in \(LocalTestSupport.seconds(since: start))")
        let snapshot = try #require(await h.fake.imageSummaries().first)
        #expect(snapshot.takenWhileActive == false)
        #expect(snapshot.sourceDropletID == builder)

        // A droplet from the snapshot, with a new host key in a MIME document behind an operator's script.
        let userData = """
            Content-Type: multipart/mixed; boundary="otto-fdo"
            MIME-Version: 1.0

            --otto-fdo
            Content-Type: text/x-shellscript; charset="utf-8"

            #!/bin/sh
            echo ran > /root/script-ran
            --otto-fdo
            Content-Type: text/cloud-config; charset="utf-8"
            MIME-Version: 1.0
            Content-Transfer-Encoding: 8bit

            \(try Self.hostKeyConfig(host2))--otto-fdo--

            """
        let second: JSONValue = [
            "name": "golden-copy", "size": "s-1vcpu-1gb", "image": .int(snapshot.id), "region": "nyc3",
            "ssh_keys": [.int(keyID)], "user_data": .string(userData),
        ]
        start = Date()
        let (copy, copied) = try await h.createDroplet(second.text, seconds: 180)
        print("[timing] droplet \(copy) from the snapshot up in \(LocalTestSupport.seconds(since: start))")
        let copyError = await h.fake.dropletSummaries().last?.backingError
        try #require(copied == "completed", "the create ended \(copied): \(copyError ?? "?")")
        let copyJSON = try #require(await h.call("GET", "/v2/droplets/\(copy)").json?["droplet"])
        #expect(copyJSON["image"]?["id"] == .int(snapshot.id))
        let ip2 = try #require(copyJSON["networks"]?["v4"]?.array?.first { $0["type"] == "public" }?["ip_address"]?.string)
        #expect(ip2 != ip1)
        #expect(await backing.ignoredUserData(droplet: copy).contains { $0.contains("text/x-shellscript") })

        let copySession = try await SSHSession.connect(SSHTarget(host: ip2, identityFiles: [client], hostKeyPolicy: .pinned(host2Public),
                                                                 connectTimeout: .seconds(10)))
        let found = try await copySession.exec("hostname; cat /root/fdo-marker; test -e /root/script-ran && echo script-ran || echo no-script")
        #expect(found.stdoutText == "golden-copy\ngolden-\(builder)\nno-script\n", "\(found.stdoutText) \(found.stderrText)")
        await copySession.close()
        do {
            // The snapshot carried the first droplet's host key; ssh_deletekeys removed it.
            let old = try await SSHSession.connect(SSHTarget(host: ip2, identityFiles: [client], hostKeyPolicy: .pinned(host1Public),
                                                             connectTimeout: .seconds(10)))
            await old.close()
            Issue.record("the snapshot's old host key still answers on the new droplet")
        } catch let error as SSHError {
            #expect(error.code == "ssh.hostkey.mismatch", "\(error)")
        }

        // Delete everything through the API. The snapshot's layer outlives its image while a droplet boots from it.
        #expect(await h.call("DELETE", "/v2/droplets/\(builder)").status == 204)
        #expect(await h.call("DELETE", "/v2/snapshots/\(snapshot.id)").status == 204)
        await h.fake.settleBacking()
        let layer = try #require(backing.provider.capturedLayers().first { $0.name == "\(Self.prefix)snapshot-\(snapshot.id)" })
        #expect(await backing.isRunning(droplet: copy) == true)
        let inUse = await errorText { try await backing.provider.removeCapturedLayer(layer) }
        #expect(inUse.contains("is in use by machine \(Self.prefix)\(copy)"), "\(inUse)")
        let base = try #require(backing.baseImages["debian-12-x64"])
        let built = await errorText { try await backing.provider.removeCapturedLayer(base) }
        #expect(built.contains("not made by captureLayer") || built.contains("is not a layer of"), "\(built)")
        #expect(FileManager.default.fileExists(atPath: base.directory + "/complete"), "a built image is never removed")
        #expect(await h.call("DELETE", "/v2/droplets/\(copy)").status == 204)
        await h.fake.settleBacking()
        #expect(await backing.isRunning(droplet: copy) == nil)
        #expect(backing.provider.capturedLayers().filter { $0.name.hasPrefix(Self.prefix) }.isEmpty,
                "the snapshot's layer is removed once no droplet boots from it")
        let counts = await h.fake.actionCounts()
        #expect(counts == ["power_off": 1, "snapshot": 1])
    }
}
