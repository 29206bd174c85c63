import Foundation
import OttoCore
import OttoSSH

/// `template`: a file rendered on each machine from a mustache template (`HostRender.template`) and its variables
/// (site and inventory vars, the machine's name and address, its group's addresses), then kept like a `file`. The
/// rendering happens once the addresses it names are known; what plans compare is the rendered text's hash, and a
/// change shows as the rendered texts' diff unless the resource says `sensitive: true`.
struct HostTemplateKind: HostKind {
    private typealias F = AttributeName.File
    private typealias T = AttributeName.Template
    let kind = "template"
    let schema = HostShared.schema("template", [
        .required(F.path, .string, forceNew: true),
        .required(T.template, .string, ignoredInDiff: true, sensitiveWhen: F.sensitive),
        .optional(T.variables, .map(.any), ignoredInDiff: true, sensitiveWhen: F.sensitive),
        .optional(F.mode, .string), .optional(F.owner, .string), .optional(F.group, .string),
        .optional(F.sensitive, .bool, ignoredInDiff: true),
        .computed(F.content, .string, sensitiveWhen: F.sensitive), HostShared.contentHash,
    ])
    let isRendered = true

    func render(_ a: [String: Value]) -> String? {
        guard let text = a[T.template]?.stringValue else { return nil }
        return try? HostRender.template(text, variables: a[T.variables]?.mapValue ?? [:])
    }

    func probe(index: Int, _ a: [String: Value]) -> String { HostShared.probeFile(index, a) }

    func watched(_ a: [String: Value]) -> [String]? { HostShared.watchedFile(a) }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        HostShared.observeFile(&a, facts)
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        try await HostFileKind().converge(r, current: current, on: host)
    }

    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        try await HostFileKind().delete(a, on: host)
    }
}
