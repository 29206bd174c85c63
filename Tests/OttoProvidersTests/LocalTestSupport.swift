import Foundation
import OttoConfig
import OttoCore
@testable import OttoProviders

/// Shared settings of the local provider tests: a bridge and subnet apart from the operator's default, and a
/// state directory that keeps built images across runs.
enum LocalTestSupport {
    static let stateDir = "/var/lib/otto-test"
    static let bridge = "otto-t0"
    static let subnet = "10.213.0.128/26"

    static var settings: LocalSettings {
        LocalSettings(subnet: IPv4Subnet(parsing: subnet)!, bridge: bridge, stateDir: stateDir)
    }

    /// Small recipes: a base (systemd + sshd only), a layer with a file and a command, and a layer that installs
    /// a package with apt (nginx, enabled by its package).
    static func recipes(motd: String = "otto test layer\n", extraRun: String = "echo built > /etc/otto-built") throws -> [String: ImageRecipe] {
        let project = try Project.load(sources: [
            ("images/tbase.yml", "image: tbase\nbase: { suite: bookworm }\n"),
            ("images/tweb.yml", """
            image: tweb
            from: tbase
            files:
              - { path: /etc/motd, content: \(Value.string(motd)), mode: "0644" }
            run: [\(Value.string(extraRun))]
            """),
            ("images/tnginx.yml", "image: tnginx\nfrom: tbase\npackages: [nginx]\n"),
        ])
        return project.images
    }

    static func seconds(since start: Date) -> String { String(format: "%.2f s", Date().timeIntervalSince(start)) }
}
