import Foundation
import OttoSSH
import Testing

/// Values quoted with ShellQuote reach a real shell as exactly one word, unchanged, and never run.
@Suite struct ShellQuoteRoundTripTests {
    @Test(arguments: ["plain", "it's", "$(touch /tmp/otto-never)", "`id`", "a\nb", "*", "-rf", "", "\"q\" \\ ;|&"])
    func survivesTheShell(_ value: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf '%s' " + ShellQuote.quote(value)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == value)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/otto-never"))
    }
}
