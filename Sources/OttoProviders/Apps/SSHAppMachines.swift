import Foundation
import OttoCore
import OttoSSH

/// The machine side of a deploy over SSH: one session per machine from the provider's pool.
struct SSHAppMachines: AppMachineOps {
    let app: AppDefinition
    let pool: SSHPool
    /// The release's config digest (`AppProvider.configDigest`), recorded beside it.
    let config: String
    /// The bundle as a gzipped tarball (nil: the machine downloads it from the app's URL).
    let bundle: @Sendable () async throws -> [UInt8]?

    private func run(_ m: AppDefinition.Machine, _ script: String, timeout: Duration = .seconds(300)) async throws -> String {
        let session = try await pool.session(for: m.connection.target)
        let r = try await session.exec("sh -s", stdin: Array(script.utf8), timeout: timeout)
        guard r.status == 0 else {
            let text = (r.stderrText + r.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines)
            throw OttoError("app.host", "\(m.name): \(text.isEmpty ? "exited \(r.status)" : text)")
        }
        return r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func prepare(_ m: AppDefinition.Machine, release n: Int, slot: AppSlot) async throws {
        let session = try await pool.session(for: m.connection.target)
        var tarball: String?
        if try await run(m, AppHostScript.needsBundle(app, release: n)) == "need", let bytes = try await bundle() {
            let path = "/tmp/otto-app-\(app.name)-\(n)-\(UUID().uuidString.prefix(8)).tar.gz"
            try await session.upload(bytes, to: path, mode: 0o600)
            tarball = path
        }
        _ = try await run(m, AppHostScript.prepare(app, release: n, slot: slot, config: config, tarball: tarball))
        try await session.upload(Array(AppHostScript.environment(app, release: n, slot: slot).utf8),
                                 to: "\(app.root)/meta/\(n).env", mode: 0o600)
        let exec = try AppRunContext(app: app, release: n, slot: slot, machine: m.name).render(app.exec)
        try await session.upload(Array(AppHostScript.unit(app, release: n, exec: exec).utf8),
                                 to: "/etc/systemd/system/\(app.unitName(n))", mode: 0o644)
    }

    func start(_ m: AppDefinition.Machine, release n: Int) async throws {
        if let hook = AppHostScript.hook(app, release: n, "before_start") { _ = try await run(m, hook) }
        _ = try await run(m, AppHostScript.start(app, release: n))
    }

    func awaitHealthy(_ m: AppDefinition.Machine, release n: Int, slot: AppSlot) async throws {
        let limit = Duration.milliseconds(app.health.deadlineMS + app.health.timeoutMS + 5000)
        _ = try await run(m, AppHostScript.awaitHealthy(app, release: n, slot: slot), timeout: limit)
    }

    func afterStart(_ m: AppDefinition.Machine, release n: Int) async throws {
        if let hook = AppHostScript.hook(app, release: n, "after_start") { _ = try await run(m, hook) }
    }

    func stop(_ m: AppDefinition.Machine, release n: Int) async throws {
        _ = try await run(m, AppHostScript.stop(app, release: n), timeout: .milliseconds(app.drainTimeoutMS + 30000))
    }

    func finish(_ m: AppDefinition.Machine, current n: Int, keep: [Int]) async throws {
        if n > 0 { _ = try await run(m, AppHostScript.markCurrent(app, release: n)) }
        _ = try await run(m, AppHostScript.prune(app, current: n, keep: keep))
    }
}

/// The variables of a release's command line: `{{release_dir}}`, `{{port}}`, `{{version}}`, `{{digest}}`,
/// `{{release}}`, `{{app}}`, `{{site}}`, `{{machine}}`.
struct AppRunContext: Sendable {
    let app: AppDefinition
    let release: Int
    let slot: AppSlot
    let machine: String

    var variables: [String: Value] {
        ["release_dir": .string(app.releaseDir(release)), "port": .int(slot.port(base: app.port)), "version": .string(app.version),
         "digest": .string(app.digest), "release": .int(release), "app": .string(app.name), "site": .string(app.site),
         "machine": .string(machine)]
    }

    /// `text` (a mustache template, `run.exec`) rendered with `variables` by the project's one template renderer.
    func render(_ text: String) throws -> String {
        do { return try HostRender.template(text, variables: variables) } catch {
            throw OttoError("app.exec", "app \(app.name): run.exec is not a template otto can render", cause: error)
        }
    }
}
