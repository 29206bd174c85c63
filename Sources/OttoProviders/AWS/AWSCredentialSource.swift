import Foundation
import OttoCore
import OttoHTTP

/// Finds AWS credentials the way operators expect, without ever putting a secret in a message.
///
/// Order:
/// 1. environment variables named in inventory (`access_key_id_env`, `secret_access_key_env`, `session_token_env`):
///    both key variables must be set;
/// 2. when inventory names no `profile` and no `credentials_file`: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
///    `AWS_SESSION_TOKEN`;
/// 3. the shared credentials file (`credentials_file`, else `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`),
///    section `profile` (else `AWS_PROFILE`, else `default`): `aws_access_key_id`, `aws_secret_access_key`,
///    `aws_session_token`.
public enum AWSCredentialSource {
    /// Resolves credentials and says where they came from (`environment variables AWS_ACCESS_KEY_ID/…`).
    ///
    /// - Throws: `OttoError` `provider.aws.credentials` naming every place otto looked.
    public static func resolve(providerName: String, accessKeyIDEnv: String? = nil, secretAccessKeyEnv: String? = nil,
                               sessionTokenEnv: String? = nil, credentialsFile: String? = nil, profile: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (AWSCredentials, origin: String) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
            return text
        }
        if accessKeyIDEnv != nil || secretAccessKeyEnv != nil {
            guard let idName = accessKeyIDEnv, let secretName = secretAccessKeyEnv else {
                throw OttoError("provider.aws.credentials",
                                "provider `\(providerName)`: set both `access_key_id_env` and `secret_access_key_env` (the names of environment variables holding the key)")
            }
            let missing = [idName, secretName].filter { value($0) == nil }
            guard missing.isEmpty, let id = value(idName), let secret = value(secretName) else {
                throw OttoError("provider.aws.credentials",
                                "provider `\(providerName)`: environment variable\(missing.count > 1 ? "s" : "") \(missing.joined(separator: " and ")) \(missing.count > 1 ? "are" : "is") not set or empty; export the AWS access key there")
            }
            let token = sessionTokenEnv.flatMap(value)
            return (AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token),
                    "environment variables \(idName)/\(secretName)")
        }
        var looked: [String] = []
        if profile == nil && credentialsFile == nil {
            if let id = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
                return (AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")),
                        "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
            }
            looked.append("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)")
        }
        let file = credentialsFile ?? value("AWS_SHARED_CREDENTIALS_FILE")
            ?? (value("HOME") ?? NSHomeDirectory()) + "/.aws/credentials"
        let section = profile ?? value("AWS_PROFILE") ?? "default"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            looked.append("\(file) (cannot be read)")
            throw noCredentials(providerName, looked)
        }
        let profiles = parseINI(text)
        guard let entries = profiles[section] else {
            looked.append("\(file) (no profile [\(section)])")
            throw noCredentials(providerName, looked)
        }
        guard let id = entries["aws_access_key_id"], !id.isEmpty, let secret = entries["aws_secret_access_key"], !secret.isEmpty else {
            throw OttoError("provider.aws.credentials",
                            "provider `\(providerName)`: profile [\(section)] in \(file) needs both aws_access_key_id and aws_secret_access_key")
        }
        return (AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: entries["aws_session_token"]),
                "profile \(section) in \(file)")
    }

    private static func noCredentials(_ provider: String, _ looked: [String]) -> OttoError {
        OttoError("provider.aws.credentials",
                  "no AWS credentials found for provider `\(provider)`; looked in: \(looked.joined(separator: "; ")). Export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name other variables with `access_key_id_env`/`secret_access_key_env`, or add the profile to the shared credentials file")
    }

    /// The sections of an AWS INI file (`[name]` or `[profile name]`), keys lower-cased, values trimmed.
    /// `#` and `;` start comment lines.
    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst(8)).trimmingCharacters(in: .whitespaces) }
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: [:]][key] = value
        }
        return sections
    }
}
