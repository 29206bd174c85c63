import OttoConfig
import OttoCore
import OttoState

/// Everything one scheduled run needs, loaded fresh for each run (so edits to YAML and items made over HTTP are
/// picked up). The CLI builds it: it is the only place that turns inventory into providers.
public struct ReconcileInput: Sendable {
    /// The desired resources.
    public var resources: [Resource]
    /// The drift policy of the site each resource belongs to (resources of no site: `correct`).
    public var policy: @Sendable (ResourceAddress) -> DriftPolicy
    /// Provider instances for the configuration and the state.
    public var providers: [String: any Provider]
    /// The state.
    public var store: any StateStore
    /// Where apply results are committed.
    public var writer: any ApplyStateWriter
    /// HTTP requests made so far, by provider (read before and after the refresh to count its API calls).
    public var requestCounts: @Sendable () -> [String: Int]

    /// Creates an input.
    public init(resources: [Resource], policy: @escaping @Sendable (ResourceAddress) -> DriftPolicy, providers: [String: any Provider],
                store: any StateStore, writer: any ApplyStateWriter, requestCounts: @escaping @Sendable () -> [String: Int] = { [:] }) {
        self.resources = resources
        self.policy = policy
        self.providers = providers
        self.store = store
        self.writer = writer
        self.requestCounts = requestCounts
    }
}
