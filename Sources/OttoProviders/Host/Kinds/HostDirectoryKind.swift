import Foundation
import OttoCore
import OttoSSH

/// `directory`: a project directory synced to the machine. Only changed files move; files no longer in the source
/// are removed (unless `purge` is false); deleting it removes only what otto put there.
struct HostDirectoryKind: HostKind {
    private typealias F = AttributeName.File
    private typealias D = AttributeName.Directory
    let kind = "directory"
    let schema = HostShared.schema("directory", [
        .required(F.path, .string, forceNew: true), .required(D.source, .string, ignoredInDiff: true),
        .optional(F.mode, .string), .optional(F.owner, .string), .optional(F.group, .string), .optional(D.purge, .bool),
        .optional(D.dirMode, .string), .computed(D.files, .map(.string), ignoredInDiff: false, presentation: .listing),
    ])

    func derive(_ a: inout [String: Value], sources: HostSourceFiles) {
        let mode = a[F.mode]?.stringValue ?? "0644"
        if a[D.dirMode] == nil { a[D.dirMode] = .string("0755") }
        if let source = a[D.source]?.stringValue {
            a[D.files] = (try? sources.files(source)).map { .map($0.mapValues { .string("\($0) \(mode)") }) } ?? .unknown
        }
    }

    /// The directory: `find` lists it, so any entry added, removed or written shows in the listing.
    func watched(_ a: [String: Value]) -> [String]? { HostShared.watchedFile(a) }

    func probe(index i: Int, _ a: [String: Value]) -> String {
        // One find for everything: `d MODE` per directory (the directory itself included), `f MODE NAME` per file, and
        // the files' content hashes (sha256sum's own lines: a hash or a backslash first, never a letter and a space).
        // find flushes its output before it runs sha256sum, so lines do not mix.
        let path = a.shellQuoted(F.path)
        return "if [ -d \(path) ]; then (cd \(path) && find . \\( -type d -printf 'd %m\\n' \\) -o \\( -type f -printf 'f %m %P\\n' -exec sha256sum {} + \\) 2>/dev/null) "
            + "| while IFS= read -r l; do case $l in 'd '*) p \(i) dmode \"${l#d }\";; 'f '*) p \(i) fmode \"${l#f }\";; *) p \(i) file \"$l\";; esac; done; "
            + "else p \(i) missing 1; fi"
    }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts f: HostProbe.Facts) -> Bool {
        if f.missing { return false }
        a[D.files] = .map(Dictionary(uniqueKeysWithValues: f.files.map { ($0.key, .string("\($0.value) \(f.fileModes[$0.key] ?? "?")")) }))
        // One mode for every directory when they agree; otherwise the odd ones out show in the plan.
        a[D.dirMode] = .string(f.dirModes.count == 1 ? f.dirModes.first! : f.dirModes.sorted().joined(separator: ","))
        return true
    }

    /// Uploads new and changed files, removes files that are no longer in the source (only changed files move).
    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let a = r.attributes
        guard let root = a[F.path]?.stringValue, root.hasPrefix("/"), root != "/", let source = a[D.source]?.stringValue else {
            throw OttoError("host.directory", "\(r.address): needs an absolute path other than / and a source")
        }
        let want = try host.sources.files(source)
        // What is there now, listed at apply time (the plan may be older, or about a machine since replaced).
        let listing = try await host.run(HostProbe.script([ObserveRequest(address: r.address, providerID: nil, attributes: a)]))
        let facts = HostProbe.parse(listing.stdoutText, count: 1)[0]
        let have = facts.files
        let fileMode = a[F.mode]?.stringValue ?? "0644"
        // A file moves when its content or its mode differs.
        let changed = want.filter { have[$0.key] != $0.value || facts.fileModes[$0.key] != fileMode }.keys.sorted()
        let extra = have.keys.filter { want[$0] == nil }.sorted()
        let dirs = Set(changed.map { ($0 as NSString).deletingLastPathComponent }.filter { !$0.isEmpty }).map { root + "/" + $0 }
        try await host.run("mkdir -p -- " + ([root] + dirs.sorted()).map(ShellQuote.quote).joined(separator: " "))
        let base = host.sources.path(source)
        let mode = UInt32(fileMode, radix: 8) ?? 0o644
        for rel in changed {
            guard let data = FileManager.default.contents(atPath: base + "/" + rel) else {
                throw OttoError("host.source", "cannot read \(base)/\(rel)")
            }
            try await host.session.upload(Array(data), to: root + "/" + rel, mode: mode, owner: a[F.owner]?.stringValue,
                                          group: a[F.group]?.stringValue)
        }
        if a[D.purge]?.boolValue != false && !extra.isEmpty {
            try await host.run("cd \(ShellQuote.quote(root)) && rm -f -- " + extra.map { ShellQuote.quote("./" + $0) }.joined(separator: " "))
        }
        let dirMode = a[D.dirMode]?.stringValue ?? "0755"
        if facts.dirModes != [dirMode] || !dirs.isEmpty {
            try await host.run("find \(ShellQuote.quote(root)) -type d -exec chmod \(ShellQuote.quote(dirMode)) {} +")
        }
    }

    /// Only what otto put there: the files it synced, then the directories they leave empty.
    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        let files = (a[D.files]?.mapValue ?? [:]).keys.sorted()
        let root = a[F.path]?.stringValue ?? ""
        guard root.hasPrefix("/"), root != "/" else { return }
        if !files.isEmpty {
            try await host.run("cd \(ShellQuote.quote(root)) && rm -f -- " + files.map { ShellQuote.quote("./" + $0) }.joined(separator: " "))
        }
        try await host.run("[ ! -d \(ShellQuote.quote(root)) ] || find \(ShellQuote.quote(root)) -depth -type d -empty -delete")
    }
}
