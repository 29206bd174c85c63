import Foundation
import OttoTestSupport

/// A throwaway otto project in a temp directory, driven through the real `otto` binary.
final class CLIProject: Sendable {
    /// The project's directory (removed with the project).
    let scratch: TempDir
    var dir: String { scratch.path }
    let pdns: PowerDNSServer?
    /// Extra environment for every otto run (provider tokens and credentials).
    let extraEnvironment: [String: String]

    init(pdns: PowerDNSServer) throws {
        self.pdns = pdns
        self.extraEnvironment = ["OTTO_TEST_PDNS_KEY": pdns.apiKey]
        scratch = try TempDir(prefix: "otto-cli")
        try FileManager.default.createDirectory(atPath: dir + "/sites", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/inventory", withIntermediateDirectories: true)
        try write("inventory/dns.yml", """
            providers:
              powerdns:
                type: powerdns
                url: \(pdns.apiURL)
                server: localhost
                api_key_env: OTTO_TEST_PDNS_KEY
                concurrency: 8
            """)
    }

    /// A project whose inventory is `inventory`; `environment` is added to every otto run.
    init(inventory: String, environment: [String: String]) throws {
        self.pdns = nil
        self.extraEnvironment = environment
        scratch = try TempDir(prefix: "otto-cli")
        try FileManager.default.createDirectory(atPath: dir + "/sites", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/inventory", withIntermediateDirectories: true)
        try write("inventory/main.yml", inventory)
    }

    func write(_ path: String, _ text: String) throws {
        let full = dir + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.merge(extraEnvironment) { _, mine in mine }
        env["NO_COLOR"] = "1"
        return env
    }

    /// Runs `otto ARGS --dir DIR` to completion.
    @discardableResult
    func otto(_ args: String..., input: String? = nil) async throws -> ProcessResult {
        try await runProcess([CLIProject.binary] + args + ["--dir", dir], input: input, environment: environment)
    }

    /// Starts `otto ARGS --dir DIR` without waiting (output discarded).
    func start(_ args: String...) async throws -> ChildProcess {
        try await ChildProcess.start([CLIProject.binary] + args + ["--dir", dir], environment: environment)
    }

    /// A number from the state database, read with the sqlite3 CLI (as an operator would).
    func stateCount(_ table: String) async -> Int {
        let r = try? await runProcess(["sqlite3", dir + "/.otto/state.db", "SELECT count(*) FROM \(table)"])
        return Int(r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
    }

    /// Waits (up to `seconds`) until `stateCount(table)` reaches `count`.
    func waitForState(_ table: String, atLeast count: Int, seconds: Double = 4) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while await stateCount(table) < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// The PowerDNS API, called directly (behind otto's back).
    func api(_ method: String, _ path: String, _ body: String? = nil) async throws -> ProcessResult {
        guard let pdns else { preconditionFailure("this project has no PowerDNS") }
        var argv = ["curl", "-s", "-X", method, "-H", "X-API-Key: \(pdns.apiKey)", "-w", "\n%{http_code}", pdns.apiURL + path]
        if let body { argv += ["-H", "Content-Type: application/json", "--data", body] }
        return try await runProcess(argv)
    }

    /// The `otto` binary next to the test runner (both are built by `swift build --build-tests`).
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["OTTO_BIN"] { return explicit }
        var candidates: [String] = []
        if let exe = Bundle.main.executablePath { candidates.append((exe as NSString).deletingLastPathComponent) }
        candidates.append((CommandLine.arguments[0] as NSString).deletingLastPathComponent)
        for c in candidates {
            var d = c
            for _ in 0..<4 {
                if FileManager.default.isExecutableFile(atPath: d + "/otto") { return d + "/otto" }
                d = (d as NSString).deletingLastPathComponent
            }
        }
        return candidates[0] + "/otto"
    }()
}

/// A site with `n` extra A records in zone `zone`.
func siteYAML(site: String = "demo", zone: String = "demo.test", wwwTarget: String = "demo.test.", extra: Int = 0) -> String {
    var s = """
        site: \(site)
        domain: \(zone)
        dns:
          provider: powerdns
          ttl: 300
          records:
            - { name: "@", type: A, values: [10.213.0.10, 10.213.0.11] }
            - { name: www, type: CNAME, value: \(wwwTarget) }
            - { name: "@", type: MX, value: "10 mail" }
            - { name: "@", type: TXT, value: "v=spf1 -all" }
            - { name: v6, type: AAAA, value: "2001:db8::1" }

        """
    for i in 0..<extra { s += "    - { name: h\(i), type: A, value: 10.213.0.\(i % 250 + 1) }\n" }
    return s
}

/// Runs `body`, then `cleanup` whether `body` threw or not: a `defer` that may await.
func withCleanup(_ body: () async throws -> Void, cleanup: () async -> Void) async throws {
    do {
        try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
}
