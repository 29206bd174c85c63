import Testing
import OttoTestSupport
@testable import OttoCore

/// The byte-level checks of names and IPv4 addresses agree with the general ones they short-cut (`lowercased` and
/// `split` for names, glibc's `inet_pton`/`inet_ntop` for addresses) on many random inputs and on the edge cases.
@Suite struct DNSPresentationTests {
    static let nameBytes = Array("abcxyzAZQ0129-_*.".utf8)

    @Test(arguments: [1, 2, 3])
    func aNameIsJudgedAsTheGeneralCheckJudgesIt(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var checked = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 20)
            let name = String(decoding: (0..<length).map { _ in Self.nameBytes[Int(random.next() % UInt64(Self.nameBytes.count))] }, as: UTF8.self)
            for (underscore, wildcard) in [(false, false), (true, false), (true, true), (false, true)] {
                #expect(DNSPresentation.asciiDomainIsValid(name, allowUnderscore: underscore, allowWildcard: wildcard)
                        == DNSPresentation.anyDomainIsValid(name, allowUnderscore: underscore, allowWildcard: wildcard), "\(name)")
                checked += 1
            }
        }
        #expect(checked == 80_000)
    }

    @Test func edgeCasesOfNames() {
        let long63 = String(repeating: "a", count: 63), long64 = String(repeating: "a", count: 64)
        let total253 = [String](repeating: String(repeating: "b", count: 62), count: 4).joined(separator: ".") + ".c"  // 253 bytes
        for name in ["", ".", "a.", ".a", "a..b", "-a", "a-", "a-b", "*", "*.a", "a.*", "**.a", "*a.b", "A.B", "x_y", long63, long64,
                     total253, total253 + "c", "ké.test", "\u{212A}.test", "İ.test"] {
            for (underscore, wildcard) in [(false, false), (true, true)] {
                #expect(DNSPresentation.isValidDomain(name, allowUnderscore: underscore, allowWildcard: wildcard)
                        == DNSPresentation.anyDomainIsValid(name, allowUnderscore: underscore, allowWildcard: wildcard), "\(name)")
            }
        }
        #expect(DNSPresentation.isValidDomain(total253) && !DNSPresentation.isValidDomain(total253 + "c"))
        #expect(DNSPresentation.isValidDomain("Www.Example.Test") && !DNSPresentation.isValidDomain("a..b"))
        #expect(DNSPresentation.isValidDomain("*.a", allowWildcard: true) && !DNSPresentation.isValidDomain("a.*", allowWildcard: true))
        // non-ASCII takes the general path: the Kelvin sign lowercases to an ASCII k
        #expect(DNSPresentation.asciiDomainIsValid("\u{212A}.test", allowUnderscore: false, allowWildcard: false) == nil)
        #expect(DNSPresentation.isValidDomain("\u{212A}.test"))
    }

    @Test(arguments: [1, 2])
    func anIPv4AddressIsReadAsTheCLibraryReadsIt(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let numbers = ["0", "1", "9", "10", "255", "01", "00", "256"]
        let pieces = numbers + ["999", "1000", "", ".", "a", " ", "-1", "0x1"]
        var valid = 0
        for _ in 0..<20_000 {
            // half the texts are four numbers (most of them addresses), the others anything
            let four = random.next() % 2 == 0
            let count = four ? 4 : 1 + Int(random.next() % 6)
            let from = four ? numbers : pieces
            let text = (0..<count).map { _ in from[Int(random.next() % UInt64(from.count))] }
                .joined(separator: random.next() % 8 == 0 ? ".." : ".")
            #expect(DNSPresentation.ipv4(text) == DNSPresentation.inetIPv4(text), "\(text)")
            if DNSPresentation.inetIPv4(text) != nil { valid += 1 }
        }
        #expect(valid > 100)  // the random texts reach valid addresses, not only refusals
        for text in ["1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
                     "1..2.3", ".1.2.3", "1.2.3.4 ", "", "10.213.0.1"] {
            #expect(DNSPresentation.ipv4(text) == DNSPresentation.inetIPv4(text), "\(text)")
        }
        #expect(DNSPresentation.ipv4("10.213.0.1") == "10.213.0.1" && DNSPresentation.ipv4("010.213.0.1") == nil)
    }
}
