/// An SSH failure: a stable `code` (`ssh.connect`, `ssh.timeout`, `ssh.auth`, `ssh.hostkey.mismatch`,
/// `ssh.hostkey.unknown`, `ssh.rsa_unsupported`, `ssh.exec`, `ssh.sftp`, `ssh.closed`, `ssh.key`, `ssh.cancelled`),
/// a message a person can act on, and the `host:port` it concerns. Never contains key material.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// Stable, dotted identifier.
    public var code: String
    /// What happened and what to do about it.
    public var message: String
    /// `host:port` of the connection (empty when no host is involved).
    public var host: String

    /// Creates an error.
    public init(_ code: String, _ message: String, host: String) {
        self.code = code
        self.message = message
        self.host = host
    }

    public var description: String { message }
}
