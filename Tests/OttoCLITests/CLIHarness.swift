import Foundation
import OttoTestSupport

/// A throwaway otto project in a temp directory, driven through the real `otto` binary.
final class CLIProject: Sendable {
    let dir: String
    let pdns: PowerDNSServer?
    /// Extra environment for every otto run (provider tokens and credentials).
    let extraEnvironment: [String: String]

    init(pdns: PowerDNSServer) throws {
        self.pdns = pdns
        self.extraEnvironment = ["OTTO_TEST_PDNS_KEY": pdns.apiKey]
        dir = NSTemporaryDirectory() + "otto-cli-\(UUID().uuidString.prefix(8))"
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
        dir = NSTemporaryDirectory() + "otto-cli-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/sites", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/inventory", withIntermediateDirectories: true)
        try write("inventory/main.yml", inventory)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

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
    func otto(_ args: String..., input: String? = nil) throws -> ProcessResult {
        try runProcess([CLIProject.binary] + args + ["--dir", dir], input: input, environment: environment)
    }

    /// Starts `otto ARGS --dir DIR` without waiting.
    func start(_ args: String...) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLIProject.binary)
        p.arguments = args + ["--dir", dir]
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// A number from the state database, read with the sqlite3 CLI (as an operator would).
    func stateCount(_ table: String) -> Int {
        let r = try? runProcess(["sqlite3", dir + "/.otto/state.db", "SELECT count(*) FROM \(table)"])
        return Int(r?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
    }

    /// Waits (up to `seconds`) until `stateCount(table)` reaches `count`.
    func waitForState(_ table: String, atLeast count: Int, seconds: Double = 4) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while stateCount(table) < count && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// The PowerDNS API, called directly (behind otto's back).
    func api(_ method: String, _ path: String, _ body: String? = nil) throws -> ProcessResult {
        guard let pdns else { preconditionFailure("this project has no PowerDNS") }
        var argv = ["curl", "-s", "-X", method, "-H", "X-API-Key: \(pdns.apiKey)", "-w", "\n%{http_code}", pdns.apiURL + path]
        if let body { argv += ["-H", "Content-Type: application/json", "--data", body] }
        return try runProcess(argv)
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
