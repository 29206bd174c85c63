// otto-fake-do: the fake DigitalOcean API v2 (Tests/Support/FakeDigitalOcean) on its own, for benchmarks and manual
// runs. Prints the port it listens on as the first line of stdout, then serves until SIGTERM/SIGINT. With the
// --machines-* options its droplets are real local machines (LocalDropletBacking; root), removed again on SIGTERM.
import Dispatch
import Foundation
import OttoCore
import OttoTestSupport

let usage = """
    usage: otto-fake-do [--host 127.0.0.1] [--port 0] [--token TOKEN] [--action-seconds 0.2]
                        [--seed-droplets N] [--seed-prefix bench-] [--seed-tags otto,web] [--record FILE.jsonl]
                        [--machines-state-dir DIR --machines-bridge NAME --machines-subnet CIDR [--machines-prefix fdo-]
                         [--machines-base-packages nginx,haproxy]]

    Serves the fake DigitalOcean API v2 on HOST:PORT (port 0: any free port) and prints the port on stdout.
    The token defaults to $FAKE_DO_TOKEN, else "fake-do-token". Control API under /_fake (see FakeDigitalOcean+Control.swift):
    faults, counts, seeding, recording. --record writes every /v2 exchange to FILE.jsonl when the server stops.

    With --machines-state-dir, --machines-bridge and --machines-subnet (all three; needs root), every droplet created
    over the API is a real local machine (systemd-nspawn) on that bridge and subnet, booted from the bookworm base that
    stands in for `debian-12-x64` (built into DIR/images on first use) or from a snapshot; machines and captured layers
    are named PREFIX<id>. What a crashed run left under that prefix is removed at start, and everything again on
    SIGTERM/SIGINT (with the bridge when no machine is left on it).
    """

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "-h" || argument == "--help" {
        print(usage)
        exit(0)
    }
    guard argument.hasPrefix("--"), let value = arguments.popFirst() else {
        FileHandle.standardError.write(Data("otto-fake-do: unexpected argument \(argument)\n\(usage)\n".utf8))
        exit(2)
    }
    options[String(argument.dropFirst(2))] = value
}
let known: Set<String> = ["host", "port", "token", "action-seconds", "seed-droplets", "seed-prefix", "seed-tags", "record",
                          "machines-state-dir", "machines-bridge", "machines-subnet", "machines-prefix", "machines-base-packages"]
if let unknown = options.keys.first(where: { !known.contains($0) }) {
    FileHandle.standardError.write(Data("otto-fake-do: unknown option --\(unknown)\n\(usage)\n".utf8))
    exit(2)
}
guard let port = Int(options["port"] ?? "0"), (0...65535).contains(port),
      let actionSeconds = Double(options["action-seconds"] ?? "0.2"), let seedCount = Int(options["seed-droplets"] ?? "0") else {
    FileHandle.standardError.write(Data("otto-fake-do: --port, --action-seconds and --seed-droplets take numbers\n".utf8))
    exit(2)
}
let host = options["host"] ?? "127.0.0.1"
guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
    FileHandle.standardError.write(Data("otto-fake-do: listens on loopback only (127.0.0.1, ::1)\n".utf8))
    exit(2)
}
let token = options["token"] ?? ProcessInfo.processInfo.environment["FAKE_DO_TOKEN"] ?? "fake-do-token"

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("otto-fake-do: \(message)\n".utf8))
    exit(status)
}

/// Droplets backed by local machines: all three options or none.
@MainActor func prepareBacking() async -> LocalDropletBacking? {
    let values = ["machines-state-dir", "machines-bridge", "machines-subnet"].map { options[$0] }
    guard values.contains(where: { $0 != nil }) else { return nil }
    guard let stateDir = values[0], let bridge = values[1], let subnet = values[2] else {
        fail("--machines-state-dir, --machines-bridge and --machines-subnet go together", status: 2)
    }
    guard geteuid() == 0 else { fail("droplets backed by local machines need root (bridges, namespaces, mounts, systemd-nspawn)", status: 2) }
    do {
        let settings = try LocalCloudMachines.settings(stateDir: stateDir, bridge: bridge, subnet: subnet)
        let progress: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("otto-fake-do: \($0)\n".utf8)) }
        // --machines-base-packages: what `debian-12-x64` has installed besides systemd and sshd (builders have no network).
        var base = LocalDropletBacking.debian12
        base.packages += (options["machines-base-packages"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let backing = try await LocalDropletBacking.build(settings: settings, slugs: ["debian-12-x64": base],
                                                          prefix: options["machines-prefix"] ?? "fdo-", progress: progress)
        try await backing.cleanUp()  // what a crashed run left
        return backing
    } catch {
        fail("cannot prepare the machines: \(error)")
    }
}
let backing = await prepareBacking()

let fake = FakeDigitalOcean(token: token, actionSeconds: actionSeconds, backing: backing)
if seedCount > 0 {
    let tags = (options["seed-tags"] ?? "otto").split(separator: ",").map(String.init)
    await fake.seedDroplets(count: seedCount, namePrefix: options["seed-prefix"] ?? "bench-", tags: tags)
}
if let path = options["record"] { await fake.startRecording(to: path) }

let server: FakeDigitalOceanServer
do {
    server = try await FakeDigitalOceanServer.start(fake, host: host, port: port)
} catch {
    if let backing { try? await backing.cleanUp() }
    fail("\(error)")
}
FileHandle.standardOutput.write(Data("\(server.port)\n".utf8))

// Stop cleanly on SIGTERM/SIGINT: a recording gets written, the server stops, then the machines are removed.
signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signals {
    source.setEventHandler {
        Task {
            do { try await fake.stopRecording() } catch { FileHandle.standardError.write(Data("otto-fake-do: \(error)\n".utf8)) }
            await server.stop()
        }
    }
    source.resume()
}
await server.wait()
var status: Int32 = 0
if let backing {
    await fake.settleBacking()
    do { try await backing.cleanUp() } catch {
        FileHandle.standardError.write(Data("otto-fake-do: cleaning up the machines: \(error)\n".utf8))
        status = 1
    }
}
exit(status)
