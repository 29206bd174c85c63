import Foundation
import OttoCore

/// What the executor does to one resource.
public enum Action: String, Sendable, Codable, Hashable, CaseIterable {
    /// Nothing: what exists matches the configuration.
    case noop
    /// Make it: it does not exist.
    case create
    /// Change it in place.
    case update
    /// Delete and create again (or create first, then delete), because an attribute cannot change in place.
    case replace
    /// Delete it: it is in state but no longer in the configuration (or this is a destroy).
    case delete
}

/// Order of the two halves of a replace.
public enum ReplaceOrder: String, Sendable, Codable, Hashable {
    /// Delete the old one, then create the new one (the default).
    case deleteThenCreate
    /// Create the new one, then delete the old one (for kinds that must not be absent).
    case createThenDelete
}

/// One attribute's difference.
public struct AttributeChange: Sendable, Codable, Hashable {
    /// Attribute name.
    public var name: String
    /// What exists (nil: absent).
    public var before: Value?
    /// What the configuration wants (nil: absent).
    public var after: Value?
    /// True when this difference alone forces a replace.
    public var forcesReplace: Bool
    /// The attribute is sensitive (`AttributeSchema.sensitive`): its values are never shown (see `Plan.redacted`).
    public var sensitive: Bool
    /// How the change reads better than its two values (a text's diff, a listing's changed names); nil for plain
    /// values and for sensitive attributes.
    public var detail: ChangeDetail?

    /// Creates a change.
    public init(name: String, before: Value?, after: Value?, forcesReplace: Bool = false, sensitive: Bool = false,
                detail: ChangeDetail? = nil) {
        self.name = name
        self.before = before
        self.after = after
        self.forcesReplace = forcesReplace
        self.sensitive = sensitive
        self.detail = detail
    }
}

/// What a change of a file's text or of a directory's files is shown as (`AttributeSchema.Presentation`).
public indirect enum ChangeDetail: Sendable, Codable, Hashable {
    /// The unified diff (`TextDiff`) from the text on the machine to the planned one (from nothing for a new file).
    case diff(String)
    /// The text cannot be shown (binary, larger than `TextDiff.maxBytes`, or not read): why, in words.
    case unavailable(String)
    /// A directory's file names: added, removed and changed (content or mode), each sorted.
    case files(added: [String], removed: [String], changed: [String])
}

/// The planned action for one resource, with the evidence for it.
public struct ResourceChange: Sendable, Codable, Hashable {
    /// The resource.
    public var address: ResourceAddress
    /// Provider instance that manages it.
    public var provider: String
    /// What to do.
    public var action: Action
    /// For `replace`: which half goes first.
    public var replaceOrder: ReplaceOrder?
    /// What exists now (observed, or from state without refresh); nil when nothing exists.
    public var before: ObservedResource?
    /// The desired resource (references resolved where already known); nil for deletes.
    public var after: Resource?
    /// Attribute-level differences.
    public var changes: [AttributeChange]
    /// Why (`ChangeReason.description` gives the words: "does not exist yet", "changed outside otto (drift): ...").
    public var reason: ChangeReason
    /// Resources that must be handled before this one (for deletes: after it, in reverse).
    public var dependencies: [ResourceAddress]
    /// The resource's sensitive attributes (from its kind's schema): their values are never shown.
    public var sensitive: Set<String>
    /// The site the resource belongs to (from the configuration, else the state); nil: account-wide.
    public var site: String?
    /// The lock and serial that cover it.
    public var scope: StateScope { StateScope(site: site) }

    /// Creates a change.
    public init(address: ResourceAddress, provider: String, action: Action, replaceOrder: ReplaceOrder? = nil,
                before: ObservedResource?, after: Resource?, changes: [AttributeChange], reason: ChangeReason,
                dependencies: [ResourceAddress], sensitive: Set<String> = []) {
        self.address = address
        self.provider = provider
        self.action = action
        self.replaceOrder = replaceOrder
        self.before = before
        self.after = after
        self.changes = changes
        self.reason = reason
        self.dependencies = dependencies
        self.sensitive = sensitive
    }
}

/// A difference between state and what exists, found by refresh.
public struct Drift: Sendable, Codable, Hashable {
    /// The resource.
    public var address: ResourceAddress
    /// What state recorded; nil when it was not in state.
    public var recorded: ObservedResource?
    /// What exists now; nil when it is gone.
    public var observed: ObservedResource?
    /// The resource's sensitive attributes (from its kind's schema): their values are never shown.
    public var sensitive: Set<String>

    /// Creates a drift entry.
    public init(address: ResourceAddress, recorded: ObservedResource?, observed: ObservedResource?, sensitive: Set<String> = []) {
        self.address = address
        self.recorded = recorded
        self.observed = observed
        self.sensitive = sensitive
    }
}

/// How the refresh behind a plan went: how long it took and how many API calls each provider made.
public struct RefreshSummary: Sendable, Codable, Hashable {
    /// Wall time of the whole refresh.
    public var seconds: Double
    /// HTTP requests sent, retries included, by provider name (providers that speak SSH are not counted).
    public var apiCalls: [String: Int]
    /// Resources observed.
    public var resources: Int

    /// Creates a summary.
    public init(seconds: Double, apiCalls: [String: Int] = [:], resources: Int) {
        self.seconds = seconds
        self.apiCalls = apiCalls
        self.resources = resources
    }
}

/// What kind of plan this is.
public enum PlanMode: String, Sendable, Codable, Hashable {
    /// Converge everything towards the configuration.
    case normal
    /// Delete everything otto manages (or the targets).
    case destroy
    /// Only bring state up to date with what exists; change nothing.
    case refreshOnly
}

/// Options that shape a plan.
public struct PlanOptions: Sendable, Codable, Hashable {
    /// Normal, destroy or refresh-only.
    public var mode: PlanMode
    /// Limit to these addresses (or prefixes) and what they depend on (for destroy: what depends on them).
    public var targets: [String]
    /// Force a replace of these addresses.
    public var replace: [ResourceAddress]
    /// Observe what exists first (default). When false, state is trusted as it is.
    public var refresh: Bool
    /// Limit to the resources of these sites and what they need (for destroy: what depends on them); empty: every site.
    public var sites: [String]

    /// Creates options; the defaults are a normal plan with refresh.
    public init(mode: PlanMode = .normal, targets: [String] = [], replace: [ResourceAddress] = [], refresh: Bool = true,
                sites: [String] = []) {
        self.mode = mode
        self.targets = targets
        self.replace = replace
        self.refresh = refresh
        self.sites = sites
    }

    private enum CodingKeys: String, CodingKey { case mode, targets, replace, refresh, sites }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decode(PlanMode.self, forKey: .mode)
        targets = try c.decode([String].self, forKey: .targets)
        replace = try c.decode([ResourceAddress].self, forKey: .replace)
        refresh = try c.decode(Bool.self, forKey: .refresh)
        sites = try c.decodeIfPresent([String].self, forKey: .sites) ?? []
    }
}

/// A saved plan's format version is not the one this otto reads.
public struct UnsupportedPlanFormat: Error, Sendable, CustomStringConvertible {
    /// The version the file says it has.
    public var found: Int
    /// Creates the error.
    public init(found: Int) { self.found = found }
    public var description: String {
        found < Plan.currentFormatVersion
            ? "it was saved by an older otto (plan format \(found); this otto reads format \(Plan.currentFormatVersion)): make the plan again with `otto plan -out FILE`"
            : "it was saved by a newer otto (plan format \(found); this otto reads format \(Plan.currentFormatVersion))"
    }
}

/// A plan: one change per resource in scope, bound to the state it was made against.
public struct Plan: Sendable, Codable {
    /// The plan file format this otto writes and reads. 2: change reasons are `ChangeReason` objects (1 had words).
    public static let currentFormatVersion = 2
    /// Plan file format version.
    public var formatVersion: Int
    /// The options it was made with.
    public var options: PlanOptions
    /// State lineage (which state) and serial (which version of it) the plan was made against.
    public var stateLineage: String
    /// See `stateLineage`.
    public var stateSerial: Int
    /// The serial of each scope the plan was made under (`StateScope.key` → serial): applying a saved plan is refused
    /// when one of them moved. Plans of earlier versions have none (then `stateSerial` is compared).
    public var stateSerials: [String: Int]
    /// When it was made.
    public var createdAt: Date
    /// One change per resource in scope, sorted by address; includes no-ops.
    public var changes: [ResourceChange]
    /// What refresh found different from state.
    public var drift: [Drift]
    /// Handlers left pending by an earlier apply (e.g. a reload that never ran): they run with this one.
    public var handlers: [Handler]
    /// Pending creates (left by an interrupted run) that refresh looked up by their key and did not find: the create
    /// never happened, so applying the plan drops them from the state.
    public var abandonedCreates: [ResourceAddress]
    /// The refresh this plan was made from; nil without refresh.
    public var refresh: RefreshSummary?
    /// The environment it was made for (`--env`); nil for a project without environments.
    public var environment: String?
    /// What the plan reports besides its changes: fleet units no machine can take (with the constraint that blocks
    /// them), units waiting out their machine's grace period.
    public var notes: [ResourceNote] = []

    /// Creates a plan.
    public init(options: PlanOptions, stateLineage: String, stateSerial: Int, createdAt: Date = Date(),
                changes: [ResourceChange], drift: [Drift], handlers: [Handler] = [], abandonedCreates: [ResourceAddress] = []) {
        self.formatVersion = Self.currentFormatVersion
        self.options = options
        self.stateLineage = stateLineage
        self.stateSerial = stateSerial
        self.stateSerials = [:]
        self.createdAt = createdAt
        self.changes = changes
        self.drift = drift
        self.handlers = handlers
        self.abandonedCreates = abandonedCreates
    }

    private enum CodingKeys: String, CodingKey {
        case formatVersion, options, stateLineage, stateSerial, stateSerials, createdAt, changes, drift, handlers, abandonedCreates, refresh
        case environment, notes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        guard formatVersion == Self.currentFormatVersion else { throw UnsupportedPlanFormat(found: formatVersion) }
        options = try c.decode(PlanOptions.self, forKey: .options)
        stateLineage = try c.decode(String.self, forKey: .stateLineage)
        stateSerial = try c.decode(Int.self, forKey: .stateSerial)
        stateSerials = try c.decodeIfPresent([String: Int].self, forKey: .stateSerials) ?? [:]
        createdAt = try c.decode(Date.self, forKey: .createdAt)
        changes = try c.decode([ResourceChange].self, forKey: .changes)
        drift = try c.decode([Drift].self, forKey: .drift)
        handlers = try c.decodeIfPresent([Handler].self, forKey: .handlers) ?? []
        abandonedCreates = try c.decodeIfPresent([ResourceAddress].self, forKey: .abandonedCreates) ?? []
        refresh = try c.decodeIfPresent(RefreshSummary.self, forKey: .refresh)
        environment = try c.decodeIfPresent(String.self, forKey: .environment)
        notes = try c.decodeIfPresent([ResourceNote].self, forKey: .notes) ?? []
    }

    /// The scopes of the resources the plan covers.
    public var scopes: Set<StateScope> { Set(runs: changes.lazy.map(\.scope)) }

    /// The scopes whose state applying the plan writes: those of its actions and of what its refresh found.
    public var scopesWritten: Set<StateScope> {
        var out = Set(runs: changes.lazy.filter { $0.action != .noop }.map(\.scope))
        guard !drift.isEmpty || !abandonedCreates.isEmpty else { return out }
        let site = Dictionary(changes.map { ($0.address, $0.scope) }, uniquingKeysWith: { a, _ in a })
        for d in drift { out.insert(site[d.address] ?? .account) }
        for a in abandonedCreates { out.insert(site[a] ?? .account) }
        return out
    }

    /// Changes that do something.
    public var actionable: [ResourceChange] { changes.filter { $0.action != .noop } }

    /// True when applying would change anything (including, for refresh-only, the state).
    public var hasChanges: Bool {
        options.mode == .refreshOnly ? !drift.isEmpty : (!handlers.isEmpty || changes.contains { $0.action != .noop })
    }

    /// How many changes of each action.
    public var counts: [Action: Int] {
        // Counted in place (an action's position among the few cases), then put in a table: no hashing per change.
        let actions = Action.allCases
        var n = [Int](repeating: 0, count: actions.count)
        for i in changes.indices { n[actions.firstIndex(of: changes[i].action)!] += 1 }
        var c: [Action: Int] = [:]
        for (action, count) in zip(actions, n) where count > 0 { c[action] = count }
        return c
    }
}
