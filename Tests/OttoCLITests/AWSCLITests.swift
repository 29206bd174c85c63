import Foundation
import OttoTestSupport
import OttoTestTags
import Testing

/// EC2 instances, key pairs, security groups and Route53 through the real binary against moto_server.
@Suite(.serialized, .tags(.moto), .endToEnd) struct AWSCLITests {
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIDOTTOCLI", "AWS_SECRET_ACCESS_KEY": "otto-cli-SECRET-do-not-print",
                              "AWS_REGION": "us-east-1"]

    static func site(count: Int = 2, size: String = "t3.micro", image: String = MotoServer.ubuntuXenialAMI) -> String {
        """
        site: api
        domain: api.test
        provider: aws
        machines:
          web: { count: \(count), image: \(image), size: \(size) }
        dns:
          provider: aws
          records:
            - { name: "@", type: A, to: web }
            - { name: www, type: CNAME, value: api.test. }
            - { name: "@", type: MX, values: ["10 mail", "20 mail2.api.test."] }
            - { name: "@", type: TXT, value: "v=spf1 -all" }
        """
    }

    static func inventory(_ endpoint: String, timeout: Double = 10) -> String {
        """
        providers:
          aws:
            type: aws
            region: us-east-1
            endpoint: \(endpoint)
            ssh_key: keys/otto
            host_keys: known_hosts
            rate_limit: 1000
            burst: 1000
            route53_rate_limit: 1000
            route53_burst: 1000
            timeout: \(timeout)
        """
    }

    static func project(_ endpoint: String, timeout: Double = 10, count: Int = 2) async throws -> CLIProject {
        let p = try CLIProject(inventory: inventory(endpoint, timeout: timeout), environment: environment)
        try await p.makeSSHKey()
        try p.write("sites/api.yml", site(count: count))
        return p
    }

    static func ours(_ endpoint: String) async throws -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for (id, i) in try await motoInstances(endpoint) where i["managed"] == "otto" {
            #expect(out[i["name"]!] == nil, "duplicate instance \(i["name"]!)")
            var row = i
            row["id"] = id
            out[i["name"]!] = row
        }
        return out
    }

    /// The A rrset of the apex of api.test, sorted.
    static func apexA(_ endpoint: String) async throws -> [String] {
        let out = try await motoQuery(endpoint, """
            out = []
            for z in r53.list_hosted_zones()["HostedZones"]:
                if z["Name"] != "api.test.": continue
                for rr in r53.list_resource_record_sets(HostedZoneId=z["Id"])["ResourceRecordSets"]:
                    if rr["Name"] == "api.test." and rr["Type"] == "A": out = sorted(v["Value"] for v in rr["ResourceRecords"])
            """)
        return out as? [String] ?? []
    }

    @Test func lifecycleThroughTheCLI() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let endpoint = moto.endpoint
        // What someone else has in the account: an instance, a zone and a key pair otto must never touch.
        let foreign = try await motoQuery(endpoint, """
            i = ec2.run_instances(ImageId="\(MotoServer.ubuntuXenialAMI)", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
            r53.create_hosted_zone(Name="other.test", CallerReference="someone-else")
            ec2.create_key_pair(KeyName="laptop")
            out = i
            """) as? String
        let p = try await Self.project(endpoint)

        var r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("9 created"), "\(r.stdout)")
        var instances = try await Self.ours(endpoint)
        #expect(instances.keys.sorted() == ["api-web-0", "api-web-1"])
        #expect(instances.values.allSatisfy { $0["type"] == "t3.micro" && $0["state"] == "running" })
        #expect(try await Self.apexA(endpoint) == instances.values.map { $0["ip"]! }.sorted())
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("API calls (aws: "))

        // A new size is a stop, modify, start of the same instances.
        let before = instances.mapValues { $0["id"]! }
        try p.write("sites/api.yml", Self.site(size: "t3.small"))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        // Stopped and started, the instances have new public addresses, and the apex record follows them in the same apply.
        #expect(r.stdout.contains("3 updated"), "\(r.stdout)")
        instances = try await Self.ours(endpoint)
        #expect(instances.mapValues { $0["id"]! } == before)
        #expect(instances.values.allSatisfy { $0["type"] == "t3.small" && $0["state"] == "running" })
        #expect(try await Self.apexA(endpoint) == instances.values.map { $0["ip"]! }.sorted())
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        // A new image replaces them; the apex follows their addresses.
        try p.write("sites/api.yml", Self.site(size: "t3.small", image: MotoServer.ubuntuTrustyAMI))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("2 replaced"))
        instances = try await Self.ours(endpoint)
        #expect(instances.count == 2 && Set(instances.values.map { $0["id"]! }).isDisjoint(with: before.values))
        #expect(instances.values.allSatisfy { $0["image"] == MotoServer.ubuntuTrustyAMI })
        #expect(try await Self.apexA(endpoint) == instances.values.map { $0["ip"]! }.sorted())
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        // Terminated behind otto's back: detected and recreated.
        let victim = try #require(instances["api-web-0"]?["id"])
        _ = try await motoQuery(endpoint, "ec2.terminate_instances(InstanceIds=[\"\(victim)\"])\nout = 1")
        r = try await p.run("plan", "--detailed-exitcode")
        #expect(r.status == 2)
        #expect(r.stdout.contains("deleted outside otto"))
        r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        instances = try await Self.ours(endpoint)
        #expect(instances.count == 2 && instances["api-web-0"]?["id"] != victim)
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)

        // Destroy removes exactly what otto made.
        r = try await p.run("destroy", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try await Self.ours(endpoint).isEmpty)
        #expect(try await motoInstances(endpoint).keys.sorted() == [foreign].compactMap { $0 })
        let left = try await motoQuery(endpoint, """
            out = dict(zones=sorted(z["Name"] for z in r53.list_hosted_zones()["HostedZones"]),
                       keys=sorted(k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]),
                       groups=sorted(g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]))
            """) as? [String: [String]]
        #expect(left?["zones"] == ["other.test."])
        #expect(left?["keys"] == ["laptop"])
        #expect(left?["groups"]?.contains("otto-api") == false)
        #expect(try await p.run("state", "list").stdout.isEmpty)
        #expect(!(r.stdout + r.stderr).contains("otto-cli-SECRET"))
    }

    @Test func faultsOnEveryKindOfCallStillConvergeWithoutDuplicates() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let proxy = try await FaultProxy.start(target: moto.endpoint)
        defer { proxy.stop() }
        // Attempts time out after 3 s, hangs last 8 s: on a loaded 2-core machine moto itself can take over a second to
        // answer, and a 1 s timeout then failed every attempt of a call that was not hung at all (make test under load).
        let p = try await Self.project(proxy.endpoint, timeout: 3, count: 3)
        try await proxy.chaos(errorRate: 0.1, hangRate: 0.1, hangSeconds: 8, throttleEvery: 9, retryAfter: 1)
        // And the answer of the first launch is lost after moto made the instance.
        try await proxy.inject("lose", matching: "Action=RunInstances", count: 1)
        for round in 0..<2 {
            let r = try await p.run("apply", "--auto-approve")
            #expect(r.status == 0, "round \(round): \(r.stdout)\n\(r.stderr)")
            #expect(try await Self.ours(moto.endpoint).keys.sorted() == ["api-web-0", "api-web-1", "api-web-2"])
            try p.write("sites/api.yml", Self.site(count: 3, size: "t3.small"))
        }
        let plan = try await p.run("plan", "--detailed-exitcode")
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        #expect(try await Self.ours(moto.endpoint).values.allSatisfy { $0["type"] == "t3.small" })
        #expect(try await motoInstances(moto.endpoint).count == 3)
        let injected = try await proxy.chaosCounts()
        #expect((injected["500"] ?? 0) > 0 && (injected["hang"] ?? 0) > 0 && (injected["429"] ?? 0) > 0, "\(injected)")
        #expect(try await proxy.hits() == 1)
        #expect(await p.stateCount("pending_creates") == 0)
    }

    @Test func applyKilledDuringCreatesLeavesNoDuplicate() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let proxy = try await FaultProxy.start(target: moto.endpoint)
        defer { proxy.stop() }
        let p = try await Self.project(proxy.endpoint, timeout: 30, count: 6)
        // Every DescribeInstances otto makes while it waits for its launches takes 5 s: it is killed while waiting. (With
        // 2 s, a loaded machine's poll of moto below, a python process, noticed the first launches only after all six.)
        try await proxy.inject("delay", matching: "Filter.1.Name=instance-id", count: 100, seconds: 5)
        let child = try await p.start("apply", "--auto-approve", "--parallelism", "3")
        let deadline = Date().addingTimeInterval(30)
        while (try await motoInstances(moto.endpoint).count) < 3 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        child.kill(SIGKILL)
        await child.waitForExit()
        let made = try await motoInstances(moto.endpoint).count
        #expect(made >= 3 && made < 6, "killed too late to test anything: \(made) instances")
        #expect(await p.stateCount("pending_creates") >= 3)

        // The killed otto's lock died with it: no force-unlock before the next apply.
        #expect(await DigitalOceanCLITests.lockID(p)?.isEmpty == false)
        let r = try await p.run("apply", "--auto-approve")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let instances = try await Self.ours(moto.endpoint)
        #expect(instances.keys.sorted() == (0..<6).map { "api-web-\($0)" })
        #expect(try await motoInstances(moto.endpoint).count == 6)
        #expect(await p.stateCount("pending_creates") == 0)
        for (name, i) in instances {
            let index = name.split(separator: "-").last!
            let shown = try await p.run("state", "show", "machine.api.web[\(index)]")
            #expect(shown.stdout.contains("provider id: \(i["id"]!)"), "\(name): \(shown.stdout)")
        }
        #expect(try await p.run("plan", "--detailed-exitcode").status == 0)
    }
}
