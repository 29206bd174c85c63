import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// Two environments of one site against a real PowerDNS: each applies into its own state with its own zone and its own
/// secrets source; neither's plan lists the other's resources; a state is refused to the wrong environment.
@Suite(.serialized, .tags(.powerDNS), .endToEnd) struct EnvironmentCLITests {
    @Test func twoEnvironmentsOfOneSiteStayApart() async throws {
        let pdns = try await PowerDNSServer.start()
        defer { pdns.stop() }
        let p = try CLIProject(pdns: pdns)
        try p.write("sites/shop.yml", siteYAML(site: "shop", zone: "shop.test", wwwTarget: "shop.test."))
        // Staging reads the PowerDNS key from a file of its own; production from the environment, as the inventory says.
        try p.write("keys/staging.key", pdns.apiKey + "\n")
        try p.write("environments/staging.yml", """
            environment: staging
            providers:
              powerdns: { api_key_env: ~, api_key_file: keys/staging.key }
            sites:
              shop:
                domain: staging.shop.test
                dns: { ttl: 60 }
            """)
        try p.write("environments/production.yml", "environment: production\n")

        let none = try await p.otto("plan")
        #expect(none.status == 1)
        #expect(none.stderr.contains("this project has environments (production, staging): choose one with --env NAME or OTTO_ENV"))
        #expect(!FileManager.default.fileExists(atPath: p.dir + "/.otto/state.db"))  // nothing was opened

        let staged = try await p.otto("apply", "--auto-approve", "--env", "staging")
        #expect(staged.status == 0, "\(staged.stderr)")
        #expect(staged.stdout.contains("Environment: staging"))
        #expect(try await p.api("GET", "/api/v1/servers/localhost/zones/staging.shop.test.").stdout.hasSuffix("200"))
        #expect(try await p.api("GET", "/api/v1/servers/localhost/zones/shop.test.").stdout.hasSuffix("404"))
        #expect(FileManager.default.fileExists(atPath: p.dir + "/.otto/state.staging.db"))

        // Production's plan: its own zone, and nothing of staging's (no delete of what staging made, no staging name).
        let planned = try await p.otto("plan", "--json", "--env", "production")
        #expect(planned.status == 0, "\(planned.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(planned.stdout.utf8)) as? [String: Any])
        #expect(plan["environment"] as? String == "production")
        let changes = plan["changes"] as? [[String: Any]] ?? []
        #expect(!changes.isEmpty && changes.allSatisfy { $0["action"] as? String == "create" })
        #expect(!planned.stdout.contains("staging"))

        var env = p.environment
        env["OTTO_ENV"] = "production"
        let produced = try await runProcess([CLIProject.binary, "apply", "--auto-approve", "--dir", p.dir], environment: env)
        #expect(produced.status == 0, "\(produced.stderr)")
        #expect(try await p.api("GET", "/api/v1/servers/localhost/zones/shop.test.").stdout.hasSuffix("200"))
        #expect(try await p.api("GET", "/api/v1/servers/localhost/zones/staging.shop.test.").stdout.hasSuffix("200"))
        for name in ["staging", "production"] {
            let again = try await p.otto("plan", "--env", name)
            #expect(again.status == 0 && again.stdout.contains("No changes."), "\(name): \(again.stdout)\(again.stderr)")
        }
        let stagingList = try await p.otto("state", "list", "--env", "staging").stdout
        let productionList = try await p.otto("state", "list", "--env", "production").stdout
        #expect(stagingList.contains("dns_zone.shop") && stagingList == productionList)  // the same addresses, in two states

        // A state given by hand is checked against the environment it belongs to.
        let wrong = try await p.otto("plan", "--env", "production", "--state", "sqlite:.otto/state.staging.db")
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("belongs to environment `staging`, not environment `production`"))

        // Staging's secret comes from its own source.
        try FileManager.default.removeItem(atPath: p.dir + "/keys/staging.key")
        let keyless = try await p.otto("plan", "--env", "staging")
        #expect(keyless.status == 1)
        #expect(keyless.stderr.contains("keys/staging.key"))
        #expect(try await p.otto("plan", "--env", "production").status == 0)
    }
}
