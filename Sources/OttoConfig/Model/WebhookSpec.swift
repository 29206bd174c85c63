import OttoCore

/// One `webhooks/NAME.yml`: a receiver of the deployment ledger's events, signed with HMAC-SHA256.
public struct WebhookSpec: Sendable, Hashable {
    /// `webhook:`, the file's name.
    public var name: String
    /// `url:`: https, or http to a loopback address.
    public var url: String
    /// `secret_env:` or `secret_file:`: where the signing secret is read (never written in YAML).
    public var secretEnv: String?
    /// See `secretEnv`.
    public var secretFile: String?
    /// `events:` (every kind when empty).
    public var events: Set<LedgerEventKind>
    /// `environments:` (every one when empty).
    public var environments: Set<String>
    /// Where the file's mapping starts.
    public var location: SourceLocation

    /// The subscription the ledger's outbox keeps for it.
    public var subscription: WebhookSubscription { WebhookSubscription(name: name, events: events, environments: environments) }
}
