// otto-fake-do: the fake DigitalOcean API v2 (Tests/Support/FakeDigitalOcean) on its own, for benchmarks and manual
// runs. Prints the port it listens on as the first line of stdout, then serves until SIGTERM/SIGINT.
import Dispatch
import Foundation
import OttoTestSupport

let usage = """
    usage: otto-fake-do [--host 127.0.0.1] [--port 0] [--token TOKEN] [--action-seconds 0.2]
                        [--seed-droplets N] [--seed-prefix bench-] [--seed-tags otto,web] [--record FILE.jsonl]

    Serves the fake DigitalOcean API v2 on HOST:PORT (port 0: any free port) and prints the port on stdout.
    The token defaults to $FAKE_DO_TOKEN, else "fake-do-token". Control API under /_fake (see FakeDigitalOcean+Control.swift):
    faults, counts, seeding, recording. --record writes every /v2 exchange to FILE.jsonl when the server stops.
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
let known: Set<String> = ["host", "port", "token", "action-seconds", "seed-droplets", "seed-prefix", "seed-tags", "record"]
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

let fake = FakeDigitalOcean(token: token, actionSeconds: actionSeconds)
if seedCount > 0 {
    let tags = (options["seed-tags"] ?? "otto").split(separator: ",").map(String.init)
    await fake.seedDroplets(count: seedCount, namePrefix: options["seed-prefix"] ?? "bench-", tags: tags)
}
if let path = options["record"] { await fake.startRecording(to: path) }

let server: FakeDigitalOceanServer
do {
    server = try await FakeDigitalOceanServer.start(fake, host: host, port: port)
} catch {
    FileHandle.standardError.write(Data("otto-fake-do: \(error)\n".utf8))
    exit(1)
}
FileHandle.standardOutput.write(Data("\(server.port)\n".utf8))

// Stop cleanly on SIGTERM/SIGINT so a recording gets written.
signal(SIGTERM, SIG_IGN)
signal(SIGINT, SIG_IGN)
let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signals {
    source.setEventHandler {
        Task {
            do { try await fake.stopRecording() } catch { FileHandle.standardError.write(Data("otto-fake-do: \(error)\n".utf8)) }
            await server.stop()
            exit(0)
        }
    }
    source.resume()
}
await server.wait()
