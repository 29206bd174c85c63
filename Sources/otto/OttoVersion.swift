/// The version `otto --version` prints.
///
/// Declared once, here, and raised by hand with each release; `-dev` marks a build from the branch between releases.
/// (SwiftPM cannot stamp the git commit into a build without a build plugin, so the version says no more than this.)
enum OttoVersion {
    /// The version of this build, as semantic versioning writes it.
    static let current = "0.2.0-dev"
}
