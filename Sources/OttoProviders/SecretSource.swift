import Foundation
import OttoCore

/// Where a provider's secret (API key, token) comes from: an environment variable or a file. Never inline.
public enum SecretSource {
    /// Reads the secret from the environment variable `env` when it is set and not empty, else from `file`
    /// (relative to `root` unless absolute), trimmed of surrounding whitespace.
    ///
    /// - Throws: `OttoError` naming the variable or file (never the value): `secret.unspecified`,
    ///   `secret.env_missing`, `secret.file_unreadable`, `secret.empty`.
    public static func resolve(env: String?, file: String?, root: String,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let env, !env.isEmpty {
            if let value = environment[env]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty {
                return value
            }
            guard let file, !file.isEmpty else {
                throw OttoError("secret.env_missing", "environment variable \(env) is not set or is empty; export it with the secret")
            }
        }
        guard let file, !file.isEmpty else {
            throw OttoError("secret.unspecified", "no secret source given: set an environment variable name or a file")
        }
        let path = file.hasPrefix("/") ? file : URL(fileURLWithPath: root).appendingPathComponent(file).path
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw OttoError("secret.file_unreadable", "cannot read secret file \(path); check that it exists and is readable",
                            causeText: (error as NSError).localizedFailureReason ?? "read failed")
        }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw OttoError("secret.empty", "secret file \(path) is empty") }
        return value
    }
}
