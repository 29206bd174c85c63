import Foundation
import OttoConfig
import OttoCore
import OttoHTTP
import OttoTestSupport
import Testing
@testable import OttoProviders

/// Settings, credentials, the XML reader and record value conversions (no server needed).
@Suite struct AWSSettingsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    func config(_ settings: [String: Value]) -> ProviderSettingValues {
        ProviderSettingValues(name: "aws", values: settings, location: SourceLocation(file: "inventory/aws.yml", line: 3, column: 3))
    }

    func withTempDir(_ body: (String) throws -> Void) throws {
        let dir = try TempDir(prefix: "otto-awscfg")
        defer { dir.cleanup() }
        try body(dir.path)
    }

    @Test func credentialsFromTheUsualEnvironmentVariables() throws {
        let settings = try AWSSettings(config(["endpoint": "http://127.0.0.1:5000/", "rate_limit": 7, "burst": "9", "timeout": .double(2.5)]),
                                       projectRoot: "/p", environment: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": "TOKEN", "AWS_REGION": "eu-west-1",
            "AWS_DEFAULT_REGION": "us-west-2", "HOME": "/nonexistent",
        ])
        #expect(settings.region == "eu-west-1")
        #expect(settings.credentials == AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: Self.secret, sessionToken: "TOKEN"))
        #expect(settings.endpoint == "http://127.0.0.1:5000")
        #expect(settings.rateLimit == 7 && settings.burst == 9 && settings.timeout == .milliseconds(2500))
        #expect(settings.route53RateLimit == 5 && settings.tag == "otto" && settings.sshUser == "admin")
        #expect(!settings.description.contains(Self.secret) && !settings.description.contains("TOKEN"))
        #expect(settings.description.contains("AKIAENV"))
    }

    @Test func regionFromSettingsThenEnvironment() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_DEFAULT_REGION": "us-west-2"]
        #expect(try AWSSettings(config(["region": "ap-south-1"]), projectRoot: "/p", environment: env).region == "ap-south-1")
        #expect(try AWSSettings(config([:]), projectRoot: "/p", environment: env).region == "us-west-2")
        let error = #expect(throws: OttoError.self) {
            try AWSSettings(self.config([:]), projectRoot: "/p", environment: ["AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": Self.secret])
        }
        #expect(error?.code == "provider.aws.region")
        #expect(error?.message.contains("inventory/aws.yml:3:3") == true)
    }

    @Test func credentialsFromInventoryNamedVariables() throws {
        let named = config(["region": "us-east-1", "access_key_id_env": "DEPLOY_KEY", "secret_access_key_env": "DEPLOY_SECRET"])
        let settings = try AWSSettings(named, projectRoot: "/p", environment: [
            "DEPLOY_KEY": "AKIADEPLOY", "DEPLOY_SECRET": Self.secret, "AWS_ACCESS_KEY_ID": "AKIAOTHER", "AWS_SECRET_ACCESS_KEY": "other",
        ])
        #expect(settings.credentials.accessKeyID == "AKIADEPLOY")
        #expect(settings.credentialsOrigin == "environment variables DEPLOY_KEY/DEPLOY_SECRET")
        let error = #expect(throws: OttoError.self) {
            try AWSSettings(named, projectRoot: "/p", environment: ["DEPLOY_KEY": "AKIADEPLOY", "AWS_SECRET_ACCESS_KEY": Self.secret])
        }
        #expect(error?.code == "provider.aws.credentials")
        #expect(error?.message.contains("DEPLOY_SECRET") == true)
        #expect(error.map { !"\($0)".contains(Self.secret) && !"\($0)".contains("AKIADEPLOY") } == true)
        let half = #expect(throws: OttoError.self) {
            try AWSSettings(self.config(["region": "us-east-1", "access_key_id_env": "DEPLOY_KEY"]), projectRoot: "/p", environment: [:])
        }
        #expect(half?.message.contains("secret_access_key_env") == true)
    }

    @Test func credentialsFromTheSharedFileAndProfiles() throws {
        try withTempDir { dir in
            let file = """
                # otto test
                [default]
                aws_access_key_id = AKIADEFAULT
                aws_secret_access_key = \(Self.secret)

                [profile deploy]
                aws_access_key_id=AKIADEPLOY
                aws_secret_access_key=deploy-secret
                aws_session_token = deploy-token
                [empty]
                aws_access_key_id = AKIAHALF
                """
            try file.write(toFile: dir + "/credentials", atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: dir + "/home/.aws", withIntermediateDirectories: true)
            try file.write(toFile: dir + "/home/.aws/credentials", atomically: true, encoding: .utf8)

            // The default file under HOME, the default profile.
            let home = try AWSSettings(config(["region": "us-east-1"]), projectRoot: dir, environment: ["HOME": dir + "/home"])
            #expect(home.credentials.accessKeyID == "AKIADEFAULT")
            #expect(home.credentialsOrigin == "profile default in \(dir)/home/.aws/credentials")
            // AWS_PROFILE and AWS_SHARED_CREDENTIALS_FILE.
            let env = try AWSSettings(config(["region": "us-east-1"]), projectRoot: dir,
                                      environment: ["AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_PROFILE": "deploy"])
            #expect(env.credentials == AWSCredentials(accessKeyID: "AKIADEPLOY", secretAccessKey: "deploy-secret", sessionToken: "deploy-token"))
            // An explicit profile and a project-relative file win over AWS_ACCESS_KEY_ID.
            let explicit = try AWSSettings(config(["region": "us-east-1", "profile": "deploy", "credentials_file": "credentials"]),
                                           projectRoot: dir, environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "x"])
            #expect(explicit.credentials.accessKeyID == "AKIADEPLOY")

            let missingProfile = #expect(throws: OttoError.self) {
                try AWSSettings(self.config(["region": "us-east-1", "profile": "nope", "credentials_file": "credentials"]), projectRoot: dir,
                                environment: [:])
            }
            #expect(missingProfile?.message.contains("no profile [nope]") == true)
            let half = #expect(throws: OttoError.self) {
                try AWSSettings(self.config(["region": "us-east-1", "profile": "empty", "credentials_file": "credentials"]), projectRoot: dir,
                                environment: [:])
            }
            #expect(half?.message.contains("aws_secret_access_key") == true)
            for error in [missingProfile, half].compactMap({ $0 }) {
                #expect(!"\(error)".contains(Self.secret) && !"\(error)".contains("deploy-secret"))
            }
        }
    }

    @Test func noCredentialsSaysWhereOttoLooked() throws {
        let error = #expect(throws: OttoError.self) {
            try AWSSettings(self.config(["region": "us-east-1"]), projectRoot: "/p", environment: ["HOME": "/nonexistent"])
        }
        #expect(error?.code == "provider.aws.credentials")
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
        #expect(error?.message.contains("/nonexistent/.aws/credentials") == true)
        let bad = #expect(throws: OttoError.self) {
            try AWSSettings(self.config(["region": "us-east-1", "rate_limit": "fast"]), projectRoot: "/p",
                            environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"])
        }
        #expect(bad?.message.contains("`rate_limit` must be a positive number") == true)
    }

    @Test func sshKeyAndKnownHostsPathsAreAbsolute() throws {
        let settings = try AWSSettings(config(["region": "us-east-1", "ssh_key": "keys/otto", "known_hosts": "~/.ssh/known_hosts", "ssh_user": "ubuntu",
                                               "tag": "staging"]),
                                       projectRoot: "/srv/project", environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B", "HOME": "/home/op"])
        #expect(settings.sshKey == "/srv/project/keys/otto")
        #expect(settings.knownHosts == "/home/op/.ssh/known_hosts")
        #expect(settings.sshUser == "ubuntu" && settings.tag == "staging")
    }

    @Test func requestsGoThroughTheAccountsBuckets() throws {
        let credentials = AWSCredentials(accessKeyID: "AKIABUCKET" + UUID().uuidString.prefix(6), secretAccessKey: Self.secret)
        let settings = AWSSettings(region: "eu-central-1", credentials: credentials, rateLimit: 7, burst: 11, route53RateLimit: 3, route53Burst: 4)
        let provider = AWSProvider(name: "aws-eu", settings: settings, client: HTTPClient())
        let ec2 = RateLimiter.shared(account: "aws:\(credentials.accessKeyID):eu-central-1", rate: 1, burst: 1)
        let route53 = RateLimiter.shared(account: "aws:\(credentials.accessKeyID):eu-central-1:route53", rate: 1, burst: 1)
        #expect(provider.client.ec2Limiter === ec2 && ec2.rate == 7 && ec2.burst == 11)
        #expect(provider.client.route53Limiter === route53 && route53.rate == 3 && route53.burst == 4)
        // A second provider for the same account shares them.
        #expect(AWSProvider(name: "aws-eu-2", settings: settings, client: HTTPClient()).client.ec2Limiter === ec2)
        #expect(provider.client.ec2URL == "https://ec2.eu-central-1.amazonaws.com/")
        #expect(provider.client.route53URL == "https://route53.amazonaws.com/2013-04-01")
        #expect(provider.client.route53Signer.region == "us-east-1" && provider.client.ec2Signer.region == "eu-central-1")
        #expect(!"\(provider.settings)".contains(Self.secret))
    }

    @Test func xmlReaderHandlesWhatAWSSends() throws {
        let text = """
            \u{FEFF}<?xml version="1.0" encoding="UTF-8"?>
            <!-- comment -->
            <DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
              <requestId>r-1</requestId>
              <reservationSet><item><instancesSet><item>
                <instanceId>i-1</instanceId><tagSet><item><key>Name</key><value>a &amp; b &lt;c&gt; &#233;&#x41;</value></item>
                <item><key>empty</key><value/></item></tagSet>
                <note><![CDATA[<raw> & text]]></note>
              </item></instancesSet></item></reservationSet>
              <ns:prefixed a="1>2" b='x'>v</ns:prefixed>
            </DescribeInstancesResponse>
            """
        let root = try XMLTree.parse(Array(text.utf8))
        #expect(root.name == "DescribeInstancesResponse")
        #expect(root.string("requestId") == "r-1")
        let instance = try #require(root.items("reservationSet").first?.items("instancesSet").first)
        #expect(EC2Tags.read(instance) == ["Name": "a & b <c> éA", "empty": ""])
        #expect(instance.string("note") == "<raw> & text")
        #expect(root.string("prefixed") == "v")
        for broken in ["<a><b></a>", "<a>", "text", "<a>&nope;</a>", ""] {
            #expect(throws: XMLSyntaxError.self) { try XMLTree.parse(Array(broken.utf8)) }
        }
    }

    @Test func recordValuesConvertBothWays() {
        // TXT escapes: decimal in presentation form, octal for Route53.
        #expect(Route53RecordValues.toRoute53(type: "TXT", #""caf\195\169 \"q\" \\065""#) == #""caf\303\251 \"q\" \\065""#)
        #expect(Route53RecordValues.fromRoute53(type: "TXT", #""caf\303\251 \"q\" \\065""#) == #""caf\195\169 \"q\" \\065""#)
        #expect(Route53RecordValues.toRoute53(type: "A", "192.0.2.1") == "192.0.2.1")
        #expect(Route53RecordValues.fromRoute53(type: "AAAA", "2001:DB8:0:0::1") == "2001:db8::1")
        #expect(Route53RecordValues.fromRoute53(type: "CNAME", "Web.Demo.Test") == "web.demo.test.")
        #expect(Route53RecordValues.fromRoute53(type: "MX", "10 Mail.demo.test") == "10 mail.demo.test.")
        #expect(Route53RecordValues.fromRoute53(type: "SRV", "10 5 5060 sip.demo.test") == "10 5 5060 sip.demo.test.")
        #expect(Route53Names.decode("\\052.Demo.Test") == "*.demo.test.")
        #expect(Route53Zone.bareID("/hostedzone/Z123") == "Z123" && Route53Zone.bareID("Z123") == "Z123")
        let change = Route53Change(action: "UPSERT", recordSet: Route53RecordSet(name: "a.test.", type: "TXT", ttl: 60, values: ["\"<&>\""]))
        #expect(change.xml == "<Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.test.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>&quot;&lt;&amp;&gt;&quot;</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>")
    }

    @Test func ec2QueryEncodesListsFiltersAndTags() {
        var query = EC2Query()
        query.filter("tag:otto:managed", ["otto"])
        query.filter("instance-state-name", ["running", "stopped"])
        query.tags(for: "instance", [("Name", "web 1"), ("otto:address", "machine.demo.web[0]")])
        query.list("SecurityGroupId", ["sg-1"])
        #expect(query.body(action: "RunInstances", version: "2016-11-15") == "Action=RunInstances&Version=2016-11-15"
            + "&Filter.1.Name=tag%3Aotto%3Amanaged&Filter.1.Value.1=otto&Filter.2.Name=instance-state-name&Filter.2.Value.1=running"
            + "&Filter.2.Value.2=stopped&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name"
            + "&TagSpecification.1.Tag.1.Value=web%201&TagSpecification.1.Tag.2.Key=otto%3Aaddress"
            + "&TagSpecification.1.Tag.2.Value=machine.demo.web%5B0%5D&SecurityGroupId.1=sg-1")
    }
}
