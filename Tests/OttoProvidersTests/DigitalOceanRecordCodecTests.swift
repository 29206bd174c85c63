import OttoCore
import Testing
@testable import OttoProviders

/// DigitalOcean's record storage ↔ otto's presentation form, without a server.
@Suite struct DigitalOceanRecordCodecTests {
    let zone = "demo.test."

    func record(_ type: String, _ data: String, name: String = "@", priority: Int? = nil, port: Int? = nil, weight: Int? = nil) -> DigitalOceanModel.Record {
        DigitalOceanModel.Record(id: 1, type: type, name: name, data: data, priority: priority, port: port, ttl: 300, weight: weight)
    }

    func body(_ type: String, _ value: String, name: String = "@") throws -> DigitalOceanModel.RecordBody {
        try DigitalOceanRecordCodec.body(type: type, name: name, value: value, ttl: 300, zone: zone).get()
    }

    @Test func storedRecordsBecomePresentationForm() {
        #expect(DigitalOceanRecordCodec.presentation(record("AAAA", "2001:DB8:0:0::1"), zone: zone) == "2001:db8::1")
        #expect(DigitalOceanRecordCodec.presentation(record("CNAME", "@"), zone: zone) == "demo.test.")
        #expect(DigitalOceanRecordCodec.presentation(record("CNAME", "web.demo.test"), zone: zone) == "web.demo.test.")
        #expect(DigitalOceanRecordCodec.presentation(record("NS", "ns1.digitalocean.com"), zone: zone) == "ns1.digitalocean.com.")
        #expect(DigitalOceanRecordCodec.presentation(record("MX", "mail.example.net", priority: 10), zone: zone) == "10 mail.example.net.")
        #expect(DigitalOceanRecordCodec.presentation(record("SRV", "sip.demo.test", priority: 1, port: 5060, weight: 2), zone: zone) == "1 2 5060 sip.demo.test.")
        #expect(DigitalOceanRecordCodec.presentation(record("TXT", #"say "hi" \ there"#), zone: zone) == #""say \"hi\" \\ there""#)
        #expect(DigitalOceanRecordCodec.presentation(record("TXT", "caf\u{e9}"), zone: zone) == #""caf\195\169""#)
        #expect(DigitalOceanRecordCodec.presentation(record("SOA", "1800"), zone: zone) == nil)
        #expect(DigitalOceanRecordCodec.owner("@", zone: zone) == "demo.test.")
        #expect(DigitalOceanRecordCodec.owner("_sip._tcp", zone: zone) == "_sip._tcp.demo.test.")
    }

    @Test func presentationBecomesRecordBodies() throws {
        #expect(try body("A", "192.0.2.1").data == "192.0.2.1")
        #expect(try body("CNAME", "demo.test.", name: "www").data == "@", "the apex as DigitalOcean writes it")
        #expect(try body("CNAME", "web.demo.test.", name: "www").data == "web.demo.test.")
        let mx = try body("MX", "10 mail.example.net.")
        #expect(mx.priority == 10)
        #expect(mx.data == "mail.example.net.")
        let srv = try body("SRV", "1 2 5060 sip.demo.test.", name: "_sip._tcp")
        #expect([srv.priority, srv.weight, srv.port] == [1, 2, 5060])
        #expect(try body("TXT", #""say \"hi\" \\ there""#).data == #"say "hi" \ there"#)
        #expect(try body("TXT", #""caf\195\169""#).data == "caf\u{e9}")
        #expect(try body("TXT", #""abc" "def""#).data == "abcdef", "strings of one value are joined")
        #expect(throws: (any Error).self) { try body("A", "300.1.1.1") }
        #expect(throws: (any Error).self) { try body("MX", "mail.example.net.") }
        #expect(throws: (any Error).self) { try body("SRV", "1 2 sip.demo.test.") }
        #expect(throws: (any Error).self) { try body("CAA", #"0 issue "letsencrypt.org""#) }
        #expect(DigitalOceanRecordCodec.relative("www.demo.test.", zone: zone) == "www")
        #expect(DigitalOceanRecordCodec.relative("demo.test.", zone: zone) == "@")
        #expect(DigitalOceanRecordCodec.relative("www.other.test.", zone: zone) == nil)
    }

    @Test func everyValueSurvivesTheRoundTrip() throws {
        let long = String(repeating: "x", count: 600)
        for (type, value) in [("A", "192.0.2.1"), ("AAAA", "2001:db8::1"), ("CNAME", "web.demo.test."), ("CNAME", "demo.test."),
                              ("NS", "ns1.example.net."), ("MX", "0 demo.test."), ("SRV", "10 0 443 demo.test."),
                              ("TXT", DNSPresentation.quoteTXT(long)), ("TXT", #""v=DKIM1; k=rsa; p=MIGf""#)] {
            let made = try body(type, value)
            #expect(DigitalOceanRecordCodec.presentation(of: made, zone: zone) == value, "\(type) \(value)")
        }
    }

    @Test func apexNameserversFromAZoneFile() {
        let zoneFile = """
            $ORIGIN demo.test.
            $TTL 1800
            demo.test. IN SOA ns1.digitalocean.com. hostmaster.demo.test. 1415982609 10800 3600 604800 1800
            demo.test. 1800 IN NS ns2.digitalocean.com.
            @ 1800 IN NS ns1.digitalocean.com.
            sub.demo.test. 1800 IN NS ns1.elsewhere.test.
            demo.test. 1800 IN A 192.0.2.1
            """
        #expect(DigitalOceanProvider.apexNameservers(zoneFile: zoneFile, domain: "demo.test") == ["ns1.digitalocean.com.", "ns2.digitalocean.com."])
        #expect(DigitalOceanProvider.apexNameservers(zoneFile: "garbage", domain: "demo.test") == nil)
    }
}
