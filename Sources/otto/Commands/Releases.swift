import ArgumentParser
import Foundation
import OttoConfig
import OttoCore

/// `otto releases APP [--site S] [--json] [--limit N]`: an app's release ledger, newest first.
struct Releases: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an app's releases, newest first: number, version, digest, result, start, duration, who, where and why.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The app (its `name:` under `apps:` in a site).") var app: String
    @Option(name: .long, help: "Only the app of this site (default: every site declaring it).") var site: String?
    @Option(name: .long, help: "At most this many releases (default 20).") var limit: Int = 20
    @Flag(name: .long, help: "Print JSON: {\"app\", \"releases\": [...]}, the shape of GET /v1/apps/{app}/releases.") var json = false

    func run() async throws {
        let list: ReleaseList
        do {
            guard (1...1000).contains(limit) else { throw OttoError("cli.flags", "--limit must be from 1 to 1000, got \(limit)") }
            let ctx = try await ProjectContext.open(global)
            let sites = try ctx.project.releaseSites(app: app, site: site)
            guard let ledger = ctx.store as? any ReleaseLedger else {
                throw OttoError("state.releases", "this state store keeps no release ledger")
            }
            let rows = try await ledger.releases(site: sites.count == 1 ? sites[0].name : nil, app: app, limit: limit)
            list = ReleaseList(app: app, releases: rows)
        } catch { throw fail(error) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Terminal.out(String(decoding: try enc.encode(list), as: UTF8.self) + "\n")
            return
        }
        Terminal.out(Self.table(list))
    }

    /// The human form: one row per release, with a SITE column when the rows span several sites.
    static func table(_ list: ReleaseList) -> String {
        guard !list.releases.isEmpty else { return "No releases of app \(list.app) yet.\n" }
        let sites = Set(list.releases.map(\.site)).count > 1
        var rows: [[String]] = [(sites ? ["SITE"] : []) + ["#", "VERSION", "DIGEST", "RESULT", "STARTED", "DURATION", "ACTOR", "HOSTS", "REASON"]]
        for r in list.releases {
            rows.append((sites ? [r.site] : []) + [
                String(r.number), r.version, String(r.digest.prefix(12)), r.result.rawValue, StatusPage.time(r.started),
                r.duration.map(duration) ?? "-", r.actor, r.hosts.isEmpty ? "-" : r.hosts.joined(separator: ","),
                r.reason.isEmpty ? "-" : r.reason,
            ])
        }
        return TextTable.render(rows)
    }

    /// `850ms`, `12.3s`, `2m05s`, `1h02m`.
    static func duration(_ seconds: TimeInterval) -> String {
        let s = max(0, seconds)
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        if s < 60 { return String(format: "%.1fs", s) }
        let whole = Int(s.rounded(.down))
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
