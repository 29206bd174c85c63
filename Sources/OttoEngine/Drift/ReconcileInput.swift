import OttoCore
import OttoState

/// Everything one scheduled run needs, loaded fresh for each run (so edits to YAML and items made over HTTP are
/// picked up). The CLI builds it: it is the only place that turns inventory into providers.
public struct ReconcileInput: Sendable {
    /// The desired resources and providers, as the apply pipeline takes them.
    public var apply: ApplyInput
    /// The drift policy of the site each resource belongs to (resources of no site: `correct`).
    public var policy: @Sendable (ResourceAddress) -> DriftPolicy
    /// The state.
    public var store: any StateStore

    /// The desired resources.
    public var resources: [Resource] { apply.resources }

    /// Creates an input.
    public init(apply: ApplyInput, policy: @escaping @Sendable (ResourceAddress) -> DriftPolicy, store: any StateStore) {
        self.apply = apply
        self.policy = policy
        self.store = store
    }
}
