import ArgumentParser
import Foundation
import OttoCore
import OttoPlan

/// `otto state list|show|rm|import`.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "state", abstract: "Inspect and edit the state.",
                                                    subcommands: [List.self, Show.self, Remove.self, Import.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every resource in state.")
        @OptionGroup var global: GlobalOptions
        func run() async throws {
            do {
                let store = try openStore(global)
                let snap = try store.snapshot()
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
                let store = try openStore(global)
                let a = try parseAddress(address)
                guard let r = try store.snapshot().records[a] else { throw OttoError("state.missing", "\(a) is not in the state") }
                var out = "\(r.address)\n  provider:    \(r.provider)\n  provider id: \(r.providerID)\n"
                if !r.dependencies.isEmpty { out += "  depends on:  \(r.dependencies.map(\.description).joined(separator: ", "))\n" }
                let hidden = ProviderSchemas.sensitiveNames(kind: a.kind)
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
                let store = try openStore(global)
                let a = try parseAddress(address)
                let lock = try store.acquireLock(command: "otto state rm")
                defer { try? store.releaseLock(id: lock.id) }
                guard try store.snapshot().records[a] != nil else { throw OttoError("state.missing", "\(a) is not in the state") }
                try store.remove(a)
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
                let ctx = try ProjectContext.load(global)
                let a = try parseAddress(address)
                guard let r = ctx.resources.first(where: { $0.address == a }) else {
                    throw OttoError("import.address", "\(a) is not in the configuration; add it to a site first, then import it")
                }
                try await ctx.withLock("otto state import") {
                    if try ctx.store.snapshot().records[a] != nil {
                        throw OttoError("import.exists", "\(a) is already in the state; `otto state rm \(a)` first to import another")
                    }
                    let providers = try ctx.providers(for: [r.provider])
                    let found = try await providers[r.provider]!.observe(kind: a.kind, [ObserveRequest(address: a, providerID: id, attributes: r.attributes)])
                    guard let o = found[a], o.providerID == id else {
                        throw OttoError("import.missing", "provider `\(r.provider)` has no \(a.kind) with id \(id)"
                                        + (found[a].map { " (the configuration matches id \($0.providerID))" } ?? ""))
                    }
                    try ctx.store.put(ResourceRecord(address: a, provider: r.provider, providerID: o.providerID, attributes: o.attributes,
                                                     dependencies: r.dependencies.map(\.address)))
                    Terminal.out("Imported \(a) (id \(id)). Run `otto plan` to see how it differs from the configuration.\n")
                }
            } catch { throw fail(error) }
        }
    }
}

/// `otto force-unlock LOCK_ID`.
struct ForceUnlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "force-unlock", abstract: "Remove a lock left by a process that died.")
    @OptionGroup var global: GlobalOptions
    @Argument var lockID: String
    func run() async throws {
        do {
            let store = try openStore(global)
            try store.forceUnlock(id: lockID)
            Terminal.out("Lock \(lockID) removed.\n")
        } catch { throw fail(error) }
    }
}

func parseAddress(_ text: String) throws -> ResourceAddress {
    guard let a = ResourceAddress(parsing: text) else { throw OttoError("cli.address", "\(text) is not a resource address (KIND.NAME)") }
    return a
}

import OttoState
func openStore(_ g: GlobalOptions) throws -> any StateStore {
    try StateURL.open(g.stateURL, root: (g.dir as NSString).standardizingPath)
}
