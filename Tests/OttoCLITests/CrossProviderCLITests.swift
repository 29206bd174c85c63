import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// One site across providers: machines on DigitalOcean, DNS at Route53 (moto), the apex on the droplets' addresses.
@Suite(.serialized, .tags(.moto), .endToEnd) struct CrossProviderCLITests {
    @Test func recordsFollowMachinesOnAnotherProviderAndZonesImport() async throws {
        let server = try await FakeDigitalOceanServer.start(FakeDigitalOcean(token: DigitalOceanCLITests.token, actionSeconds: 0.05))
        defer { Task { await server.stop() } }
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        // A zone made by hand before otto, with a record otto will manage: both imported, neither made twice.
        let zoneID = try #require(try await motoQuery(moto.endpoint, """
            z = r53.create_hosted_zone(Name="mixed.test", CallerReference="by-hand")["HostedZone"]["Id"].split("/")[-1]
            r53.change_resource_record_sets(HostedZoneId=z, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
                "Name": "www.mixed.test.", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "mixed.test."}]}}]})
            out = z
            """) as? String)
        let inventory = DigitalOceanCLITests.inventory(server) + "\n" + AWSCLITests.inventory(moto.endpoint)
            .replacingOccurrences(of: "providers:\n", with: "")
        var env = AWSCLITests.environment
        env["OTTO_TEST_DO_TOKEN"] = DigitalOceanCLITests.token
        let p = try CLIProject(inventory: inventory, environment: env)
        try await p.makeSSHKey()
        try p.write("sites/mixed.yml", """
            site: mixed
            domain: mixed.test
            provider: do
            machines:
              web: { count: 2, image: debian-12-x64, size: s-1vcpu-1gb }
            dns:
              provider: aws
              records:
                - { name: "@", type: A, to: web }
                - { name: www, type: CNAME, value: mixed.test. }
            """)
        var r = try await p.run("state", "import", "dns_zone.mixed", zoneID)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        r = try await p.run("state", "import", "dns_record.mixed.www.CNAME", "mixed.test.|www.mixed.test.|CNAME")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("4 created"), "\(r.stdout)")  // the key, two droplets, the apex A

        let ips = await server.fake.dropletSummaries().map(\.publicIPv4).sorted()
        let apex = try await motoQuery(moto.endpoint, """
            out = []
            for rr in r53.list_resource_record_sets(HostedZoneId="\(zoneID)")["ResourceRecordSets"]:
                if rr["Name"] == "mixed.test." and rr["Type"] == "A": out = sorted(v["Value"] for v in rr["ResourceRecords"])
            zones = r53.list_hosted_zones()["HostedZones"]
            assert len(zones) == 1, zones
            """) as? [String]
        #expect(apex == ips)
        // The zone's nameservers are what Route53 serves (the delegation set), as `/dom/ns` will show them.
        let zone = try await p.run("state", "show", "dns_zone.mixed")
        #expect(zone.stdout.contains("provider id: \(zoneID)"))
        let nameservers = stateAttribute(zone.stdout, "nameservers") ?? ""
        #expect(nameservers.hasPrefix("[\"") && nameservers.contains(".\""), "\(zone.stdout)")
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)

        // A droplet replaced behind otto's back: the record follows the new address on the next apply.
        let victim = try #require(await server.fake.dropletSummaries().first { $0.name == "mixed-web-1" })
        await server.fake.removeDroplet(id: victim.id)
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let now = await server.fake.dropletSummaries().map(\.publicIPv4).sorted()
        let apexNow = try await motoQuery(moto.endpoint, """
            out = []
            for rr in r53.list_resource_record_sets(HostedZoneId="\(zoneID)")["ResourceRecordSets"]:
                if rr["Name"] == "mixed.test." and rr["Type"] == "A": out = sorted(v["Value"] for v in rr["ResourceRecords"])
            """) as? [String]
        #expect(apexNow == now)
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)
    }
}
