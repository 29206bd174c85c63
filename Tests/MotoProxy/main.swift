// otto-moto-proxy: a proxy in front of a moto_server whose EC2 instances are real local machines
// (Tests/Support/MotoMachines), for benchmarks and manual runs. Prints the port it listens on as the first line of
// stdout, then serves until SIGTERM/SIGINT, and removes its machines before it exits.
import Dispatch
import Foundation
import OttoCore
import OttoTestSupport

let usage = """
    usage: otto-moto-proxy --moto http://127.0.0.1:PORT --base-ami AMI [--base-ami AMI ...]
                           --machines-state-dir DIR --machines-bridge NAME --machines-subnet CIDR
                           [--machines-prefix mto-] [--machines-base-packages nginx,haproxy] [--login-user admin]
                           [--host 127.0.0.1] [--port 0]

    Forwards every request to the moto_server at --moto and answers with moto's answer, but EC2 instances are real
    local machines (systemd-nspawn; needs root) on bridge NAME with addresses of CIDR: RunInstances boots them from
    the bookworm base (systemd, sshd, sudo; built into DIR/images on first use) that stands in for each --base-ami
    (comma-separated or repeated), or from an AMI CreateImage captured; DescribeInstances shows their addresses;
    stop, start, reboot and terminate act on them. The key pair's key is authorised for the login user, made with
    passwordless sudo. Point otto's AWS provider `endpoint` at http://HOST:PORT.

    Machines and captured layers are named PREFIX<instance or image id>: what a crashed run left under that prefix is
    removed at start, everything again on SIGTERM/SIGINT (with the bridge when no machine is left on it). Failures on
    the machines' side (a boot, a capture) are reported on stderr as they happen.
    """

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("otto-moto-proxy: \(message)\n".utf8))
    exit(status)
}

var options: [String: String] = [:]
var baseAMIs: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "-h" || argument == "--help" {
        print(usage)
        exit(0)
    }
    guard argument.hasPrefix("--"), let value = arguments.popFirst() else { fail("unexpected argument \(argument)\n\(usage)", status: 2) }
    let name = String(argument.dropFirst(2))
    if name == "base-ami" {
        baseAMIs += value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    } else {
        options[name] = value
    }
}
let known: Set<String> = ["moto", "machines-state-dir", "machines-bridge", "machines-subnet", "machines-prefix", "machines-base-packages",
                          "login-user", "host", "port"]
if let unknown = options.keys.first(where: { !known.contains($0) }) { fail("unknown option --\(unknown)\n\(usage)", status: 2) }
guard let moto = options["moto"], let stateDir = options["machines-state-dir"], let bridge = options["machines-bridge"],
      let subnet = options["machines-subnet"], !baseAMIs.isEmpty else {
    fail("--moto, --base-ami, --machines-state-dir, --machines-bridge and --machines-subnet are required\n\(usage)", status: 2)
}
guard let port = Int(options["port"] ?? "0"), (0...65535).contains(port) else { fail("--port takes a number", status: 2) }
let host = options["host"] ?? "127.0.0.1"
guard host == "127.0.0.1" || host == "localhost" || host == "::1" else { fail("listens on loopback only (127.0.0.1, ::1)", status: 2) }
guard geteuid() == 0 else { fail("instances backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)", status: 2) }

let machines: LocalCloudMachines
do {
    let settings = try LocalCloudMachines.settings(stateDir: stateDir, bridge: bridge, subnet: subnet)
    // --machines-base-packages: what the base AMI has installed besides systemd, sshd and sudo (builders have no network).
    var recipe = MotoMachineProxy.debian12
    recipe.packages += (options["machines-base-packages"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    machines = try await MotoMachineProxy.machines(settings: settings, amis: baseAMIs, recipe: recipe, prefix: options["machines-prefix"] ?? "mto-") {
        FileHandle.standardError.write(Data("otto-moto-proxy: \($0)\n".utf8))
    }
    try await machines.cleanUp()  // what a crashed run left
} catch {
    fail("cannot prepare the machines: \(error)")
}

let proxy: MotoMachineProxy
do {
    proxy = try await MotoMachineProxy.start(moto: moto, machines: machines, loginUser: options["login-user"] ?? "admin", host: host,
                                             port: port) { line in
        FileHandle.standardError.write(Data("otto-moto-proxy: \(line)\n".utf8))
    }
} catch {
    try? await machines.cleanUp()
    fail("\(error)")
}
FileHandle.standardOutput.write(Data("\(proxy.port)\n".utf8))

// SIGTERM/SIGINT stop the server; then the machines are removed and the process exits.
signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signals {
    source.setEventHandler { Task { await proxy.stop() } }
    source.resume()
}
await proxy.wait()
var status: Int32 = 0
do { try await machines.cleanUp() } catch {
    FileHandle.standardError.write(Data("otto-moto-proxy: cleaning up the machines: \(error)\n".utf8))
    status = 1
}
exit(status)
