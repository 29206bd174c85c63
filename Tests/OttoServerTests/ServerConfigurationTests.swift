import Foundation
import OttoServer
import Testing

@Suite struct ServerConfigurationTests {
    @Test func listenAddresses() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8420") == ListenAddress(host: "127.0.0.1", port: 8420))
        #expect(try ListenAddress(parsing: "[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(try ListenAddress(parsing: ":9000") == ListenAddress(host: "0.0.0.0", port: 9000))
        #expect(try ListenAddress(parsing: "localhost:1").isLoopback)
        #expect(try ListenAddress(parsing: "127.1.2.3:1").isLoopback)
        #expect(!(try ListenAddress(parsing: "0.0.0.0:1").isLoopback))
        #expect(!(try ListenAddress(parsing: "192.0.2.1:1").isLoopback))
        for bad in ["8420", "host:port", "1.2.3.4:70000", "::1:80", "[::1]80"] {
            #expect(throws: (any Error).self, "\(bad)") { try ListenAddress(parsing: bad) }
        }
    }

    @Test func plaintextOnlyOnLoopbackUnlessForced() throws {
        var c = APIServerConfiguration(listen: try ListenAddress(parsing: "0.0.0.0:8420"))
        #expect(throws: (any Error).self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("--insecure-listen")) }
        c.allowPlaintextNonLoopback = true
        try c.validate()
        c.allowPlaintextNonLoopback = false
        c.tls = ("cert.pem", "key.pem")
        try c.validate()
        try APIServerConfiguration().validate()
    }
}
