import Foundation
import OttoCore
import OttoSSH

/// `file`: a file with the given content, mode, owner and group. Its content is shown in plans (as a diff) unless the
/// resource says `sensitive: true`.
struct HostFileKind: HostKind {
    private typealias F = AttributeName.File
    let kind = "file"
    let schema = HostShared.schema("file", [
        .required(F.path, .string, forceNew: true), .required(F.content, .string, ignoredInDiff: true, sensitiveWhen: F.sensitive),
        .optional(F.mode, .string), .optional(F.owner, .string), .optional(F.group, .string),
        .optional(F.sensitive, .bool, ignoredInDiff: true), HostShared.contentHash,
    ])

    func derive(_ a: inout [String: Value], sources: HostSourceFiles) {
        if let text = a[F.content]?.stringValue { a[F.contentSHA256] = .string(ContentHash.sha256(Array(text.utf8))) }
    }

    func probe(index: Int, _ a: [String: Value]) -> String { HostShared.probeFile(index, a) }

    func watched(_ a: [String: Value]) -> [String]? { HostShared.watchedFile(a) }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        HostShared.observeFile(&a, facts)
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let a = r.attributes
        let dir = ((a[F.path]?.stringValue ?? "/") as NSString).deletingLastPathComponent
        try await host.run("mkdir -p -- \(ShellQuote.quote(dir))")
        try await host.session.upload(HostShared.content(a), to: a[F.path]?.stringValue ?? "",
                                      mode: UInt32(a[F.mode]?.stringValue ?? "0644", radix: 8) ?? 0o644,
                                      owner: a[F.owner]?.stringValue, group: a[F.group]?.stringValue)
    }

    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        try await host.run("rm -f -- \(a.shellQuoted(F.path))")
    }
}
