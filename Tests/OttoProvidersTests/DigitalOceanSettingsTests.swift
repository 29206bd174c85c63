import Foundation
import OttoConfig
import OttoCore
import Testing
@testable import OttoProviders

/// Inventory settings of a digitalocean provider.
@Suite struct DigitalOceanSettingsTests {
    func config(_ settings: [String: Value]) -> ProviderSettingValues {
        ProviderSettingValues(name: "do", values: settings, location: SourceLocation(file: "inventory/do.yml", line: 3, column: 5))
    }

    @Test func defaultsAndTokenFromTheEnvironment() throws {
        let settings = try DigitalOceanSettings(config(["token_env": "DO_TOKEN", "region": "ams3", "ssh_key": "keys/otto"]), root: "/project",
                                                environment: ["DO_TOKEN": "dop_v1_secret\n"])
        #expect(settings.token == "dop_v1_secret")
        #expect(settings.endpoint == "https://api.digitalocean.com")
        #expect(settings.region == "ams3")
        #expect(settings.sshKey == "/project/keys/otto")
        #expect(settings.tag == "otto")
        #expect(abs(settings.rate - 250.0 / 60.0) <= 0.0001)
        #expect(settings.burst == 250)
        #expect(settings.timeout == .seconds(30))
        #expect(!(String(describing: settings).contains("secret")))
    }

    @Test func tokenFromAFileAndOverrides() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("do-token-\(UUID().uuidString)").path
        try "dop_v1_fromfile\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try DigitalOceanSettings(config(["token_file": .string(file), "endpoint": "http://127.0.0.1:9", "tag": "otto-ci",
                                                        "rate_limit": 10, "burst": 20, "timeout": "5s", "ipv6": true]),
                                                root: "/", environment: [:])
        #expect(settings.token == "dop_v1_fromfile")
        #expect(settings.endpoint == "http://127.0.0.1:9")
        #expect(settings.tag == "otto-ci")
        #expect(settings.rate == 10)
        #expect(settings.burst == 20)
        #expect(settings.timeout == .seconds(5))
        #expect(settings.ipv6)
    }

    @Test func mistakesAreExplained() {
        func message(_ settings: [String: Value], environment: [String: String] = [:]) -> String {
            do {
                _ = try DigitalOceanSettings(config(settings), root: "/", environment: environment)
                return ""
            } catch {
                return String(describing: error)
            }
        }
        #expect(message([:]).contains("needs `token_env:`"))
        #expect(message(["token": "dop_v1_inline"]).contains("never goes in YAML"))
        #expect(!(message(["token": "dop_v1_inline"]).contains("dop_v1_inline")))
        #expect(message(["token_env": "NOPE"]).contains("NOPE is not set"))
        #expect(message(["token_env": "T", "rate_limit": "fast"], environment: ["T": "x"]).contains("`rate_limit` must be a number"))
        #expect(message(["token_env": "T", "timeout": "soon"], environment: ["T": "x"]).contains("`timeout` must be seconds"))
    }
}
