import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

extension LocalMachineProvider {
    /// Mounts the machine's overlay and writes what makes it this machine: hostname, hosts, an empty machine-id,
    /// a fresh ed25519 host key (recorded) and otto's client key for root.
    func prepareRoot(_ record: inout LocalMachineRecord) async throws {
        try await prepareRoot(&record, hostname: record.name, hostKey: .generate, authorizedKeys: .ottoClientKey)
    }

    /// What root's `authorized_keys` gets when a machine's root is prepared.
    enum AuthorizedKeys {
        /// Exactly otto's client key (`<state_dir>/ssh/id_ed25519.pub`): machines of the `local` provider.
        case ottoClientKey
        /// These lines, added to those the image already has (as cloud-init adds a cloud's keys).
        case add([String])
    }

    /// Mounts the machine's overlay and writes what makes it this machine: `hostname` (and its /etc/hosts line), an
    /// empty machine-id, the ssh host key `hostKey` says (recorded in the record) and root's authorized keys.
    func prepareRoot(_ record: inout LocalMachineRecord, hostname: String, hostKey: LocalHostKeyPolicy,
                     authorizedKeys: AuthorizedKeys) async throws {
        let dir = machineDirectory(record.name)
        try await mountRoot(record)
        let fs = LocalRootFS(root: dir + "/merged")
        try fs.write("/etc/hostname", hostname + "\n")
        try fs.write("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\(record.ipv4)\t\(hostname)\n")
        try fs.write("/etc/machine-id", "")
        let sshDir = try fs.directory("/etc/ssh")
        if hostKey != .keepImageKeys {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: sshDir)) ?? [] where entry.hasPrefix("ssh_host_") {
                try fs.remove("/etc/ssh/" + entry)
            }
        }
        let publicKey: String
        switch hostKey {
        case .generate:
            publicKey = try await generateHostKey(fs, record)
        case .install(let privateKey, let given):
            try await checkHostKeyPair(privateKey: privateKey, publicKey: given, record)
            try fs.write("/etc/ssh/ssh_host_ed25519_key", privateKey.hasSuffix("\n") ? privateKey : privateKey + "\n", mode: 0o600)
            try fs.write("/etc/ssh/ssh_host_ed25519_key.pub", given.trimmingCharacters(in: .whitespacesAndNewlines) + "\n", mode: 0o644)
            publicKey = given
        case .keepImageKeys:
            if fs.read("/etc/ssh/ssh_host_ed25519_key") != nil, let existing = fs.read("/etc/ssh/ssh_host_ed25519_key.pub"),
               existing.hasPrefix("ssh-ed25519 ") {
                publicKey = existing
            } else {
                publicKey = try await generateHostKey(fs, record)
            }
        }
        record.hostKey = publicKey.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(2).joined(separator: " ")
        try fs.directory("/root/.ssh", mode: 0o700)
        switch authorizedKeys {
        case .ottoClientKey:
            let clientKey = try String(contentsOfFile: clientKeyPath + ".pub", encoding: .utf8)
            try fs.write("/root/.ssh/authorized_keys", clientKey, mode: 0o600)
        case .add(let keys):
            var lines = (fs.read("/root/.ssh/authorized_keys") ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            for key in keys.map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !key.isEmpty && !lines.contains(key) {
                lines.append(key)
            }
            try fs.write("/root/.ssh/authorized_keys", lines.map { $0 + "\n" }.joined(), mode: 0o600)
        }
        try record.save(dir + "/machine.json")
    }

    /// Generates an ed25519 host key into the machine's root (`/etc/ssh/ssh_host_ed25519_key{,.pub}`) and returns
    /// its public line.
    func generateHostKey(_ fs: LocalRootFS, _ record: LocalMachineRecord) async throws -> String {
        let keyDir = machineDirectory(record.name) + "/hostkey"
        try? LocalHost.remove(keyDir)
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try await LocalCommand.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@\(record.name)",
                                    "-f", keyDir + "/ssh_host_ed25519_key"])
        let privateKey = try String(contentsOfFile: keyDir + "/ssh_host_ed25519_key", encoding: .utf8)
        let publicKey = try String(contentsOfFile: keyDir + "/ssh_host_ed25519_key.pub", encoding: .utf8)
        try fs.write("/etc/ssh/ssh_host_ed25519_key", privateKey, mode: 0o600)
        try fs.write("/etc/ssh/ssh_host_ed25519_key.pub", publicKey, mode: 0o644)
        try LocalHost.remove(keyDir)
        return publicKey
    }

    /// Checks that `privateKey` is an ed25519 private key OpenSSH loads and that `publicKey` is its public half
    /// (`ssh-keygen -y`), so a mangled key fails here rather than as an sshd that never answers.
    func checkHostKeyPair(privateKey: String, publicKey: String, _ record: LocalMachineRecord) async throws {
        let given = publicKey.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).prefix(2).joined(separator: " ")
        guard given.hasPrefix("ssh-ed25519 "), given.split(separator: " ").count == 2 else {
            throw OttoError("provider.local.hostkey", "the host public key for machine \(record.name) is not an `ssh-ed25519 AAAA…` line")
        }
        let keyDir = machineDirectory(record.name) + "/hostkey"
        try? LocalHost.remove(keyDir)
        try FileManager.default.createDirectory(atPath: keyDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? LocalHost.remove(keyDir) }
        try LocalHost.write(privateKey.hasSuffix("\n") ? privateKey : privateKey + "\n", to: keyDir + "/key", mode: 0o600)
        let out = try await LocalCommand.run(["ssh-keygen", "-y", "-f", keyDir + "/key"], check: false)
        guard out.status == 0 else {
            throw OttoError("provider.local.hostkey", "the host private key for machine \(record.name) cannot be loaded by OpenSSH",
                            causeText: out.text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let derived = out.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(2).joined(separator: " ")
        guard derived == given else {
            throw OttoError("provider.local.hostkey", "the host key pair for machine \(record.name) does not match: the private key's public half is \(derived.prefix(40))…, the public key given is \(given.prefix(40))…")
        }
    }

    /// Mounts the overlay (image layers below, the machine's own upper directory on top) unless it is mounted.
    func mountRoot(_ record: LocalMachineRecord) async throws {
        let dir = machineDirectory(record.name)
        guard !LocalHost.mountPoints().contains(dir + "/merged") else { return }
        for layer in record.layers where !FileManager.default.fileExists(atPath: layer) {
            throw OttoError("provider.local.image", "machine \(record.name) needs image layer \(layer), which is gone: rebuild image `\(record.imageName)` (otto images build \(record.imageName)) or replace the machine")
        }
        for d in ["upper", "work", "merged"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + d, withIntermediateDirectories: true)
        }
        try await LocalCommand.run(["mount", "-t", "overlay", "overlay", "-o",
                                    "lowerdir=\(record.layers.joined(separator: ":")),upperdir=\(dir)/upper,workdir=\(dir)/work",
                                    dir + "/merged"])
    }

    /// Brings a machine up (each step only when needed): bridge, netns + veth, overlay, cgroups, supervisor;
    /// returns when sshd answers on the machine's address.
    func start(_ record: LocalMachineRecord) async throws {
        let machine = record.name
        let dir = machineDirectory(machine)
        try await ensureBridge()
        try await ensureNetwork(record)
        try await mountRoot(record)
        if !processesAlive(machine) {
            try LocalHost.makeCgroup(LocalNames.cgroup(machine, scope: settings.scope))
            try? LocalHost.remove(dir + "/stop")
            try await startSupervisor(machine)
        }
        try await waitForSSH(record, timeout: 90)
    }

    /// Creates the bridge in the host namespace with the subnet's first address, if missing.
    func ensureBridge() async throws {
        let bridge = settings.bridge
        let gateway = "\(IPv4Subnet.format(settings.subnet.gateway))/\(settings.subnet.prefix)"
        if !FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)") {
            let out = try await LocalCommand.run(["ip", "link", "add", bridge, "type", "bridge"], check: false)
            if out.status != 0 && !FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)") {
                throw OttoError("provider.local.bridge", "cannot create bridge \(bridge)", causeText: out.text)
            }
        } else if !(await Self.becomesBridge(bridge)) {
            throw OttoError("provider.local.bridge", "\(bridge) exists but is not a bridge: set another `bridge` for the local provider")
        }
        try await LocalCommand.run(["ip", "addr", "replace", gateway, "dev", bridge])
        try await LocalCommand.run(["ip", "link", "set", bridge, "up"])
    }

    /// Creates the machine's netns and veth pair (guest side `eth0` with the derived MAC and the address), if missing.
    func ensureNetwork(_ record: LocalMachineRecord) async throws {
        let ns = LocalNames.netns(record.name, scope: settings.scope), veth = LocalNames.veth(record.name, scope: settings.scope)
        guard !LocalHost.netnsNames().contains(ns) else { return }
        if FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)") {
            try await LocalCommand.run(["ip", "link", "del", veth]) // a leftover host side of this machine's pair
        }
        try await LocalCommand.run(["ip", "netns", "add", ns])
        try await LocalCommand.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0",
                                    "address", record.mac, "netns", ns])
        try await LocalCommand.run(["ip", "link", "set", veth, "master", settings.bridge, "up"])
        try await LocalCommand.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        try await LocalCommand.run(["ip", "-n", ns, "addr", "add", "\(record.ipv4)/\(record.prefix)", "dev", "eth0"])
        try await LocalCommand.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        try await LocalCommand.run(["ip", "-n", ns, "route", "add", "default", "via", record.gateway])
    }

    /// The supervisor: joins the machine's cgroups, runs nspawn, and runs it again when the guest rebooted
    /// (nspawn exits 133), until the `stop` file exists. Values arrive as positional arguments, never in the script.
    static let supervisorScript = #"""
    M=$1; NAME=$2; NS=$3; CG=$4
    for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
    for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
      [ -d "$h/$CG" ] && echo $$ > "$h/$CG/cgroup.procs"
    done
    echo $$ > "$M/supervisor.pid"
    child=
    trap 'touch "$M/stop"; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
    while :; do
      [ -e "$M/stop" ] && exit 0
      systemd-nspawn -D "$M/merged" -b --machine="$NAME" --register=no --keep-unit \
        --network-namespace-path="/run/netns/$NS" --console=read-only --resolv-conf=off --timezone=off \
        --link-journal=no < /dev/null &
      child=$!
      echo $child > "$M/nspawn.pid"
      wait $child; rc=$?
      while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
      echo "[otto-supervise] $(date -Is) nspawn exited with status $rc"
      [ $rc -eq 133 ] || exit $rc
    done
    """#

    /// Starts the supervisor in its own session (it outlives otto) with output to `console.log`.
    func startSupervisor(_ machine: String) async throws {
        LocalHost.ensureInotifyLimits()
        let dir = machineDirectory(machine)
        let argv = ["/bin/bash", "-c", Self.supervisorScript, "otto-supervise", dir, machine,
                    LocalNames.netns(machine, scope: settings.scope), LocalNames.cgroup(machine, scope: settings.scope)]
        try? LocalHost.remove(dir + "/supervisor.pid")
        try? LocalHost.remove(dir + "/nspawn.pid")
        try await LocalCommand.spawnDaemon(argv, log: dir + "/console.log")
    }

    /// Waits until sshd on the machine's address greets with `SSH-2.0`; fails early when the container died.
    func waitForSSH(_ record: LocalMachineRecord, timeout: Double) async throws {
        let dir = machineDirectory(record.name)
        let deadline = Date().addingTimeInterval(timeout)
        let started = Date()
        while Date() < deadline {
            let ip = record.ipv4
            if try await LocalCommand.offPool({ SSHBanner.answers(ip, timeout: 0.5) }) { return }
            if Date().timeIntervalSince(started) > 2, !processesAlive(record.name) {
                throw OttoError("provider.local.boot", "machine \(record.name) stopped while booting", causeText: consoleTail(dir))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw OttoError("provider.local.boot", "machine \(record.name) booted but sshd did not answer on \(record.ipv4):22 within \(Int(timeout)) s",
                        causeText: consoleTail(dir))
    }

    func consoleTail(_ dir: String) -> String {
        let text = (try? String(contentsOfFile: dir + "/console.log", encoding: .utf8)) ?? ""
        return "console.log ends: " + String(text.suffix(1500))
    }

    /// True when the link `name` is a bridge. A bridge another create of this run has just added can show in sysfs a
    /// moment before its `bridge` directory does: look again for up to a second before calling it something else.
    static func becomesBridge(_ name: String) async -> Bool {
        for _ in 0..<20 {
            if FileManager.default.fileExists(atPath: "/sys/class/net/\(name)/bridge") { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
