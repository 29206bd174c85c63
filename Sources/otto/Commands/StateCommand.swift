import ArgumentParser
import Foundation
import OttoCore
import OttoPlan

/// `otto state list|show|rm|import`.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Inspect and edit the state.",
                                                    subcommands: [List.self, Show.self, Remove.self, Import.self, Migrate.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every resource in state.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            do {
                let store = try await openStore(global)
                let snap = try await store.snapshot()
                for a in snap.records.keys.sorted() { Terminal.out("\(a)\n") }
            } catch { throw fail(error) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one resource's recorded attributes.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() async throws {
            do {
                let store = try await openStore(global)
                let a = try parseAddress(address)
                guard let r = try await store.snapshot().records[a] else { throw OttoError("state.missing", "\(a) is not in the state") }
                var out = "\(r.address)\n  provider:    \(r.provider)\n  provider id: \(r.providerID)\n"
                if !r.dependencies.isEmpty { out += "  depends on:  \(r.dependencies.map(\.description).joined(separator: ", "))\n" }
                let hidden = ProviderSchemas.sensitiveNames(kind: a.kind, attributes: r.attributes)
                for k in r.attributes.keys.sorted() { out += "  \(k) = \(hidden.contains(k) ? Sensitive.shown : r.attributes[k]!.description)\n" }
                Terminal.out(out)
            } catch { throw fail(error) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Forget a resource (it keeps existing).")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() async throws {
            do {
                let store = try await openStore(global)
                let a = try parseAddress(address)
                guard let found = try await store.snapshot().records[a] else { throw OttoError("state.missing", "\(a) is not in the state") }
                let lease = try await store.lock([found.scope], command: "otto state rm", timeout: try global.lockWait())
                do {
                    guard try await store.snapshot().records[a] != nil else { throw OttoError("state.missing", "\(a) is not in the state") }
                    try await store.remove(a)
                    await lease.release()
                } catch {
                    await lease.release()
                    throw error
                }
                Terminal.out("Removed \(a) from the state; the resource itself was not touched.\n")
            } catch { throw fail(error) }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Adopt an existing resource: ADDR from the configuration, ID the provider's id.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Argument var id: String
        func run() async throws {
            do {
                let ctx = try await ProjectContext.open(global)
                let a = try parseAddress(address)
                guard let r = ctx.resources.first(where: { $0.address == a }) else {
                    throw OttoError("import.address", "\(a) is not in the configuration; add it to a site first, then import it")
                }
                let lease = try await ctx.store.lock([r.scope], command: "otto state import", timeout: try global.lockWait())
                do {
                    if try await ctx.store.snapshot().records[a] != nil {
                        throw OttoError("import.exists", "\(a) is already in the state; `otto state rm \(a)` first to import another")
                    }
                    let providers = try ctx.providers(for: [r.provider])
                    let found = try await providers[r.provider]!.observe(kind: a.kind, [ObserveRequest(address: a, providerID: id, attributes: r.attributes)])
                    guard let o = found[a], o.providerID == id else {
                        throw OttoError("import.missing", "provider `\(r.provider)` has no \(a.kind) with id \(id)"
                                        + (found[a].map { " (the configuration matches id \($0.providerID))" } ?? ""))
                    }
                    try await ctx.store.put(ResourceRecord(address: a, provider: r.provider, providerID: o.providerID, attributes: o.attributes,
                                                           dependencies: r.dependencies.map(\.address), site: r.site))
                    await lease.release()
                } catch {
                    await lease.release()
                    throw error
                }
                Terminal.out("Imported \(a) (id \(id)). Run `otto plan` to see how it differs from the configuration.\n")
            } catch { throw fail(error) }
        }
    }
}

extension StateCommand {
    /// `otto state migrate --from URL --to URL`.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole state into a new, empty one (e.g. from SQLite to PostgreSQL); the source is left as it was.",
            discussion: "Example: otto state migrate --from sqlite:.otto/state.db --to postgres://otto@db.internal/otto")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "The state to copy (default: the project's state, as --state or the environment names it).")
        var from: String?
        @Option(name: .long, help: "The new state to copy into: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE[?project=NAME].")
        var to: String
        func run() async throws {
            do {
                let root = (global.dir as NSString).standardizingPath
                let source: any StateStore
                if let from {
                    source = try await Blocking.run { try StateURL.open(from, root: root) }
                } else {
                    source = try await openStore(global)
                }
                let to = self.to
                let destination = try await Blocking.run { try StateURL.open(to, root: root) }
                let summary = try await StateMigration.copy(from: source, to: destination)
                var out = "Copied the state (lineage \(summary.lineage)) to \(StateURL.display(to)):\n"
                for (table, count) in summary.rows { out += "  \(table): \(count)\n" }
                if summary.rows.isEmpty { out += "  (it was empty)\n" }
                out += "Point --state (or OTTO_STATE) at it from now on; the old state was left as it was.\n"
                Terminal.out(out)
            } catch { throw fail(error) }
        }
    }
}

/// `otto force-unlock LOCK_ID`.
struct ForceUnlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "force-unlock",
                                                    abstract: "Remove the record of a lock whose holder died (the lock itself dies with its holder); with a PostgreSQL state, end the holder's server session, which frees its lock at once.")
    @OptionGroup var global: GlobalOptions
    @Argument var lockID: String
    func run() async throws {
        do {
            let store = try await openStore(global)
            try await store.forceUnlock(id: lockID)
            Terminal.out("Lock \(lockID) removed.\n")
        } catch { throw fail(error) }
    }
}

func parseAddress(_ text: String) throws -> ResourceAddress {
    guard let a = ResourceAddress(parsing: text) else { throw OttoError("cli.address", "\(text) is not a resource address (KIND.NAME)") }
    return a
}

import OttoConfig
import OttoState
/// Opens the state of `--state`, or of the environment (off the cooperative pool).
func openStore(_ g: GlobalOptions) async throws -> any StateStore {
    let root = (g.dir as NSString).standardizingPath
    return try await Blocking.run {
        let environment = try ProjectFiles.environment(g.environment, root: root)
        return try ProjectContext.openState(g, root: root, environment: environment)
    }
}
