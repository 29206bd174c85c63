import Foundation
import OttoTestSupport
import Testing

/// `otto --version`, through the real binary.
@Suite struct CLIVersionTests {
    @Test func versionPrintsOneSemanticVersionAndSucceeds() async throws {
        let version = try await runProcess([CLIProject.binary, "--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stderr.isEmpty, "\(version.stderr)")
        let semver = /[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?\n/
        #expect(version.stdout.wholeMatch(of: semver) != nil, "\(version.stdout)")
    }

    @Test func helpListsTheVersionFlag() async throws {
        let help = try await runProcess([CLIProject.binary, "--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("--version"), "\(help.stdout)")
    }
}
