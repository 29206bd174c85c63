/// An AWS access key (and the session token of temporary credentials). The secret never appears in descriptions,
/// errors or logs: `description` shows the access key id only.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key id (`AKIA…`, `ASIA…`); not secret, it names the key in errors and in rate-limit buckets.
    public var accessKeyID: String
    /// The secret access key: used only to derive signing keys.
    public var secretAccessKey: String
    /// The session token of temporary credentials (sent as `X-Amz-Security-Token`), if any.
    public var sessionToken: String?

    /// Creates credentials; an empty session token counts as none.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken?.isEmpty == true ? nil : sessionToken
    }

    /// `AWS access key AKIA… (secret not shown)`.
    public var description: String {
        "AWS access key \(accessKeyID)\(sessionToken == nil ? "" : " with a session token") (secret not shown)"
    }

    /// Same as `description`: the secret never reaches a log through `debugPrint` either.
    public var debugDescription: String { description }
}
