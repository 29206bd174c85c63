import Foundation
import OttoSSH
import OttoTestSupport
import Testing

/// Values quoted with ShellQuote reach a real shell as exactly one word, unchanged, and never run.
@Suite struct ShellQuoteRoundTripTests {
    @Test(arguments: ["plain", "it's", "$(touch /tmp/otto-never)", "`id`", "a\nb", "*", "-rf", "", "\"q\" \\ ;|&"])
    func survivesTheShell(_ value: String) async throws {
        let shell = try await runProcess(["/bin/sh", "-c", "printf '%s' " + ShellQuote.quote(value)])
        #expect(shell.stdout == value)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/otto-never"))
    }
}
