import Foundation

/// Something a plan reports about a resource that is no change: a fleet unit no machine can take, a machine whose
/// units wait out its grace period.
public struct ResourceNote: Sendable, Hashable, Codable {
    /// The resource.
    public var address: ResourceAddress
    /// What to tell people, e.g. `cannot be placed: Conflicts=web@*.service blocks demo-web-0 (web@1.service)`.
    public var message: String

    /// Creates a note.
    public init(address: ResourceAddress, message: String) {
        self.address = address
        self.message = message
    }
}

/// What a placing provider decided after refresh (see `PlacingProvider`).
public struct Placement: Sendable {
    /// The provider's desired resources to plan, with what placement decided filled in; a resource left out is one
    /// that cannot be placed now (its note says why).
    public var desired: [Resource]
    /// Observations to plan against instead of the refresh's, for the addresses given.
    public var observed: [ResourceAddress: ObservedResource]
    /// What the plan reports besides its changes.
    public var notes: [ResourceNote]

    /// Creates a placement.
    public init(desired: [Resource], observed: [ResourceAddress: ObservedResource] = [:], notes: [ResourceNote] = []) {
        self.desired = desired
        self.observed = observed
        self.notes = notes
    }
}

/// A provider whose desired resources depend on what exists elsewhere: otto's fleet scheduler decides which machine
/// each unit goes to from what the refresh saw on every machine. The engine asks it after refresh, before planning.
public protocol PlacingProvider: Provider {
    /// Decides the placement of this provider's `desired` resources from the refresh (`observed`, every provider's)
    /// and the state (`recorded`), at time `now`. Pure given the refresh: the same inputs give the same placement.
    func place(_ desired: [Resource], observed: [ResourceAddress: ObservedResource], recorded: [ResourceAddress: ResourceRecord],
               now: Date) -> Placement
}
