import Foundation
import OttoConfig
import OttoCore
import XCTest
@testable import OttoProviders

/// Inventory settings of a digitalocean provider.
final class DigitalOceanSettingsTests: XCTestCase {
    func config(_ settings: [String: Value]) -> ProviderSettingValues {
        ProviderSettingValues(name: "do", values: settings, location: SourceLocation(file: "inventory/do.yml", line: 3, column: 5))
    }

    func testDefaultsAndTokenFromTheEnvironment() throws {
        let settings = try DigitalOceanSettings(config(["token_env": "DO_TOKEN", "region": "ams3", "ssh_key": "keys/otto"]), root: "/project",
                                                environment: ["DO_TOKEN": "dop_v1_secret\n"])
        XCTAssertEqual(settings.token, "dop_v1_secret")
        XCTAssertEqual(settings.endpoint, "https://api.digitalocean.com")
        XCTAssertEqual(settings.region, "ams3")
        XCTAssertEqual(settings.sshKey, "/project/keys/otto")
        XCTAssertEqual(settings.tag, "otto")
        XCTAssertEqual(settings.rate, 250.0 / 60.0, accuracy: 0.0001)
        XCTAssertEqual(settings.burst, 250)
        XCTAssertEqual(settings.timeout, .seconds(30))
        XCTAssertFalse(String(describing: settings).contains("secret"))
    }

    func testTokenFromAFileAndOverrides() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("do-token-\(UUID().uuidString)").path
        try "dop_v1_fromfile\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let settings = try DigitalOceanSettings(config(["token_file": .string(file), "endpoint": "http://127.0.0.1:9", "tag": "otto-ci",
                                                        "rate_limit": 10, "burst": 20, "timeout": "5s", "ipv6": true]),
                                                root: "/", environment: [:])
        XCTAssertEqual(settings.token, "dop_v1_fromfile")
        XCTAssertEqual(settings.endpoint, "http://127.0.0.1:9")
        XCTAssertEqual(settings.tag, "otto-ci")
        XCTAssertEqual(settings.rate, 10)
        XCTAssertEqual(settings.burst, 20)
        XCTAssertEqual(settings.timeout, .seconds(5))
        XCTAssertTrue(settings.ipv6)
    }

    func testMistakesAreExplained() {
        func message(_ settings: [String: Value], environment: [String: String] = [:]) -> String {
            do {
                _ = try DigitalOceanSettings(config(settings), root: "/", environment: environment)
                return ""
            } catch {
                return String(describing: error)
            }
        }
        XCTAssertTrue(message([:]).contains("needs `token_env:`"))
        XCTAssertTrue(message(["token": "dop_v1_inline"]).contains("never goes in YAML"))
        XCTAssertFalse(message(["token": "dop_v1_inline"]).contains("dop_v1_inline"))
        XCTAssertTrue(message(["token_env": "NOPE"]).contains("NOPE is not set"))
        XCTAssertTrue(message(["token_env": "T", "rate_limit": "fast"], environment: ["T": "x"]).contains("`rate_limit` must be a number"))
        XCTAssertTrue(message(["token_env": "T", "timeout": "soon"], environment: ["T": "x"]).contains("`timeout` must be seconds"))
    }
}
