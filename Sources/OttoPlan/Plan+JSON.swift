import Foundation
import OttoCore

/// A plan as people's tools read it: what `otto plan --json` prints and `POST /v1/plan` answers, one shape for both
/// (described as `Plan` in the API's openapi.yaml):
///
/// `{"lineage", "serial", "environment", "notes": [{"address", "message"}], "mode", "created_at", "has_changes", "counts": {"noop", "create", "update", "replace",
///   "delete"}, "changes": [{"address", "provider", "action", "reason", "source", "attributes": [{"name", "before",
///   "after", "forces_replace", "diff"?, "note"?, "files"?}]}], "drift": [addresses], "refresh": {"seconds", "resources",
///   "api_calls"} | null}`.
///
/// `changes` lists what does something (no-ops are only counted). Values of sensitive attributes (the kind's schema,
/// and always ``sensitiveAttributes``) are shown as `"(sensitive)"`. A changed text (a file's, a template's, a rendered
/// configuration's hash) that is not sensitive carries its unified diff in `diff`, or in `note` why it cannot be shown;
/// a directory's changed files are listed in `files` (`added`, `removed`, `changed`). Dates are ISO 8601 with milliseconds, UTC, whatever the encoder's date strategy. The saved plan
/// file (`otto plan -out`) is ``Plan``'s own Codable form, not this one.
public struct PlanDocument: Codable, Sendable, Hashable {
    /// State lineage the plan was made against.
    public var lineage: String
    /// State serial the plan was made against.
    public var serial: Int
    /// `normal`, `destroy` or `refreshOnly`.
    public var mode: PlanMode
    /// When the plan was made.
    public var createdAt: Date
    /// True when applying would change anything.
    public var hasChanges: Bool
    /// Changes per action, no-ops included.
    public var counts: Counts
    /// The changes that do something.
    public var changes: [Change]
    /// Addresses whose real state differs from the recorded one.
    public var drift: [String]
    /// The refresh the plan was made from; nil without refresh.
    public var refresh: Refresh?
    /// The environment the plan was made for (`--env`); null for a project without environments.
    public var environment: String?
    /// What the plan reports besides its changes (fleet units no machine can take, and why).
    public var notes: [Note] = []

    /// A note about one resource.
    public struct Note: Codable, Sendable, Hashable {
        /// The resource's address.
        public var address: String
        /// What to tell people.
        public var message: String
    }

    /// Attributes whose values are never shown as values, whatever the kind's schema says (files and cloud-init may
    /// hold secrets). A text that is not sensitive for its resource shows as the `diff` of its hash attribute instead.
    public static let sensitiveAttributes: Set<String> = ["content", "user_data"]

    /// Changes per action.
    public struct Counts: Codable, Sendable, Hashable {
        /// Resources left as they are.
        public var noop: Int
        /// Resources created.
        public var create: Int
        /// Resources updated in place.
        public var update: Int
        /// Resources replaced.
        public var replace: Int
        /// Resources deleted.
        public var delete: Int
    }

    /// One resource's change.
    public struct Change: Codable, Sendable, Hashable {
        /// The resource's address.
        public var address: String
        /// The provider that carries it out.
        public var provider: String
        /// What is done.
        public var action: Action
        /// Why, in words.
        public var reason: String
        /// Where the resource is defined: `yaml` or `api`.
        public var source: ResourceSource
        /// The attributes that differ.
        public var attributes: [Attribute]
    }

    /// One attribute's difference; `before` / `after` are null when absent.
    public struct Attribute: Codable, Sendable, Hashable {
        /// Attribute name.
        public var name: String
        /// What exists.
        public var before: JSONValue?
        /// What the configuration wants.
        public var after: JSONValue?
        /// True when this difference forces a replace.
        public var forcesReplace: Bool
        /// The unified diff of a changed text (absent for other attributes and for sensitive ones).
        public var diff: String? = nil
        /// Why a changed text is not shown as a diff (binary or too large), with the hashes.
        public var note: String? = nil
        /// A directory's changed file names.
        public var files: Files? = nil

        /// A directory's file names that differ.
        public struct Files: Codable, Sendable, Hashable {
            /// New files.
            public var added: [String]
            /// Files that go away.
            public var removed: [String]
            /// Files whose content or mode changes.
            public var changed: [String]
        }

        enum CodingKeys: String, CodingKey {
            case name, before, after, diff, note, files
            case forcesReplace = "forces_replace"
        }

        /// Writes `before` and `after` as null when absent (they are always present in the document); `diff`, `note`
        /// and `files` only when there is one.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(before, forKey: .before)
            try c.encode(after, forKey: .after)
            try c.encode(forcesReplace, forKey: .forcesReplace)
            try c.encodeIfPresent(diff, forKey: .diff)
            try c.encodeIfPresent(note, forKey: .note)
            try c.encodeIfPresent(files, forKey: .files)
        }
    }

    /// What the refresh did.
    public struct Refresh: Codable, Sendable, Hashable {
        /// Wall time of the refresh.
        public var seconds: Double
        /// Resources observed.
        public var resources: Int
        /// HTTP requests sent, by provider.
        public var apiCalls: [String: Int]

        enum CodingKeys: String, CodingKey {
            case seconds, resources
            case apiCalls = "api_calls"
        }
    }

    /// An attribute value as plain JSON: maps, lists and scalars as they are; references and unknown values as their
    /// text (`${machine.web.address}`, `(known after apply)`).
    public struct JSONValue: Codable, Sendable, Hashable {
        /// The value.
        public var value: Value

        /// Wraps `value`.
        public init(_ value: Value) { self.value = value }

        public init(from decoder: any Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var items: [Value] = []
                while !list.isAtEnd { items.append(try list.decode(JSONValue.self).value) }
                value = .list(items)
            } else if let map = try? decoder.container(keyedBy: AnyKey.self) {
                var entries: [String: Value] = [:]
                for key in map.allKeys { entries[key.stringValue] = try map.decode(JSONValue.self, forKey: key).value }
                value = .map(entries)
            } else {
                let c = try decoder.singleValueContainer()
                if c.decodeNil() { value = .null }
                else if let b = try? c.decode(Bool.self) { value = .bool(b) }
                else if let i = try? c.decode(Int.self) { value = .int(i) }
                else if let d = try? c.decode(Double.self) { value = .double(d) }
                else { value = .string(try c.decode(String.self)) }
            }
        }

        public func encode(to encoder: any Encoder) throws {
            switch value {
            case .list(let items):
                var c = encoder.unkeyedContainer()
                for item in items { try c.encode(JSONValue(item)) }
            case .map(let entries):
                var c = encoder.container(keyedBy: AnyKey.self)
                for key in entries.keys.sorted() { try c.encode(JSONValue(entries[key]!), forKey: AnyKey(key)) }
            default:
                var c = encoder.singleValueContainer()
                switch value {
                case .null: try c.encodeNil()
                case .bool(let b): try c.encode(b)
                case .int(let i): try c.encode(i)
                case .double(let d): if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
                case .string(let s): try c.encode(s)
                default: try c.encode(value.description)
                }
            }
        }
    }

    /// Any string as a coding key (the keys of maps).
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    enum CodingKeys: String, CodingKey {
        case lineage, serial, mode, changes, drift, refresh, counts, environment, notes
        case createdAt = "created_at"
        case hasChanges = "has_changes"
    }

    /// The document of `plan`; `sources` says where each resource is defined (`yaml` when not listed).
    public init(_ plan: Plan, sources: [ResourceAddress: ResourceSource] = [:]) {
        let counts = plan.counts
        // The kind's schema marks sensitive attributes (`AttributeChange.sensitive`, set by the planner); the fixed
        // names stay hidden too, for kinds whose schema is untyped.
        func shown(_ a: AttributeChange, _ v: Value?) -> JSONValue? {
            guard let v else { return nil }
            return a.sensitive || Self.sensitiveAttributes.contains(a.name) ? JSONValue(.string("(sensitive)")) : JSONValue(v)
        }
        lineage = plan.stateLineage
        serial = plan.stateSerial
        mode = plan.options.mode
        createdAt = plan.createdAt
        hasChanges = plan.hasChanges
        self.counts = Counts(noop: counts[.noop] ?? 0, create: counts[.create] ?? 0, update: counts[.update] ?? 0,
                             replace: counts[.replace] ?? 0, delete: counts[.delete] ?? 0)
        changes = plan.actionable.map { c in
            Change(address: c.address.description, provider: c.provider, action: c.action,
                   reason: String(describing: c.reason), source: sources[c.address] ?? .yaml,
                   attributes: c.changes.map { a in
                       var out = Attribute(name: a.name, before: shown(a, a.before), after: shown(a, a.after),
                                           forcesReplace: a.forcesReplace)
                       if !a.sensitive {
                           switch a.detail {
                           case .diff(let text)?: out.diff = text
                           case .unavailable(let why)?: out.note = why
                           case .files(let added, let removed, let changed)?:
                               out.files = Attribute.Files(added: added, removed: removed, changed: changed)
                           case nil: break
                           }
                       }
                       return out
                   })
        }
        drift = plan.drift.map(\.address.description)
        refresh = plan.refresh.map { Refresh(seconds: $0.seconds, resources: $0.resources, apiCalls: $0.apiCalls) }
        environment = plan.environment
        notes = plan.notes.map { Note(address: $0.address.description, message: $0.message) }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lineage = try c.decode(String.self, forKey: .lineage)
        serial = try c.decode(Int.self, forKey: .serial)
        mode = try c.decode(PlanMode.self, forKey: .mode)
        let created = try c.decode(String.self, forKey: .createdAt)
        guard let date = try? Date(created, strategy: Self.dateStyle) else {
            throw DecodingError.dataCorruptedError(forKey: .createdAt, in: c, debugDescription: "expected an ISO 8601 date, got \(created)")
        }
        createdAt = date
        hasChanges = try c.decode(Bool.self, forKey: .hasChanges)
        counts = try c.decode(Counts.self, forKey: .counts)
        changes = try c.decode([Change].self, forKey: .changes)
        drift = try c.decode([String].self, forKey: .drift)
        refresh = try c.decodeIfPresent(Refresh.self, forKey: .refresh)
        environment = try c.decodeIfPresent(String.self, forKey: .environment)
        notes = try c.decodeIfPresent([Note].self, forKey: .notes) ?? []
    }

    /// Writes every key, `refresh` as null without a refresh, and the date as ISO 8601 text.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lineage, forKey: .lineage)
        try c.encode(serial, forKey: .serial)
        try c.encode(mode, forKey: .mode)
        try c.encode(createdAt.formatted(Self.dateStyle), forKey: .createdAt)
        try c.encode(hasChanges, forKey: .hasChanges)
        try c.encode(counts, forKey: .counts)
        try c.encode(changes, forKey: .changes)
        try c.encode(drift, forKey: .drift)
        try c.encode(refresh, forKey: .refresh)
        try c.encode(environment, forKey: .environment)
        try c.encode(notes, forKey: .notes)
    }

    /// `2025-01-31T12:00:00.000Z`.
    static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
