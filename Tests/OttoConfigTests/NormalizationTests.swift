import Foundation
@testable import OttoConfig
import OttoCore
import Testing

/// Record values end up in the presentation form PowerDNS returns.
@Suite struct NormalizationTests {
    func records(_ type: String, _ values: [String], name: String = "x") throws -> [String] {
        let list = values.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ")
        let project = try loadProject([
            "sites/n.yml": "site: n\ndomain: n.test\ndns:\n  provider: powerdns\n  records:\n    - { name: \(name), type: \(type), values: [\(list)] }\n",
            "inventory/main.yml": standardInventory,
        ])
        let record = try #require(project.resources.first { $0.kind == "dns_record" })
        return record.attributes["records"]?.listValue?.compactMap(\.stringValue) ?? []
    }

    @Test func ipv6IsCanonical() throws {
        #expect(try records("AAAA", ["2001:DB8:0:0:0:0:0:1", "::ffff:192.0.2.1"]) == ["2001:db8::1", "::ffff:192.0.2.1"])
    }

    @Test func valuesAreSorted() throws {
        #expect(try records("A", ["192.0.2.9", "192.0.2.10", "10.0.0.1"]) == ["10.0.0.1", "192.0.2.10", "192.0.2.9"])
    }

    @Test func targetsBecomeFQDNs() throws {
        #expect(try records("CNAME", ["WWW.Other.Test."]) == ["www.other.test."])
        #expect(try records("NS", ["ns1", "ns2.n.test."]) == ["ns1.n.test.", "ns2.n.test."])
        #expect(try records("MX", ["10   Mail", "0 ."]) == ["0 .", "10 mail.n.test."])
        #expect(try records("SRV", ["10 5 5060 sip"], name: "_sip._tcp") == ["10 5 5060 sip.n.test."])
    }

    @Test func txtIsQuotedEscapedAndChunked() throws {
        #expect(try records("TXT", ["say \"hi\" \\o/"]) == ["\"say \\\"hi\\\" \\\\o/\""])
        #expect(try records("TXT", ["\"already quoted\""]) == ["\"already quoted\""])
        #expect(try records("TXT", ["café"]) == ["\"caf\\195\\169\""])
        let long = String(repeating: "a", count: 300)
        #expect(try records("TXT", [long]) == ["\"" + String(repeating: "a", count: 255) + "\" \"" + String(repeating: "a", count: 45) + "\""])
    }

    @Test func ownerNames() throws {
        let project = try loadProject([
            "sites/n.yml": """
                site: n
                domain: n.test
                dns:
                  provider: powerdns
                  zone: N.Test.
                  records:
                    - { name: "N.TEST.", type: TXT, value: apex }
                    - { name: "*.Wild", type: A, value: 192.0.2.1 }
                    - { name: deep.sub.n.test., type: A, value: 192.0.2.2 }
                """,
            "inventory/main.yml": standardInventory,
        ])
        #expect(project.resources.map(\.address.description) == ["dns_zone.n", "dns_record.n.@.TXT", "dns_record.n.*.wild.A", "dns_record.n.deep.sub.A"])
        #expect(project.resources.compactMap { $0.attributes["name"]?.stringValue } == ["n.test.", "n.test.", "*.wild.n.test.", "deep.sub.n.test."])
    }

    @Test func badMXAndSRV() {
        let errors = siteErrors("site: n\ndomain: n.test\ndns:\n  provider: powerdns\n  records:\n    - { name: a, type: MX, value: mail }\n    - { name: b, type: SRV, value: \"10 5 sip\" }\n")
        #expect(errors == [
            "sites/demo.yml:6:35: error: invalid MX value \"mail\": expected \"PRIORITY TARGET\", e.g. \"10 mail\"",
            "sites/demo.yml:7:36: error: invalid SRV value \"10 5 sip\": expected \"PRIORITY WEIGHT PORT TARGET\", e.g. \"10 5 5060 sip\"",
        ])
    }

    @Test func durations() {
        #expect(ConfigDuration(parsing: "500ms")?.milliseconds == 500)
        #expect(ConfigDuration(parsing: "2s")?.milliseconds == 2000)
        #expect(ConfigDuration(parsing: "5m")?.milliseconds == 300_000)
        #expect(ConfigDuration(parsing: "1h30m")?.seconds == 5400)
        #expect(ConfigDuration(parsing: "1h30m")?.duration == .seconds(5400))
        for bad in ["5x", "-1s", "", "5", "1m1h", "1s1s", "s", "1.5s"] {
            #expect(ConfigDuration(parsing: bad) == nil, "\(bad)")
        }
    }
}
