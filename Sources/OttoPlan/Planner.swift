import OttoCore

/// Everything the planner looks at. It does no I/O: the engine gathers this first.
public struct PlannerInput: Sendable {
    /// Resources the configuration wants.
    public var desired: [Resource]
    /// What the state remembers, by address.
    public var state: [ResourceAddress: ResourceRecord]
    /// What exists now, by address (a missing key: it does not exist). Nil when refresh is off: state is trusted.
    public var observed: [ResourceAddress: ObservedResource]?
    /// Schemas by `SchemaKey(provider:kind:)`.
    public var schemas: [SchemaKey: KindSchema]
    /// Plan options.
    public var options: PlanOptions
    /// Lineage of the state read.
    public var stateLineage: String
    /// Serial of the state read.
    public var stateSerial: Int
    /// Handlers recorded in state that have not run yet.
    public var pendingHandlers: [Handler]
    /// Fills in derived attributes once references are resolved (`Provider.derive` of the resource's provider).
    public var derive: @Sendable (Resource) -> Resource
    /// Creates an interrupted run started and never recorded, by address (refresh looked them up by key).
    public var pending: [ResourceAddress: PendingCreate]

    /// Creates an input.
    public init(desired: [Resource], state: [ResourceAddress: ResourceRecord], observed: [ResourceAddress: ObservedResource]?,
                schemas: [SchemaKey: KindSchema], options: PlanOptions, stateLineage: String, stateSerial: Int,
                pendingHandlers: [Handler] = [], pending: [ResourceAddress: PendingCreate] = [:],
                derive: @escaping @Sendable (Resource) -> Resource = { $0 }) {
        self.pending = pending
        self.desired = desired
        self.state = state
        self.observed = observed
        self.schemas = schemas
        self.options = options
        self.stateLineage = stateLineage
        self.stateSerial = stateSerial
        self.pendingHandlers = pendingHandlers
        self.derive = derive
    }
}

/// Identifies a kind's schema within one provider instance.
public struct SchemaKey: Sendable, Hashable {
    /// Provider instance name.
    public var provider: String
    /// Resource kind.
    public var kind: String
    /// Creates a key.
    public init(provider: String, kind: String) { self.provider = provider; self.kind = kind }
}

/// One kind's schema in a box: a lookup hands out the box (one reference), not a copy of the schema (a reference to each
/// of its sets and lists), and the planner's threads each box their own.
final class SchemaRef: Sendable {
    let schema: KindSchema
    init(_ schema: KindSchema) { self.schema = schema }
}

/// Schemas by provider and kind, remembering the last one found: resources come in runs of one kind, so most lookups
/// hash nothing.
struct SchemaLookup {
    private let schemas: [SchemaKey: KindSchema]
    private var boxed: [SchemaKey: SchemaRef] = [:]
    private var last: (provider: String, kind: String, schema: SchemaRef?)?

    init(_ schemas: [SchemaKey: KindSchema]) { self.schemas = schemas }

    /// The schema of `kind` under provider instance `provider`; nil when there is none.
    subscript(_ provider: String, _ kind: String) -> KindSchema? {
        mutating get { ref(provider, kind)?.schema }
    }

    /// The schema of `kind` under provider instance `provider`, boxed; nil when there is none.
    mutating func ref(_ provider: String, _ kind: String) -> SchemaRef? {
        if let last, last.provider == provider, last.kind == kind { return last.schema }
        let key = SchemaKey(provider: provider, kind: kind)
        let schema = boxed[key] ?? schemas[key].map(SchemaRef.init)
        boxed[key] = schema
        last = (provider, kind, schema)
        return schema
    }
}

/// The planner refused to plan; each diagnostic says why and where.
public struct PlanError: Error, Sendable, CustomStringConvertible {
    /// The reasons.
    public var diagnostics: [Diagnostic]
    /// Creates the error.
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// The pure planner: desired × state × observed → Plan.
public enum Planner {
    /// Computes the plan. Throws when a lifecycle rule forbids it, a target or replace address matches nothing,
    /// a resource has no schema or does not match it (`KindSchema.check`: unknown, mistyped or missing attributes),
    /// or the dependencies form a cycle. Every change and drift entry carries its kind's sensitive attribute names
    /// (see `Plan.redacted`).
    public static func plan(_ input: PlannerInput) throws(PlanError) -> Plan {
        try plan(input, chunk: 4096)
    }

    /// `plan(_:)` with the per-resource work cut into ranges of at least `chunk` resources, spread over every CPU (a
    /// plan of fewer is made on the calling thread); tests make small ranges to compare both ways.
    static func plan(_ input: PlannerInput, chunk: Int) throws(PlanError) -> Plan {
        var problems = DiagnosticBag()
        // Let go (nil) once the scope is known, before the changes are made: a 100k graph is about 20 MB.
        var graph: DependencyGraph? = DependencyGraph(input.desired)
        // The desired resources (first declaration of each address) in address order, as positions in `desired`.
        let sorted = graph!.declared
        // Desired resources by address, as positions: no resource is copied (the graph's table, its values mapped).
        let desiredIndex = graph!.positions.mapValues { sorted[$0] }
        func desired(_ a: ResourceAddress) -> Resource? { desiredIndex[a].map { input.desired[$0] } }
        var schemas = SchemaLookup(input.schemas)
        let order: [ResourceAddress]
        do { order = try graph!.topologicalOrder() } catch { throw PlanError(error.diagnostics) }

        // Each resource is checked against its kind's schema on every CPU at once; problems join in resource order.
        for found in Self.inChunks(input.desired.count, minimum: chunk, { range -> [Diagnostic] in
            var schemas = SchemaLookup(input.schemas)
            var problems: [Diagnostic] = []
            for i in range {
                let r = input.desired[i]
                guard let schema = schemas.ref(r.provider, r.kind) else {
                    problems.append(Diagnostic(.error, at: r.location, "no provider `\(r.provider)` manages resources of kind `\(r.kind)` (\(r.address)); check the provider names in inventory/"))
                    continue
                }
                let found = schema.schema.check(r)
                if !found.isEmpty { problems.append(contentsOf: found) }
            }
            return problems
        }) {
            problems.append(contentsOf: found)
        }
        for a in input.options.replace where desiredIndex[a] == nil {
            problems.error(nil, "--replace \(a): no such resource in the configuration")
        }
        // Nil when the plan covers everything (no --site, no --target): nothing to collect or look up.
        let limited = input.options.sites.isEmpty && input.options.targets.isEmpty ? nil : Self.scope(input, graph: graph!, problems: &problems)
        graph = nil
        func inScope(_ a: ResourceAddress) -> Bool { limited?.contains(a) ?? true }
        if problems.hasErrors { throw PlanError(problems.all) }

        func current(_ a: ResourceAddress) -> ObservedResource? { Self.current(a, input) }

        // A pending create found by its key is what an interrupted run made: it counts as existing, and, when it has no
        // record, as unrecorded (adopted if still wanted, deleted if not). One not found never happened.
        var abandoned: [ResourceAddress] = []
        var foundPending: [ResourceAddress: PendingCreate] = [:]
        if let observed = input.observed {
            for (a, p) in input.pending where inScope(a) && input.state[a] == nil {
                if observed[a] != nil { foundPending[a] = p } else { abandoned.append(a) }
            }
        } else {
            for (a, p) in input.pending where inScope(a) && input.state[a] == nil && input.options.mode != .refreshOnly {
                problems.error(desired(a)?.location, "\(a): an earlier run started creating it (key \(p.key)) and was interrupted; "
                               + "otto cannot tell whether it exists without refreshing: plan with refresh on")
            }
            if problems.hasErrors { throw PlanError(problems.all) }
        }

        var drift: [Drift] = []
        if let observed = input.observed {
            for a in (limited ?? Self.everything(input)).sorted() {
                let recorded = input.state[a]?.observed
                let now = observed[a]
                if recorded != now, recorded != nil || now != nil { drift.append(Drift(address: a, recorded: recorded, observed: now)) }
            }
        }

        // The changes, in planning order, with an index by address; sorted by address once at the end. Each change is
        // built once and changed in place: a change holds the resource, its differences and its reason, and copying
        // 100k of them (a dictionary's growth, a sort of the values) was most of the planner's time.
        var changes: [ResourceChange] = []
        changes.reserveCapacity(limited?.count ?? input.desired.count + input.state.count)
        // Built when first needed (a reference to resolve, a change to put in place): a plan of resources that refer to
        // nothing and delete nothing hashes no address here.
        var changeIndex: [ResourceAddress: Int] = [:]
        var indexed = 0  // changes[..<indexed] are in changeIndex
        func indexChanges() {
            guard indexed < changes.count else { return }
            changeIndex.reserveCapacity(changes.count)
            while indexed < changes.count { changeIndex[changes[indexed].address] = indexed; indexed += 1 }
        }
        // Each change belongs to its resource's site (the configuration's word, else what the state recorded) and
        // carries its kind's sensitive attributes, so renderers can hide their values.
        // `desiredSite` is nil when the configuration does not declare the resource, `.some(nil)` when it declares it
        // without a site (an account-wide resource): only the first falls back to the state's word.
        func add(_ change: consuming ResourceChange, desiredSite: String??) {
            insert(Self.finish(change, desiredSite: desiredSite, desired: desired(change.address), input, &schemas))
        }
        func insert(_ change: consuming ResourceChange) {
            indexChanges()
            let a = change.address
            if let i = changeIndex[a] {
                changes[i] = change
            } else {
                changeIndex[a] = changes.count
                changes.append(change)
                indexed += 1
            }
        }
        let mode = input.options.mode
        let replaceSet = Set(input.options.replace)

        if mode == .normal {
            // Resources that refer to no other resource's values are planned alone, on every CPU at once; the others
            // below, in dependency order, once what they refer to is planned. Changes are sorted by address at the end,
            // so the order they are made in does not show.
            // They are planned in address order (the order the plan shows), so the changes come out sorted.
            let planned = limited.map { scope in sorted.filter { scope.contains(input.desired[$0].address) } } ?? sorted
            let pendingFound = foundPending
            var chunks = Self.inChunks(planned.count, minimum: chunk) { range -> (changes: [ResourceChange?], problems: [(Int, Diagnostic)]) in
                var schemas = SchemaLookup(input.schemas)
                var problems: [(Int, Diagnostic)] = []
                let changes = range.map { k -> ResourceChange? in
                    let r = input.desired[planned[k]]
                    let a = r.address
                    guard !r.attributes.values.contains(where: \.hasReference) else { return nil }
                    let schema = schemas.ref(r.provider, r.kind)!
                    let (change, problem) = Self.planOne(r, resolved: r, schema: schema.schema, input,
                                                         forceReplace: replaceSet.contains(a), interrupted: pendingFound[a] != nil)
                    if let problem { problems.append((k, problem)) }
                    return Self.finish(change, desiredSite: .some(r.site), desired: r, input, schema: schema)
                }
                return (changes, problems)
            }
            var later: [Int] = []  // positions in `planned` of the resources that refer to others
            var replaceProblems: [(Int, Diagnostic)] = []
            var k = 0
            for c in chunks.indices {
                replaceProblems += chunks[c].problems
                // Each change is moved out of its chunk (its slot left nil), not copied and then destroyed with the
                // chunk: for 100k changes that copy was the longest step on one thread.
                chunks[c].changes.withUnsafeMutableBufferPointer { slots in
                    guard let base = slots.baseAddress else { return }
                    for i in slots.indices {
                        if let change = (base + i).move() { changes.append(change) } else { later.append(k) }
                        (base + i).initialize(to: nil)
                        k += 1
                    }
                }
                chunks[c] = ([], [])  // each chunk let go once moved, not all at the end
            }
            // The rest in dependency order; problems keep their place in address order, like the others'.
            var laterAt: [ResourceAddress: Int] = [:]
            for k in later { laterAt[input.desired[planned[k]].address] = k }
            for a in later.isEmpty ? [] : order {
                guard let k = laterAt[a] else { continue }
                let r = input.desired[planned[k]]
                let schema = schemas[r.provider, r.kind]!
                var resolved = r
                // Known values are substituted now; the rest stay references, resolved by the executor at apply time
                // (and compare as "known after apply"). Attributes without references stay as they are.
                if r.attributes.values.contains(where: \.hasReference) {
                    indexChanges()
                    resolved.attributes = r.attributes.mapValues { v in
                        v.resolving { ref in
                            let now = current(ref.address)?.attributes[ref.attribute]
                            if let i = changeIndex[ref.address] {
                                let action = changes[i].action
                                if action == .create || action == .replace { return .ref(ref) }
                                // What the provider computes may change with an update (a stopped and started instance
                                // gets a new public address; a booting machine gets its first): known after apply. The
                                // executor skips the dependent's change if the value turns out the same.
                                if action == .update,
                                   now == nil || now == .null
                                    || schemas[changes[i].provider, ref.address.kind]?.computed.contains(ref.attribute) == true {
                                    return .ref(ref)
                                }
                            }
                            return now ?? .ref(ref)
                        }
                    }
                }
                let (change, problem) = Self.planOne(r, resolved: resolved, schema: schema, input, forceReplace: replaceSet.contains(a),
                                                     interrupted: foundPending[a] != nil)
                if let problem { replaceProblems.append((k, problem)) }
                add(change, desiredSite: .some(r.site))
            }
            // in address order, as if every resource had been planned one by one in that order
            problems.append(contentsOf: replaceProblems.sorted { $0.0 < $1.0 }.map(\.1))
        }

        // Resources in state that leave the configuration (or everything, for destroy).
        if mode != .refreshOnly {
            for (a, p) in foundPending where mode == .destroy || desiredIndex[a] == nil {
                guard let cur = current(a) else { continue }
                add(ResourceChange(address: a, provider: p.provider, action: .delete, before: cur, after: nil,
                                   changes: cur.attributes.keys.sorted().map { AttributeChange(name: $0, before: cur.attributes[$0], after: nil) },
                                   reason: mode == .destroy ? .destroyRequestedMadeByInterruptedRun : .madeByInterruptedRunRemoved,
                                   dependencies: p.dependencies),
                    desiredSite: desiredIndex[a].map { input.desired[$0].site })
            }
            for (a, record) in input.state where inScope(a) && (mode == .destroy || desiredIndex[a] == nil) {
                guard let cur = current(a) else { continue }  // already gone: refresh removes it from state
                let r = desired(a)
                if mode == .destroy, let r, r.lifecycle.preventDestroy {
                    problems.error(r.location, "\(a) has prevent_destroy set and cannot be destroyed; remove prevent_destroy first or leave it out with --target")
                    continue
                }
                add(ResourceChange(address: a, provider: record.provider, action: .delete, before: cur, after: nil,
                                   changes: cur.attributes.keys.sorted().map { AttributeChange(name: $0, before: cur.attributes[$0], after: nil) },
                                   reason: mode == .destroy ? .destroyRequested : .removedFromConfiguration,
                                   dependencies: record.dependencies),
                    desiredSite: r.map(\.site))
            }
        }
        if problems.hasErrors { throw PlanError(problems.all) }
        for i in drift.indices {
            let a = drift[i].address
            let provider = desired(a)?.provider ?? input.state[a]?.provider ?? input.pending[a]?.provider
            guard let schema = provider.flatMap({ schemas[$0, a.kind] }) else { continue }
            drift[i].sensitive = schema.sensitive(in: [drift[i].recorded?.attributes, drift[i].observed?.attributes,
                                                       desired(a)?.attributes, input.state[a]?.attributes].compactMap { $0 })
        }
        Self.sortByAddress(&changes)

        return Plan(options: input.options, stateLineage: input.stateLineage, stateSerial: input.stateSerial,
                    changes: changes, drift: drift,
                    handlers: mode == .normal ? input.pendingHandlers.sorted { $0.id < $1.id } : [],
                    abandonedCreates: abandoned.sorted())
    }

    /// Plans desired resource `r` (its references already resolved as far as they can be: `resolved`) against what
    /// exists; a change to what an interrupted run made says so; replacing a resource marked `prevent_destroy` is refused.
    static func planOne(_ r: Resource, resolved: Resource, schema: KindSchema, _ input: PlannerInput, forceReplace: Bool,
                        interrupted: Bool) -> (ResourceChange, Diagnostic?) {
        var change = plan(resource: input.derive(resolved), schema: schema, current: current(r.address, input),
                          recorded: input.state[r.address], forceReplace: forceReplace, refreshed: input.observed != nil)
        if interrupted, change.action == .noop || change.action == .update {
            change.reason = .madeByInterruptedRun(differs: change.action == .update ? change.changes.map(\.name) : [])
        }
        guard r.lifecycle.preventDestroy && change.action == .replace else { return (change, nil) }
        let refusal = Diagnostic(.error, at: r.location,
                                 "\(r.address) has prevent_destroy set, but the plan would replace it (\(change.reason)); remove prevent_destroy or change the plan")
        return (change, refusal)
    }

    /// What exists of `a`: what refresh saw, or without refresh what the state recorded.
    static func current(_ a: ResourceAddress, _ input: PlannerInput) -> ObservedResource? {
        if let observed = input.observed { return observed[a] }
        return input.state[a]?.observed
    }

    /// `change` with its site and, from its kind's schema, the attributes to hide and how each change reads: an
    /// attribute sensitive in any version of the resource (desired, observed, recorded) is hidden in all.
    static func finish(_ change: consuming ResourceChange, desiredSite: String??, desired: Resource?, _ input: PlannerInput,
                       _ schemas: inout SchemaLookup) -> ResourceChange {
        let schema = schemas.ref(change.provider, change.address.kind)
        return finish(change, desiredSite: desiredSite, desired: desired, input, schema: schema)
    }

    /// ``finish(_:desiredSite:desired:_:_:)`` with the change's schema already found (nil: it has none).
    static func finish(_ change: consuming ResourceChange, desiredSite: String??, desired: Resource?, _ input: PlannerInput,
                       schema ref: SchemaRef?) -> ResourceChange {
        let a = change.address
        change.site = desiredSite ?? input.state[a]?.site ?? input.pending[a]?.site
        guard let schema = ref?.schema else { return change }
        var marked = schema.sensitive
        if schema.hasConditionalSensitivity {
            marked = schema.sensitive(in: [change.after?.attributes, change.before?.attributes, desired?.attributes,
                                           input.state[a]?.attributes].compactMap { $0 })
        }
        change.sensitive = marked
        if !marked.isEmpty || schema.hasPresentations {
            for j in change.changes.indices {
                let hidden = marked.contains(change.changes[j].name)
                change.changes[j].sensitive = hidden
                if !hidden && schema.hasPresentations {
                    change.changes[j].detail = Self.detail(change.changes[j], schema: schema, before: change.before, after: change.after,
                                                           refreshed: input.observed != nil)
                }
            }
        }
        return change
    }

    /// `work` over `0..<count` cut into ranges, the ranges spread over every CPU (``Blocking/map(_:_:)``); the results in
    /// range order. Below `minimum` items there is one range, done on the calling thread.
    static func inChunks<T: Sendable>(_ count: Int, minimum: Int, _ work: @escaping @Sendable (Range<Int>) -> T) -> [T] {
        let size = max(minimum, count / 16 + 1)
        let ranges = stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
        return Blocking.map(ranges, work)
    }

    /// Sorts changes by address without moving a change more than once: the addresses are sorted with their
    /// positions, then the changes are permuted in place, cycle by cycle.
    static func sortByAddress(_ changes: inout [ResourceChange]) {
        var keyed = changes.indices.map { (address: changes[$0].address, from: $0) }
        keyed.sort { $0.address < $1.address }
        var from = keyed.map(\.from)  // position k receives the change now at from[k]
        keyed = []
        changes.withUnsafeMutableBufferPointer { buffer in
            for k in from.indices where from[k] != k {
                var to = k
                var source = from[k]
                while source != k {
                    buffer.swapAt(to, source)
                    from[to] = to
                    to = source
                    source = from[source]
                }
                from[to] = to
            }
        }
    }

    /// Plans one desired resource against what exists.
    static func plan(resource r: Resource, schema: KindSchema, current: ObservedResource?, recorded: ResourceRecord?,
                     forceReplace: Bool, refreshed: Bool) -> ResourceChange {
        let deps = r.dependencies.map(\.address)
        let order: ReplaceOrder = (r.lifecycle.createBeforeDestroy ?? schema.createBeforeDestroy) ? .createThenDelete : .deleteThenCreate
        guard let current else {
            let reason: ChangeReason = recorded != nil ? .deletedOutsideOtto : .doesNotExist
            var changes: [AttributeChange] = []
            changes.reserveCapacity(r.attributes.count)
            for (name, value) in r.attributes where schema.computed.isEmpty || !schema.computed.contains(name) {
                changes.append(AttributeChange(name: name, before: nil, after: value))
            }
            changes.sort { $0.name < $1.name }
            return ResourceChange(address: r.address, provider: r.provider, action: .create, before: nil, after: r,
                                  changes: changes, reason: reason, dependencies: deps)
        }
        let ignored = r.lifecycle.ignoreChanges.isEmpty ? schema.computed : Set(r.lifecycle.ignoreChanges).union(schema.computed)
        var diffs: [AttributeChange] = []
        for (name, want) in r.attributes.sorted(by: { $0.key < $1.key }) where ignored.isEmpty || !ignored.contains(name) {
            let have = current.attributes[name]
            if !same(want, have, unordered: schema.unordered.contains(name)) {
                diffs.append(AttributeChange(name: name, before: have, after: want, forcesReplace: schema.forceNew.contains(name)))
            }
        }
        if forceReplace {
            return ResourceChange(address: r.address, provider: r.provider, action: .replace, replaceOrder: order, before: current,
                                  after: r, changes: diffs, reason: .replaceRequested, dependencies: deps)
        }
        if let forcing = diffs.first(where: \.forcesReplace) {
            return ResourceChange(address: r.address, provider: r.provider, action: .replace, replaceOrder: order, before: current,
                                  after: r, changes: diffs, reason: .cannotChangeInPlace(forcing.name),
                                  dependencies: deps)
        }
        if diffs.isEmpty {
            let reason: ChangeReason = recorded == nil ? .adopted : .upToDate
            return ResourceChange(address: r.address, provider: r.provider, action: .noop, before: current, after: r,
                                  changes: [], reason: reason, dependencies: deps)
        }
        // Drift: the configuration still says what state recorded, but what exists differs.
        let driftedNames = diffs.filter { d in
            guard refreshed, let rec = recorded?.attributes[d.name] else { return false }
            return same(rec, d.after, unordered: schema.unordered.contains(d.name))
        }.map(\.name)
        let reason: ChangeReason
        if diffs.allSatisfy({ !($0.after?.isFullyKnown ?? true) }) {
            reason = .knownAfterApply(diffs.map(\.name))
        } else if recorded == nil {
            reason = .adoptingWithDifferences(diffs.map(\.name))
        } else if driftedNames.count == diffs.count {
            reason = .drift(driftedNames)
        } else {
            reason = .configurationChanged(diffs.map(\.name))
        }
        return ResourceChange(address: r.address, provider: r.provider, action: .update, before: current, after: r,
                              changes: diffs, reason: reason, dependencies: deps)
    }

    /// How a change reads (`AttributeSchema.Presentation`): the diff of a file's text, whose hash is what changed (from
    /// nothing for a new file; the text on the machine is what refresh read), or a directory's changed file names.
    static func detail(_ change: AttributeChange, schema: KindSchema, before: ObservedResource?, after: Resource?,
                       refreshed: Bool) -> ChangeDetail? {
        switch schema.presentation(of: change.name) {
        case .value:
            return nil
        case .digest(of: let textName):
            guard let newHash = change.after?.stringValue, let after else { return nil }  // unknown yet, or deleted
            let path = after.attributes[AttributeName.File.path]?.stringValue ?? after.address.description
            let newText = after.attributes[textName]?.stringValue
            let oldHash = change.before?.stringValue
            let oldText: String? = oldHash == nil ? "" : before?.attributes[textName]?.stringValue
            let hashes = "sha256 \(oldHash.map { String($0.prefix(12)) } ?? "(none)") → \(newHash.prefix(12))"
            guard let newText, let oldText else {
                return .unavailable(refreshed || oldHash == nil ? "binary or too large, \(hashes)" : "not read without refresh, \(hashes)")
            }
            guard newText.utf8.count <= TextDiff.maxBytes, oldText.utf8.count <= TextDiff.maxBytes else {
                return .unavailable("binary or too large, \(hashes)")
            }
            return TextDiff.unified(oldText, newText, from: oldHash == nil ? "/dev/null" : "before: \(path)", to: "after: \(path)")
                .map(ChangeDetail.diff)
        case .listing:
            guard let new = change.after?.mapValue else { return nil }
            let old = change.before?.mapValue ?? [:]
            return .files(added: new.keys.filter { old[$0] == nil }.sorted(), removed: old.keys.filter { new[$0] == nil }.sorted(),
                          changed: new.keys.filter { old[$0] != nil && old[$0] != new[$0] }.sorted())
        }
    }

    /// Equality for planning: unknown never equals anything; unordered lists compare as multisets.
    public static func same(_ a: Value?, _ b: Value?, unordered: Bool) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        if !a.isFullyKnown || !b.isFullyKnown { return false }
        if unordered, case .list(let la) = a, case .list(let lb) = b {
            return la.count == lb.count && la.map(\.description).sorted() == lb.map(\.description).sorted()
        }
        if case .int(let i) = a, case .double(let d) = b { return Double(i) == d }
        if case .double(let d) = a, case .int(let i) = b { return Double(i) == d }
        return a == b
    }

    /// Every address the configuration, the state or a pending create names.
    static func everything(_ input: PlannerInput) -> Set<ResourceAddress> {
        Set(input.desired.map(\.address)).union(input.state.keys).union(input.pending.keys)
    }

    /// The addresses the plan covers: everything, or the targets plus what they need
    /// (for destroy: the targets plus what depends on them).
    static func scope(_ input: PlannerInput, graph: DependencyGraph, problems: inout DiagnosticBag) -> Set<ResourceAddress> {
        var all = everything(input)
        if !input.options.sites.isEmpty {
            // The sites' own resources, then (as for targets) what they need, or for destroy what depends on them.
            let wanted = Set(input.options.sites)
            var own = Set<ResourceAddress>()
            for r in input.desired where r.site.map(wanted.contains) == true { own.insert(r.address) }
            for (a, r) in input.state where r.site.map(wanted.contains) == true { own.insert(a) }
            for (a, p) in input.pending where p.site.map(wanted.contains) == true { own.insert(a) }
            let known = Set(input.desired.compactMap(\.site)).union(input.state.values.compactMap(\.site))
            for site in input.options.sites where !known.contains(site) {
                problems.error(nil, "--site \(site): no site of that name is in the configuration or the state")
            }
            if input.options.mode == .destroy {
                let stateGraph = DependencyGraph(nodes: Array(all), edges: input.state.values.flatMap { r in r.dependencies.map { (r.address, $0, nil) } }
                                                 + graph.edges.map { ($0.from, $0.to, $0.location) })
                all = stateGraph.closure(dependentsOf: own)
            } else {
                all = graph.closure(dependenciesOf: own).union(own)
            }
        }
        guard !input.options.targets.isEmpty else { return all }
        var matched = Set<ResourceAddress>()
        for t in input.options.targets { matched.formUnion(all.filter { $0.matches(t) }) }
        if matched.isEmpty {
            let list = input.options.targets.map { "--target \($0)" }.joined(separator: ", ")
            problems.error(nil, "\(list): matches no resource in the configuration or the state")
        }
        if input.options.mode == .destroy {
            // What depends on a target must go first; use recorded dependencies too (resources that left the config).
            let stateGraph = DependencyGraph(nodes: Array(all), edges: input.state.values.flatMap { r in r.dependencies.map { (r.address, $0, nil) } }
                                             + graph.edges.map { ($0.from, $0.to, $0.location) })
            return stateGraph.closure(dependentsOf: matched)
        }
        return graph.closure(dependenciesOf: matched).union(matched)
    }
}
