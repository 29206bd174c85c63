import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoPlan
import OttoState

/// `otto rollback APP [--to N]`: deploys an earlier, kept build of an app again, as a new release.
struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy an earlier build of an app again (a new release: history is never rewritten), from the releases kept on its machines.",
        discussion: """
            Without --to, the newest release that succeeded with another version or build than the one serving now. The app stays \
            on that build (a pin kept in the state) until the site's `version:` or bundle changes, or \
            `otto release APP VERSION` moves it.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The app (its `name:` under `apps:` in a site).") var app: String
    @Option(name: .long, help: "The release number to go back to (`otto releases APP` lists them).") var to: Int?
    @Option(name: .long, help: "The site declaring the app, when several do.") var site: String?
    @OptionGroup var run: ApplyRunOptions

    func run() async throws {
        try await AppPinCommand(global: global, app: app, site: site, run: run, command: "otto rollback").run { rows, spec in
            guard let current = rows.first(where: { $0.result == .succeeded }) else {
                throw OttoError("release.none", "app \(app) has no release that succeeded yet: there is nothing to roll back from")
            }
            let target: ReleaseRecord
            if let to {
                guard let row = rows.first(where: { $0.number == to }) else {
                    throw OttoError("release.unknown", "app \(app) has no release \(to); `otto releases \(app)` lists them")
                }
                guard row.result == .succeeded else {
                    throw OttoError("release.unfit", "release \(to) of app \(app) (\(row.version)) \(row.result.rawValue.replacingOccurrences(of: "_", with: " ")): only a release that succeeded can be gone back to")
                }
                guard row.digest != current.digest || row.version != current.version else {
                    throw OttoError("release.serving", "release \(to) of app \(app) is the build serving now (release \(current.number), \(current.version))")
                }
                target = row
            } else {
                guard let row = rows.first(where: { $0.result == .succeeded && $0.number < current.number
                                                    && ($0.digest != current.digest || $0.version != current.version) }) else {
                    throw OttoError("release.none", "app \(app) has no earlier release that succeeded with another version or build than release \(current.number) (\(current.version)); `otto releases \(app)` lists them")
                }
                target = row
            }
            return AppReleasePin(version: target.version, digest: target.digest, release: target.number, rollback: true,
                                 reason: "otto rollback to release \(target.number)", overVersion: spec.version, overDigest: spec.digest)
        }
    }
}

/// `otto release APP VERSION`: deploys a build of an app released before, or returns it to the site's own version.
struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy a version of an app that was released before (kept on its machines), or the site's own version again.",
        discussion: """
            A new build is released by changing `version:` and `bundle:` in the site and running `otto apply`. \
            `otto release APP VERSION` moves between builds the app's ledger knows: VERSION must have succeeded before, \
            unless it is the site's own version, which ends any pin of `otto rollback` or `otto release`.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The app (its `name:` under `apps:` in a site).") var app: String
    @Argument(help: "The version to serve.") var version: String
    @Option(name: .long, help: "The site declaring the app, when several do.") var site: String?
    @OptionGroup var run: ApplyRunOptions

    func run() async throws {
        try await AppPinCommand(global: global, app: app, site: site, run: run, command: "otto release").run { rows, spec in
            if version == spec.version { return nil }
            guard let row = rows.first(where: { $0.version == version && $0.result == .succeeded }) else {
                throw OttoError("release.unknown", "version \(version) of app \(app) never succeeded here (the site says \(spec.version)); a new build is released by changing `version:` and `bundle:` in the site")
            }
            return AppReleasePin(version: row.version, digest: row.digest, release: row.number, rollback: false,
                                 reason: "otto release \(version) (the build of release \(row.number))",
                                 overVersion: spec.version, overDigest: spec.digest)
        }
    }
}

/// What `otto rollback` and `otto release` share: find the app's site and ledger, write (or clear) the pin, and run the
/// apply pipeline for the app. A declined confirmation puts the previous pin back.
struct AppPinCommand {
    let global: GlobalOptions
    let app: String
    let site: String?
    let run: ApplyRunOptions
    let command: String

    /// The site's own `version:` and bundle digest for the app.
    struct SiteVersion {
        var version: String
        var digest: String
    }

    /// `choose` returns the pin to write, or nil for the site's own version.
    func run(_ choose: ([ReleaseRecord], SiteVersion) throws -> AppReleasePin?) async throws {
        let siteName: String
        let previous: APIItem?
        let store: any APIItemStore
        do {
            let ctx = try await ProjectContext.open(global)
            let sites = try ctx.project.releaseSites(app: app, site: site)
            guard sites.count == 1, let s = sites.first, let spec = s.app(app) else {
                throw OttoError("cli.site", "app \(app) is declared by sites \(sites.map(\.name).joined(separator: ", ")); pass --site")
            }
            guard let ledger = ctx.store as? any ReleaseLedger, let items = ctx.store as? any APIItemStore else {
                throw OttoError("state.releases", "this state store keeps no release ledger")
            }
            siteName = s.name
            store = items
            let own = SiteVersion(version: spec.version, digest: try spec.bundle.digest(root: ctx.root))
            let rows = try await ledger.releases(site: s.name, app: app, limit: 1000)
            let pin = try choose(rows, own)
            previous = try await Blocking.run { try items.holdRelease(pin, site: s.name, app: app) }
            if let pin {
                Terminal.out("app \(app) of site \(s.name) is held on release \(pin.release)'s build (\(pin.version)) until the site's version or bundle changes\n")
            } else if previous != nil {
                Terminal.out("app \(app) of site \(s.name) is back on the site's own version (\(spec.version))\n")
            }
        } catch { throw fail(error) }
        // nothing is applied when the confirmation is declined or impossible: the pin goes back as it was
        try await runApply(global: global, options: { PlanOptions(targets: ["app.\(siteName).\(app)"]) }, run: run,
                           planFile: nil, command: command, declined: {
            try? await Blocking.run { try store.restoreRelease(previous, site: siteName, app: app) }
        })
    }
}
