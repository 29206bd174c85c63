import Dispatch
import Foundation
import OttoCore
import Synchronization

/// The desired state the API reads and writes: YAML (read-only) plus the API items kept in the state database.
///
/// Reads use the current ``DesiredStateSnapshot`` (no disk access, no lock beyond a pointer copy). Writes run on a
/// serial dispatch queue (they block on disk, so never on Swift's cooperative pool), in batches of those that arrived
/// together: a batch re-reads the YAML when it changed and the items from the database; each write of it is checked
/// against YAML ownership and against the project as it would be with the write (a host that only the inventory reads
/// is checked alone, anything else rebuilds the project), and refused (422) when that adds an error or leaves one in
/// the written item; the accepted ones are committed in one transaction and the new snapshot is published. A refused
/// write changes nothing.
///
/// This is the configuration layer's `DesiredStateStore`: `otto serve` hands it to the API server, which never sees
/// YAML or the project.
public final class DesiredStateService: DesiredStateStore {
    /// The project root.
    public let root: String
    let store: APIItemAccess
    let limits: YAMLLimits
    /// The environment served (`--env`), nil for a project without environments.
    public let environment: String?
    private let queue = DispatchQueue(label: "otto.api.desired-state")
    private let published: Mutex<DesiredStateSnapshot>
    /// The items' version the published snapshot holds (see `APIItemAccess.version`); nil when the store keeps none.
    private let seenVersion: Mutex<Int64?>
    /// Writes waiting for the writer (see ``write(_:)``).
    let pending = Mutex<[PendingWrite]>([])
    let clock: @Sendable () -> Date

    /// Loads the project under `root` with the items `store` reads. Blocks on disk: call it before serving, or off the
    /// cooperative pool. Throws when the state database cannot be read (YAML errors are kept as diagnostics: the
    /// API still serves, and every write is checked against them).
    public init(root: String, store: APIItemAccess, limits: YAMLLimits = .default, environment: String? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.root = root
        self.store = store
        self.limits = limits
        self.environment = environment
        self.clock = clock
        seenVersion = Mutex(try store.version())
        let items = try Self.byKey(store.read())
        published = Mutex(DesiredStateSnapshot(files: ProjectFiles.read(root: root, limits: limits, environment: environment), items: items))
    }

    /// The current snapshot.
    public var snapshot: DesiredStateSnapshot { published.withLock { $0 } }

    /// The current snapshot, as the API reads it.
    public var current: any DesiredStateView { snapshot }

    /// Re-reads the YAML files (when they changed) and the API items, and publishes a new snapshot.
    public func reload() async throws {
        try await onQueue { [self] in
            let version = try store.version()
            let (snap, _) = try base(rereadItems: true)
            published.withLock { $0 = snap }
            seenVersion.withLock { $0 = version }
        }
    }

    /// True when the store's items moved on since the published snapshot (another replica or the CLI wrote them). Blocks.
    private func itemsMoved() -> Bool {
        guard let seen = seenVersion.withLock({ $0 }) else { return false }
        return (try? store.version()) != seen
    }

    /// Publishes a new snapshot when the YAML files changed on disk since the current one (cheap when they did not:
    /// a directory listing and a stat per file). The server calls it every few seconds, so reads of YAML-defined items
    /// follow edits without a restart; writes always check the files first.
    public func reloadIfFilesChanged() async {
        let fingerprint = snapshot.files.fingerprint
        let moved = (try? await onQueue { [self] in itemsMoved() }) ?? false
        guard moved || ProjectFiles.currentFingerprint(root: root) != fingerprint else { return }
        try? await reload()
    }

    static func byKey(_ items: [APIItem]) -> [APIItemKey: APIItem] {
        Dictionary(items.map { ($0.key, $0) }, uniquingKeysWith: { _, new in new })
    }

    /// The snapshot to write against: the current one when the YAML files did not change, else a new build. The items
    /// are the snapshot's: writes go through this service one at a time, and it publishes every one it commits
    /// (`reload()` re-reads them from the database). One `otto serve` per state.
    private func base(rereadItems: Bool = false) throws -> (DesiredStateSnapshot, changed: Bool) {
        let snap = snapshot
        let files = ProjectFiles.currentFingerprint(root: root) == snap.files.fingerprint
            ? snap.files : ProjectFiles.read(root: root, limits: limits, environment: environment)
        var items = snap.items
        if rereadItems {
            do {
                items = try Self.byKey(store.read())
            } catch {
                throw DesiredStateError.unavailable("cannot read the API items from the state database: \(error)")
            }
        }
        if files.fingerprint == snap.files.fingerprint && items == snap.items { return (snap, false) }
        return (DesiredStateSnapshot(files: files, items: items, previous: snap), true)
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// What a write does to the items.
    struct Change: Sendable {
        /// Items to insert or replace.
        var put: [APIItem] = []
        /// Keys to delete.
        var remove: [APIItemKey] = []
        /// Items whose documents must come out free of errors (the ones written, and their zone's other item).
        var checked: Set<APIItemKey> = []
        /// True when the write creates its main item (201 rather than 200).
        var created = false
    }

    /// A write waiting for the writer: what it changes, and who waits for its outcome.
    struct PendingWrite: Sendable {
        let plan: @Sendable (DesiredStateSnapshot) throws(DesiredStateError) -> Change
        let continuation: CheckedContinuation<DesiredStateWrite, any Error>
    }

    /// Runs one write: `plan` looks at the snapshot before it and says what to change (or throws 404/409/400); the
    /// result is checked, committed and published. Returns the new snapshot and whether the main item was new.
    ///
    /// Writes that arrive while others are checked or committed wait together and go as one batch (group commit): each
    /// is planned and checked against the snapshot the ones before it made, as if they had come one at a time, then the
    /// accepted ones are committed in one transaction and published once. A refused write changes nothing and does not
    /// stop the others; when the commit fails, every write of the batch fails with it.
    @discardableResult
    func write(_ plan: @escaping @Sendable (DesiredStateSnapshot) throws(DesiredStateError) -> Change) async throws(DesiredStateError)
        -> DesiredStateWrite {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let first = pending.withLock { list in
                    list.append(PendingWrite(plan: plan, continuation: continuation))
                    return list.count == 1
                }
                // The first write of a batch schedules the writer; the ones after it join the batch until it starts.
                if first { queue.async { [self] in writeBatch() } }
            }
        } catch let e as DesiredStateError {
            throw e
        } catch {
            throw .unavailable("the write could not be completed: \(error)")
        }
    }

    /// Takes every waiting write and runs them as one batch (on the writer's queue).
    private func writeBatch() {
        let batch = pending.withLock { list in
            defer { list = [] }
            return list
        }
        guard !batch.isEmpty else { return }
        let outcomes = run(batch.map(\.plan))
        for (write, outcome) in zip(batch, outcomes) { write.continuation.resume(with: outcome) }
    }

    /// Plans, checks, commits and publishes `plans` in order; one outcome each.
    private func run(_ plans: [@Sendable (DesiredStateSnapshot) throws(DesiredStateError) -> Change])
        -> [Result<DesiredStateWrite, any Error>] {
        let base: DesiredStateSnapshot, current: Int64?
        do {
            // Items another replica wrote since the snapshot are read first: the writes are checked against them.
            let seen = seenVersion.withLock { $0 }
            let moved = itemsMoved()
            current = moved ? try store.version() : seen
            let changed: Bool
            (base, changed) = try self.base(rereadItems: moved)
            if moved { seenVersion.withLock { $0 = current } }
            if changed { published.withLock { $0 = base } }
        } catch {
            return plans.map { _ in .failure(error) }
        }
        // Host writes are applied in place to one patch (see `HostPatch`); anything else is built whole against it.
        var patch = HostPatch(base)
        var outcomes: [Result<DesiredStateWrite, any Error>] = []
        var put: [APIItemKey: APIItem] = [:], removed: Set<APIItemKey> = []
        var accepted: [Int] = []
        /// The accepted patched writes' hosts as each left them (their answers are made once the batch is done).
        var patchedAnswers: [Int: (created: Bool, hosts: [String: [UInt8]?])] = [:]
        for plan in plans {
            do {
                // The snapshot the plan looks at is let go before the patch changes again, so nothing is copied.
                let change = try { () throws(DesiredStateError) -> Change in try plan(patch.snapshot) }()
                if let write = patch.prepare(put: change.put, remove: change.remove) {
                    let errors = write.errors
                    if !errors.isEmpty { throw DesiredStateError.invalid(errors) }
                    patch.apply(write)
                    let names = (change.put.map(\.key) + change.remove).map(\.name)
                    patchedAnswers[outcomes.count] = (change.created, Dictionary(names.map { ($0, patch.rendered[$0]?.body) },
                                                                               uniquingKeysWith: { _, new in new }))
                    outcomes.append(.failure(DesiredStateError.unavailable("the batch did not finish")))  // replaced below
                } else {
                    let state = patch.snapshot
                    var items = state.items
                    for key in change.remove { items[key] = nil }
                    for item in change.put { items[item.key] = item }
                    let candidate = DesiredStateSnapshot(files: state.files, items: items, previous: state)
                    let before = Set(state.diagnostics.filter { $0.severity == .error }.map(\.description))
                    var problems = candidate.errors(in: Set(change.checked.map(\.file)))
                    for d in candidate.diagnostics where d.severity == .error && !before.contains(d.description)
                        && !problems.contains(where: { $0.description == d.description }) {
                        problems.append(d)
                    }
                    if !problems.isEmpty { throw DesiredStateError.invalid(problems) }
                    patch = HostPatch(candidate)
                    outcomes.append(.success(DesiredStateWrite(created: change.created, state: candidate)))
                }
                for key in change.remove { put[key] = nil; removed.insert(key) }
                for item in change.put { put[item.key] = item; removed.remove(item.key) }
                accepted.append(outcomes.count - 1)
            } catch {
                outcomes.append(.failure(error))
            }
        }
        let state = patch.snapshot
        for (i, answer) in patchedAnswers {
            outcomes[i] = .success(DesiredStateWrite(created: answer.created, state: BatchWriteView(state: state, written: answer.hosts)))
        }
        guard !accepted.isEmpty else { return outcomes }
        do {
            try store.write(put.values.sorted { $0.key < $1.key }, removed.sorted())
        } catch {
            let failure = DesiredStateError.unavailable("cannot write to the state database: \(error)")
            for i in accepted { outcomes[i] = .failure(failure) }
            return outcomes
        }
        published.withLock { $0 = state }
        // This batch moved the version by one; more means another writer too, whose items the next poll reads.
        if let current, let after = try? store.version(), after == current + 1 { seenVersion.withLock { $0 = after } }
        return outcomes
    }
}

/// How the desired state service reaches the API items kept in the state database: read them all, and write a change
/// in one transaction. Both block on disk; the service calls them on its own serial queue, never on the cooperative
/// pool. (The CLI and tests pass an `APIItemStore`'s `apiItems` and `writeAPIItems`.)
public struct APIItemAccess: Sendable {
    /// Every stored item.
    public var read: @Sendable () throws -> [APIItem]
    /// Inserts or replaces `put` and deletes `remove`, in one transaction.
    public var write: @Sendable (_ put: [APIItem], _ remove: [APIItemKey]) throws -> Void
    /// The items' version (grows with every write by anyone), or nil when the store keeps none.
    public var version: @Sendable () throws -> Int64?

    /// Creates the access from its operations.
    public init(read: @escaping @Sendable () throws -> [APIItem],
                write: @escaping @Sendable (_ put: [APIItem], _ remove: [APIItemKey]) throws -> Void,
                version: @escaping @Sendable () throws -> Int64? = { nil }) {
        self.read = read
        self.write = write
        self.version = version
    }
}
