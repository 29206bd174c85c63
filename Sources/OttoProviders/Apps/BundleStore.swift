import Foundation
import OttoCore

/// The builds otto deployed, kept by digest under the project (`.otto/bundles/APP/DIGEST.tar.gz`, mode 0600): a
/// promotion or a redeploy of the last good release sends machines that never had a build the exact bytes an earlier
/// environment ran, never a rebuild. The newest `keep` builds of each app stay.
struct BundleStore: Sendable {
    /// `.otto/bundles` under the project root.
    let directory: String
    /// Builds kept per app.
    var keep = 20

    init(projectRoot: String) { directory = projectRoot + "/.otto/bundles" }

    private func path(app: String, digest: String) -> String { "\(directory)/\(app)/\(digest).tar.gz" }

    /// The kept build, nil when there is none.
    func read(app: String, digest: String) async throws -> [UInt8]? {
        let p = path(app: app, digest: digest)
        return try await Blocking.run {
            guard FileManager.default.fileExists(atPath: p) else { return nil }
            do { return Array(try Data(contentsOf: URL(fileURLWithPath: p))) } catch {
                throw OttoError("app.bundle", "cannot read the kept build \(p)", cause: error)
            }
        }
    }

    /// Keeps `bytes` as the build `digest` of `app` (a build kept already is left as it is), then drops the app's
    /// oldest builds beyond `keep`.
    func keep(app: String, digest: String, bytes: [UInt8]) async throws {
        let dir = "\(directory)/\(app)", p = path(app: app, digest: digest), keep = self.keep
        try await Blocking.run {
            let fm = FileManager.default
            if fm.fileExists(atPath: p) { return }
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) } catch {
                throw OttoError("app.bundle", "cannot create \(dir) to keep the build", cause: error)
            }
            try AtomicFile.write(bytes, to: p, mode: 0o600, code: "app.bundle")
            let kept = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".tar.gz") }.map { name -> (String, Date) in
                let date = (try? fm.attributesOfItem(atPath: "\(dir)/\(name)")[.modificationDate] as? Date) ?? .distantPast
                return (name, date ?? .distantPast)
            }
            for (name, _) in kept.sorted(by: { $0.1 > $1.1 }).dropFirst(keep) { try? fm.removeItem(atPath: "\(dir)/\(name)") }
        }
    }
}
