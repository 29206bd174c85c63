import Foundation
import OttoCore
import OttoHTTP
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// moto_server behind `MotoMachineProxy`, whose EC2 instances are real local machines: an instance boots with the
/// host key its user data gives, takes the key pair's key for `admin` (with sudo), shows its machine's address, is
/// stopped and imaged, and an instance of that AMI has what was written on the first; otto's own AWS provider creates
/// a machine through it and rotates the host key it sent. Its own bridge and subnet (`otto-t7`, 10.213.0.240/28);
/// built images are shared with the other local machine tests (`/var/lib/otto-test`); machines are named `mto-<id>`.
@Suite(.serialized,
       .enabled(if: geteuid() == 0, "instances backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn"), "systemd-nspawn is not installed (Debian package systemd-container)"),
       .tags(.machines, .moto), .endToEnd)
struct MotoLocalMachineTests {
    static let settings = LocalSettings(subnet: IPv4Subnet(parsing: "10.213.0.240/28")!, bridge: "otto-t7", stateDir: LocalTestSupport.stateDir)
    static let prefix = "mto-"

    /// moto, the proxy and its machines for `body`; afterwards (whatever happened) nothing of the test is left.
    func withProxy(_ body: (MotoMachineProxy, MotoServer, TempDir) async throws -> Void) async throws {
        let machines = try await MotoMachineProxy.machines(settings: Self.settings, amis: [MotoServer.ubuntuXenialAMI],
                                                           prefix: Self.prefix) { print("[image] \($0)") }
        try await machines.cleanUp()  // what a crashed run left
        let keys = try TempDir(prefix: "otto-mto-keys")
        defer { keys.cleanup() }
        var failure: (any Error)?
        do {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            let proxy = try await MotoMachineProxy.start(moto: moto.endpoint, machines: machines) { print("[proxy] \($0)") }
            do {
                try await body(proxy, moto, keys)
            } catch {
                failure = error
            }
            await proxy.settle()
            await proxy.stop()
        } catch {
            failure = failure ?? error
        }
        do { try await machines.cleanUp() } catch { Issue.record("cleaning up: \(error)") }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: machines.provider.machinesDirectory)) ?? []
        #expect(left.filter { $0.hasPrefix(Self.prefix) } == [])
        #expect(LocalHost.netnsNames().filter { $0.contains(Self.prefix) } == [])
        #expect(LocalHost.mountPoints().filter { $0.contains("/machines/\(Self.prefix)") } == [])
        #expect(machines.provider.capturedLayers().filter { $0.name.hasPrefix(Self.prefix) }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/otto-t7"), "the test bridge is removed")
        if let failure { throw failure }
    }

    /// One signed EC2 call through the proxy (form pairs after Action and Version).
    func ec2(_ proxy: MotoMachineProxy, _ action: String, _ pairs: [(String, String)] = []) async throws -> String {
        let form = ([("Action", action), ("Version", "2016-11-15")] + pairs)
            .map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&")
        return try await MotoServer.awsCurl(proxy.endpoint, service: "ec2", form: form)
    }

    /// The public key line of the client key pair at `path`.
    func publicLine(_ path: String) throws -> String {
        try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func connect(_ host: String, pin: String, key: String, user: String = "admin") async throws -> SSHSession {
        try await SSHSession.connect(SSHTarget(host: host, user: user, identityFiles: [key], hostKeyPolicy: .pinned(pin),
                                               connectTimeout: .seconds(10)))
    }

    /// Connecting with `pin` is refused because the host presents another key.
    func expectRefused(_ host: String, pin: String, key: String) async {
        do {
            let session = try await connect(host, pin: pin, key: key)
            await session.close()
            Issue.record("\(host) was accepted with a pin it does not hold")
        } catch let error as SSHError {
            #expect(error.code == "ssh.hostkey.mismatch", "\(error)")
        } catch {
            Issue.record("unexpected error: \(error)")
        }
    }

    @Test func instancesAreLocalMachinesThatImageAndBootFromImages() async throws {
        try await withProxy { proxy, _, keys in
            let client = keys.file("client")
            try await SSHServer.keygen(client)
            let imported = try await ec2(proxy, "ImportKeyPair", [("KeyName", "mto-test"),
                                                                  ("PublicKeyMaterial", Data(try publicLine(client).utf8).base64EncodedString())])
            #expect(AWSTest.values("keyName", in: imported) == ["mto-test"], "\(imported)")

            // An instance with otto's user data (the operator's cloud-config and otto's host key, in MIME).
            let host1 = HostKeyPair.generate(comment: "root@golden-builder")
            let userData1 = try CloudInitUserData.merged(user: "#cloud-config\n", hostKey: host1, machine: "machine.golden")
            var start = Date()
            let run1 = try await ec2(proxy, "RunInstances", [
                ("ImageId", MotoServer.ubuntuXenialAMI), ("InstanceType", "t3.micro"), ("MinCount", "1"), ("MaxCount", "1"),
                ("KeyName", "mto-test"), ("UserData", Data(userData1.utf8).base64EncodedString()),
                ("TagSpecification.1.ResourceType", "instance"), ("TagSpecification.1.Tag.1.Key", "Name"),
                ("TagSpecification.1.Tag.1.Value", "golden-builder"),
            ])
            print("[timing] instance up in \(LocalTestSupport.seconds(since: start))")
            try #require(await proxy.failures() == [])
            let builder = try #require(AWSTest.values("instanceId", in: run1).first, "\(run1)")
            let ip1 = try #require(AWSTest.values("ipAddress", in: run1).first, "\(run1)")
            #expect(Self.settings.subnet.contains(IPv4Subnet.parseAddress(ip1) ?? 0), "\(ip1) is on the test bridge")
            #expect(Set(AWSTest.values("privateIpAddress", in: run1) + AWSTest.values("publicIp", in: run1)) == [ip1])
            #expect(await proxy.machines.isRunning(builder) == true)
            #expect(await proxy.launchedInstances() == [builder])

            let described = try await ec2(proxy, "DescribeInstances", [("InstanceId.1", builder)])
            #expect(AWSTest.values("ipAddress", in: described) == [ip1])
            #expect(Set(AWSTest.values("privateIpAddress", in: described) + AWSTest.values("publicIp", in: described)) == [ip1])
            #expect(described.contains("golden-builder"), "moto's own fields pass through")

            // admin with the key pair's key and sudo, the pinned host key from the user data; a wrong pin is refused.
            let session = try await connect(ip1, pin: host1.publicKey, key: client)
            #expect(session.hostKey == host1.publicKey)
            let written = try await session.exec("id -un; sudo -n true && echo sudo-ok; hostname; sudo -n sh -c 'echo golden-\(builder) > /root/mto-marker; sync'")
            #expect(written.status == 0, "\(written.stderrText)")
            #expect(written.stdoutText == "admin\nsudo-ok\n\(builder)\n", "\(written.stdoutText) \(written.stderrText)")
            await session.close()
            await expectRefused(ip1, pin: HostKeyPair.generate().publicKey, key: client)

            // Stop (the machine stops), then CreateImage of the stopped instance.
            _ = try await ec2(proxy, "StopInstances", [("InstanceId.1", builder)])
            let stopped = try await ec2(proxy, "DescribeInstances", [("InstanceId.1", builder)])
            #expect(stopped.contains("<name>stopped</name>"), "\(stopped)")
            #expect(await proxy.machines.isRunning(builder) == false)
            start = Date()
            let created = try await ec2(proxy, "CreateImage", [("InstanceId", builder), ("Name", "web-golden"), ("NoReboot", "true")])
            print("[timing] image in \(LocalTestSupport.seconds(since: start))")
            let ami = try #require(AWSTest.values("imageId", in: created).first, "\(created)")
            let layer = try #require(await proxy.machines.capturedImage(ami))
            #expect(layer.name == "\(Self.prefix)\(ami)")
            #expect(await proxy.machines.isRunning(builder) == false, "NoReboot: a stopped instance stays stopped")

            // An instance of the AMI, with a new host key behind an operator's script (not run).
            let host2 = HostKeyPair.generate(comment: "root@golden-copy")
            let userData2 = try CloudInitUserData.merged(user: "#!/bin/sh\necho ran > /root/script-ran\n", hostKey: host2, machine: "machine.copy")
            start = Date()
            let run2 = try await ec2(proxy, "RunInstances", [
                ("ImageId", ami), ("InstanceType", "t3.micro"), ("MinCount", "1"), ("MaxCount", "1"), ("KeyName", "mto-test"),
                ("UserData", Data(userData2.utf8).base64EncodedString()),
            ])
            print("[timing] instance of the AMI up in \(LocalTestSupport.seconds(since: start))")
            try #require(await proxy.failures() == [])
            let copy = try #require(AWSTest.values("instanceId", in: run2).first, "\(run2)")
            let ip2 = try #require(AWSTest.values("ipAddress", in: run2).first, "\(run2)")
            #expect(ip2 != ip1)
            #expect(await proxy.machines.ignoredUserData(copy).contains { $0.contains("text/x-shellscript") })
            let copySession = try await connect(ip2, pin: host2.publicKey, key: client)
            let found = try await copySession.exec("sudo -n cat /root/mto-marker; test -e /root/script-ran && echo script-ran || echo no-script; hostname; grep -c . ~/.ssh/authorized_keys")
            #expect(found.stdoutText == "golden-\(builder)\nno-script\n\(copy)\n1\n", "\(found.stdoutText) \(found.stderrText)")
            await copySession.close()
            await expectRefused(ip2, pin: host1.publicKey, key: client)  // the AMI carried the first key; ssh_deletekeys removed it

            // Terminate both, deregister the AMI: the machines and the layer go, the instances show no address.
            _ = try await ec2(proxy, "TerminateInstances", [("InstanceId.1", builder), ("InstanceId.2", copy)])
            _ = try await ec2(proxy, "DeregisterImage", [("ImageId", ami)])
            let gone = try await ec2(proxy, "DescribeInstances", [("InstanceId.1", builder), ("InstanceId.2", copy)])
            #expect(AWSTest.values("ipAddress", in: gone) == [] && AWSTest.values("privateIpAddress", in: gone) == [], "\(gone)")
            #expect(await proxy.machines.isRunning(builder) == nil)
            #expect(await proxy.machines.isRunning(copy) == nil)
            #expect(proxy.machines.provider.capturedLayers().filter { $0.name.hasPrefix(Self.prefix) }.isEmpty)
            #expect(await proxy.failures() == [])
        }
    }

    @Test func aBootFailureIsReportedAndItsInstanceHasNoAddress() async throws {
        try await withProxy { proxy, _, _ in
            let run = try await ec2(proxy, "RunInstances", [("ImageId", MotoServer.ubuntuTrustyAMI), ("InstanceType", "t3.micro"),
                                                            ("MinCount", "1"), ("MaxCount", "1")])
            let id = try #require(AWSTest.values("instanceId", in: run).first, "\(run)")
            #expect(AWSTest.values("ipAddress", in: run) == [] && AWSTest.values("privateIpAddress", in: run) == [], "\(run)")
            let failures = await proxy.failures()
            #expect(failures.count == 1 && failures.first?.contains("\(id): boot from \(MotoServer.ubuntuTrustyAMI): no local image stands in") == true,
                    "\(failures)")
            #expect(await proxy.machines.isRunning(id) == nil)
        }
    }

    @Test func awsProviderCreatesAMachineAndRotatesItsHostKey() async throws {
        try await withProxy { proxy, _, keys in
            let client = keys.file("otto")
            try await SSHServer.keygen(client)
            _ = try await ec2(proxy, "ImportKeyPair", [("KeyName", "otto-mto"), ("PublicKeyMaterial", Data(try publicLine(client).utf8).base64EncodedString())])
            let provider = AWSTest.provider(endpoint: proxy.endpoint, sshKey: client, hostKeys: .pinned)
            let web = Resource(address: ResourceAddress(kind: "machine", name: "demo.web[0]"), provider: "aws", attributes: [
                "name": "demo-web-0", "group": "web", "site": "demo", "image": .string(MotoServer.ubuntuXenialAMI), "size": "t3.micro",
                "region": "us-east-1", "user_data": "#cloud-config\n", "key_name": "otto-mto", "security_groups": .list([]),
            ])
            let start = Date()
            let created = try await provider.create(provider.derive(web), idempotencyKey: "mto0123456789abcdef")
            print("[timing] AWSProvider.create with the host key rotated in \(LocalTestSupport.seconds(since: start))")
            try #require(await proxy.failures() == [])
            let ip = try #require(created.attributes["ipv4"]?.stringValue)
            #expect(Self.settings.subnet.contains(IPv4Subnet.parseAddress(ip) ?? 0), "\(ip) is on the test bridge")
            #expect(created.attributes["status"] == "running")
            #expect(created.attributes["host_key_pending"] == false)
            let hostKey = try #require(created.attributes["host_key"]?.stringValue)
            #expect(hostKey.hasPrefix("ssh-ed25519 ") && !hostKey.contains("\n"), "one rotated key: \(hostKey)")

            // The pins live on the instance: the rotated key in otto:host_key, the boot key's tag gone.
            let described = try await ec2(proxy, "DescribeInstances", [("InstanceId.1", created.providerID)])
            let tags = Dictionary(zip(AWSTest.values("key", in: described), AWSTest.values("value", in: described)), uniquingKeysWith: { a, _ in a })
            #expect(tags[HostKeyPins.awsTag] == hostKey)
            #expect(tags[HostKeyPins.awsBootTag] == nil)

            // The machine presents the rotated key (made on it, not the one that travelled in the user data).
            let session = try await connect(ip, pin: hostKey, key: client)
            let result = try await session.exec("sudo -n cat /etc/ssh/ssh_host_ed25519_key.pub; ls /etc/ssh | grep -c otto-next || true")
            #expect(result.stdoutText.hasPrefix(hostKey + " "), "\(result.stdoutText)")
            #expect(result.stdoutText.hasSuffix("0\n"), "no half-finished rotation left: \(result.stdoutText)")
            await session.close()

            // Observing again: no change planned; deleting terminates the instance and destroys its machine.
            let observed = try await provider.observe(kind: "machine", [AWSTest.request(web, id: created.providerID)])
            #expect(observed[web.address]?.attributes["host_key"] == .string(hostKey))
            #expect(observed[web.address]?.attributes["host_key_pending"] == false)
            try await provider.delete(web.address, current: created)
            await proxy.settle()
            #expect(await proxy.machines.isRunning(created.providerID) == nil)
            #expect(await proxy.failures() == [])
        }
    }
}
