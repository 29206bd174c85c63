import OttoCore

/// How `otto serve`'s API listens and who may use it.
public struct APIServerConfiguration: Sendable {
    /// Where to listen (default `127.0.0.1:8420`).
    public var listen: ListenAddress
    /// PEM certificate chain and private key files: with them the server speaks HTTPS only.
    public var tls: (certificate: String, key: String)?
    /// Listen on an address other people can reach without TLS (`--insecure-listen`): bearer tokens then cross the
    /// network in clear text. Off by default, and `validate()` refuses a non-loopback address without TLS unless set.
    public var allowPlaintextNonLoopback: Bool
    /// The bearer tokens.
    public var tokens: TokenSet
    /// Largest request body accepted (default 1 MiB); a larger one gets 413.
    public var maxBodyBytes: Int
    /// Routes anyone may call without a token (default: `/healthz` and `/openapi.json`).
    public var openPaths: Set<String>
    /// How often the YAML files are checked for edits (default 2 s).
    public var reloadInterval: Duration
    /// Answer the hot read routes from stored bytes ahead of the generated OpenAPI layer (default on; see
    /// `StoredReadMiddleware`). Off, every request goes through the generated layer; the answers are the same.
    public var storedReads: Bool

    /// Creates a configuration.
    public init(listen: ListenAddress = .default, tls: (certificate: String, key: String)? = nil,
                allowPlaintextNonLoopback: Bool = false, tokens: TokenSet = TokenSet(), maxBodyBytes: Int = 1 << 20,
                openPaths: Set<String> = ["/healthz", "/openapi.json"], reloadInterval: Duration = .seconds(2),
                storedReads: Bool = true) {
        self.listen = listen
        self.tls = tls
        self.allowPlaintextNonLoopback = allowPlaintextNonLoopback
        self.tokens = tokens
        self.maxBodyBytes = maxBodyBytes
        self.openPaths = openPaths
        self.reloadInterval = reloadInterval
        self.storedReads = storedReads
    }

    /// Refuses a plaintext listener on an address other machines can reach, unless explicitly allowed.
    public func validate() throws {
        if tls == nil, !listen.isLoopback, !allowPlaintextNonLoopback {
            throw OttoError("serve.listen", "refusing to listen on \(listen) without TLS: bearer tokens would cross the network "
                            + "in clear text. Give --tls-cert and --tls-key, listen on 127.0.0.1, or pass --insecure-listen "
                            + "to do it anyway")
        }
        guard maxBodyBytes > 0 else { throw OttoError("serve.config", "the body size limit must be positive") }
    }
}
