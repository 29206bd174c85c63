import Foundation
import OttoTestSupport

extension CLIProject {
    /// Runs `otto ARGS --dir DIR` on a thread of its own and awaits it, so that servers living in this test process
    /// (the fake DigitalOcean's actor) keep the cooperative pool while otto runs.
    func run(_ args: String...) async throws -> ProcessResult {
        let argv = [CLIProject.binary] + args + ["--dir", dir]
        let environment = self.environment
        return try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try runProcess(argv, environment: environment) }) }.start()
        }
    }

    /// Writes an ed25519 key pair at `keys/otto` (and `keys/otto.pub`), as an operator would make one.
    func makeSSHKey() throws {
        try FileManager.default.createDirectory(atPath: dir + "/keys", withIntermediateDirectories: true)
        let r = try runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "otto-test", "-f", dir + "/keys/otto"])
        guard r.status == 0 else { throw CloudTestError("ssh-keygen failed: \(r.stderr)") }
    }
}

/// A failure in a cloud test's own set-up.
struct CloudTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The lines of otto's state for `address` (`otto state show`), as `name = value`.
func stateAttribute(_ shown: String, _ name: String) -> String? {
    for line in shown.split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix(name + " = ") { return String(trimmed.dropFirst(name.count + 3)) }
    }
    return nil
}
