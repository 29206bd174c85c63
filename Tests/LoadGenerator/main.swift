// otto-loadgen: the HTTP load generator (Tests/Support/LoadGenerator.swift) on its own, for benchmarks and demos.
// Prints the run's report as JSON on stdout (LoadReport; the shape is in docs/loadgen.md) and one line for people
// on stderr.
import Dispatch
import Foundation
import OttoTestSupport

let usage = """
    usage: otto-loadgen [--rate 500] [--connections 16] [--duration 30s] [--timeout 10s]
                        [--until-stdin-closes] [--progress] [--answers] [--pretty] URL

    Requests URL (http://HOST:PORT/PATH) at a fixed rate (open loop) over keep-alive connections until the duration
    has passed, SIGINT or SIGTERM arrives, or (--until-stdin-closes) standard input reaches its end; requests already
    sent then get their answer or time out. Counts 2xx, other statuses and connection errors by kind, latency
    percentiles (from the moment each request was due) and which X-App-Version answered, overall and per second.
    Durations: 30s, 500ms, 2m or a number of seconds. --progress prints each second on stderr as it ends.
    --answers adds every answer's end, latency and version to the report ("answers": [[end_ms, latency_ms, version], ...]).
    Prints the report as JSON on stdout (see docs/loadgen.md) and a one-line summary on stderr.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("otto-loadgen: \(message)\n".utf8))
    exit(2)
}

/// `30s`, `500ms`, `2m`, `1h` or a plain number of seconds.
func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let number = Double(text.dropLast(suffix.count)), number > 0 else { return nil }
        return .milliseconds(Int64((number * scale * 1000).rounded()))
    }
    guard let seconds = Double(text), seconds > 0 else { return nil }
    return .milliseconds(Int64((seconds * 1000).rounded()))
}

var options = LoadOptions(url: "")
var url: String?
var untilStdinCloses = false
var progress = false
var pretty = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "-h", "--help":
        print(usage)
        exit(0)
    case "--until-stdin-closes": untilStdinCloses = true
    case "--progress": progress = true
    case "--pretty": pretty = true
    case "--answers": options.keepAnswers = true
    case "--rate", "--connections", "--duration", "--timeout":
        guard let value = arguments.popFirst() else { fail("\(argument) needs a value\n\(usage)") }
        switch argument {
        case "--rate":
            guard let rate = Double(value), rate > 0 else { fail("--rate takes a positive number of requests per second") }
            options.rate = rate
        case "--connections":
            guard let count = Int(value), count > 0 else { fail("--connections takes a positive number") }
            options.connections = count
        case "--duration":
            guard let duration = parseDuration(value) else { fail("--duration takes a duration such as 30s") }
            options.duration = duration
        default:
            guard let timeout = parseDuration(value) else { fail("--timeout takes a duration such as 10s") }
            options.timeout = timeout
        }
    default:
        guard !argument.hasPrefix("-"), url == nil else { fail("unexpected argument \(argument)\n\(usage)") }
        url = argument
    }
}
guard let url else { fail("which URL?\n\(usage)") }
options.url = url
if progress {
    options.onSecond = { window in
        let versions = window.versions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let kinds = window.errorKinds.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " ")
        let line = "t=\(window.second)s 2xx=\(window.ok) non2xx=\(window.non2xx) errors=\(window.errors)"
            + (kinds.isEmpty ? "" : " (\(kinds))") + " unsent=\(window.unsent) p99=\(window.latencyMs.p99)ms"
            + " versions: \(versions.isEmpty ? "none" : versions)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

let generator: LoadGenerator
do {
    generator = try await LoadGenerator.start(options)
} catch {
    fail("\(error)")
}

// Stop on SIGINT/SIGTERM (and at the end of stdin when asked); the report follows once requests in flight end.
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let signalSources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in signalSources {
    source.setEventHandler { generator.stop() }
    source.resume()
}
if untilStdinCloses {
    // A blocking read on a thread of its own, never on the cooperative pool.
    Thread.detachNewThread {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(STDIN_FILENO, &buffer, buffer.count)
            if count > 0 { continue }
            if count < 0 && errno == EINTR { continue }
            break
        }
        generator.stop()
    }
}

let report = await generator.finished()
FileHandle.standardOutput.write(Data((report.json(pretty: pretty) + "\n").utf8))
FileHandle.standardError.write(Data("otto-loadgen: \(report.summary)\n".utf8))
exit(0)
