/// Why the planner chose a resource's action. Turned into words (`description`) only where a person reads it: the
/// plan text, status details, logs, the API.
///
/// Saved plans store it as `{"code": ..., "attributes": [...]}` (plus the words, as `text`, for readers of
/// `otto plan --json`; decoding ignores them).
public enum ChangeReason: Sendable, Hashable, CustomStringConvertible {
    /// It does not exist and the state has no record of it: `does not exist yet`.
    case doesNotExist
    /// The state has a record of it, but it is gone: `in state but no longer exists (deleted outside otto)`.
    case deletedOutsideOtto
    /// `--replace` names it: `replacement requested with --replace`.
    case replaceRequested
    /// The attribute differs and cannot change in place: `` `NAME` cannot change in place (forces replacement) ``.
    case cannotChangeInPlace(String)
    /// It exists as configured but the state had no record: `exists already; adopted into state`.
    case adopted
    /// Nothing to do: `up to date`.
    case upToDate
    /// Every difference is a value known only after apply: `depends on values known only after apply: A, B`.
    case knownAfterApply([String])
    /// It exists, is not in state and differs: `exists but differs from the configuration (adopting): A, B`.
    case adoptingWithDifferences([String])
    /// The configuration still says what the state recorded, but what exists differs: `changed outside otto (drift): A`.
    case drift([String])
    /// The configuration changed these attributes: `configuration changed: A, B`.
    case configurationChanged([String])
    /// An interrupted run made it (found by its idempotency key) and it is adopted; `differs` names the attributes that
    /// still differ (empty: none): `made by an interrupted run (found by its idempotency key); adopted[, and it differs: A]`.
    case madeByInterruptedRun(differs: [String])
    /// A destroy plan deletes it: `destroy requested`.
    case destroyRequested
    /// A destroy plan deletes what an interrupted run made: `destroy requested (made by an interrupted run)`.
    case destroyRequestedMadeByInterruptedRun
    /// It left the configuration: `no longer in configuration`.
    case removedFromConfiguration
    /// An interrupted run made it and it is not in the configuration: `made by an interrupted run and no longer in configuration`.
    case madeByInterruptedRunRemoved

    /// The words people read (the README quotes some of them).
    public var description: String {
        switch self {
        case .doesNotExist: return "does not exist yet"
        case .deletedOutsideOtto: return "in state but no longer exists (deleted outside otto)"
        case .replaceRequested: return "replacement requested with --replace"
        case .cannotChangeInPlace(let name): return "`\(name)` cannot change in place (forces replacement)"
        case .adopted: return "exists already; adopted into state"
        case .upToDate: return "up to date"
        case .knownAfterApply(let names): return "depends on values known only after apply: " + names.joined(separator: ", ")
        case .adoptingWithDifferences(let names): return "exists but differs from the configuration (adopting): " + names.joined(separator: ", ")
        case .drift(let names): return "changed outside otto (drift): " + names.joined(separator: ", ")
        case .configurationChanged(let names): return "configuration changed: " + names.joined(separator: ", ")
        case .madeByInterruptedRun(let differs):
            return "made by an interrupted run (found by its idempotency key); adopted"
                + (differs.isEmpty ? "" : ", and it differs: " + differs.joined(separator: ", "))
        case .destroyRequested: return "destroy requested"
        case .destroyRequestedMadeByInterruptedRun: return "destroy requested (made by an interrupted run)"
        case .removedFromConfiguration: return "no longer in configuration"
        case .madeByInterruptedRunRemoved: return "made by an interrupted run and no longer in configuration"
        }
    }

    /// True when the difference arose outside otto (changed or deleted by someone else), not from a configuration
    /// change otto has yet to apply.
    public var isDrift: Bool {
        switch self {
        case .drift, .deletedOutsideOtto: return true
        case .doesNotExist, .replaceRequested, .cannotChangeInPlace, .adopted, .upToDate, .knownAfterApply,
             .adoptingWithDifferences, .configurationChanged, .madeByInterruptedRun, .destroyRequested,
             .destroyRequestedMadeByInterruptedRun, .removedFromConfiguration, .madeByInterruptedRunRemoved:
            return false
        }
    }

    /// The attributes the reason names (empty for reasons that name none).
    public var attributes: [String] {
        switch self {
        case .cannotChangeInPlace(let name): return [name]
        case .knownAfterApply(let n), .adoptingWithDifferences(let n), .drift(let n), .configurationChanged(let n): return n
        case .madeByInterruptedRun(let differs): return differs
        case .doesNotExist, .deletedOutsideOtto, .replaceRequested, .adopted, .upToDate, .destroyRequested,
             .destroyRequestedMadeByInterruptedRun, .removedFromConfiguration, .madeByInterruptedRunRemoved:
            return []
        }
    }

    /// The stable code a saved plan stores, one per case.
    public var code: String {
        switch self {
        case .doesNotExist: return "does_not_exist"
        case .deletedOutsideOtto: return "deleted_outside_otto"
        case .replaceRequested: return "replace_requested"
        case .cannotChangeInPlace: return "cannot_change_in_place"
        case .adopted: return "adopted"
        case .upToDate: return "up_to_date"
        case .knownAfterApply: return "known_after_apply"
        case .adoptingWithDifferences: return "adopting_with_differences"
        case .drift: return "drift"
        case .configurationChanged: return "configuration_changed"
        case .madeByInterruptedRun: return "made_by_interrupted_run"
        case .destroyRequested: return "destroy_requested"
        case .destroyRequestedMadeByInterruptedRun: return "destroy_requested_made_by_interrupted_run"
        case .removedFromConfiguration: return "removed_from_configuration"
        case .madeByInterruptedRunRemoved: return "made_by_interrupted_run_removed"
        }
    }

    /// The reason with `code` naming `attributes`, or nil for an unknown code (or a missing attribute).
    public init?(code: String, attributes: [String]) {
        switch code {
        case "does_not_exist": self = .doesNotExist
        case "deleted_outside_otto": self = .deletedOutsideOtto
        case "replace_requested": self = .replaceRequested
        case "cannot_change_in_place":
            guard let name = attributes.first else { return nil }
            self = .cannotChangeInPlace(name)
        case "adopted": self = .adopted
        case "up_to_date": self = .upToDate
        case "known_after_apply": self = .knownAfterApply(attributes)
        case "adopting_with_differences": self = .adoptingWithDifferences(attributes)
        case "drift": self = .drift(attributes)
        case "configuration_changed": self = .configurationChanged(attributes)
        case "made_by_interrupted_run": self = .madeByInterruptedRun(differs: attributes)
        case "destroy_requested": self = .destroyRequested
        case "destroy_requested_made_by_interrupted_run": self = .destroyRequestedMadeByInterruptedRun
        case "removed_from_configuration": self = .removedFromConfiguration
        case "made_by_interrupted_run_removed": self = .madeByInterruptedRunRemoved
        default: return nil
        }
    }
}

extension ChangeReason: Codable {
    private enum CodingKeys: String, CodingKey { case code, attributes, text }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let code = try c.decode(String.self, forKey: .code)
        let attributes = try c.decodeIfPresent([String].self, forKey: .attributes) ?? []
        guard let reason = ChangeReason(code: code, attributes: attributes) else {
            throw DecodingError.dataCorruptedError(forKey: .code, in: c, debugDescription: "unknown change reason `\(code)`")
        }
        self = reason
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(code, forKey: .code)
        if !attributes.isEmpty { try c.encode(attributes, forKey: .attributes) }
        try c.encode(description, forKey: .text)
    }
}
