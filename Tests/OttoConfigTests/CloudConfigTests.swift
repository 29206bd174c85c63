import Foundation
import Testing
@testable import OttoConfig
import OttoCore

/// Cloud providers in inventory, and what a site on them expands into.
@Suite struct CloudConfigTests {
    static let inventory = """
        providers:
          do:  { type: digitalocean, token_env: DO_TOKEN, region: nyc3, ssh_key: keys/otto, tag: otto-test, rate_limit: 10, burst: 20 }
          aws: { type: aws, region: us-east-1, endpoint: "http://127.0.0.1:5000", ssh_key: keys/otto, ssh_user: admin }
          powerdns: { url: "http://127.0.0.1:8081", api_key_env: PDNS_API_KEY }
        """
    static let publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake otto@test"

    static let site = """
        site: shop
        domain: shop.test
        provider: do
        machines:
          web: { count: 2, image: debian-12-x64, size: s-1vcpu-1gb, user_data: "#cloud-config\\n" }
          api: { count: 1, image: ami-12345678, size: t3.micro, provider: aws }
        nginx: { on: api, listen: 8080 }
        dns:
          provider: do
          records:
            - { name: "@", type: A, to: web }
        """

    func load(site: String = CloudConfigTests.site, inventory: String = CloudConfigTests.inventory) throws -> Project {
        try loadProject(["sites/shop.yml": site, "inventory/main.yml": inventory, "keys/otto.pub": Self.publicKey + "\n"])
    }

    func resource(_ project: Project, _ address: String) throws -> Resource {
        try #require(project.resources.first { $0.address.description == address })
    }

    @Test func dropletsReferenceTheProviderKey() throws {
        let project = try load()
        let key = try resource(project, "ssh_key.do")
        #expect(key.provider == "do")
        #expect(key.attributes == ["name": "otto-do", "public_key": .string(Self.publicKey)])
        let web = try resource(project, "machine.shop.web[1]")
        #expect(web.attributes["ssh_keys"] == .list([.ref(Value.Reference("ssh_key.do", "fingerprint"))]))
        #expect(web.attributes["site"] == "shop")
        #expect(web.attributes["user_data"] == "#cloud-config\n")
        #expect(web.attributes["region"] == nil)  // the provider's region applies
        #expect(web.dependencies.map(\.address) == ["ssh_key.do"])
    }

    @Test func instancesGetAKeyPairAndTheSiteSecurityGroup() throws {
        let project = try load()
        let api = try resource(project, "machine.shop.api[0]")
        #expect(api.provider == "aws")
        #expect(api.attributes["key_name"] == .ref(Value.Reference("ssh_key.aws", "name")))
        #expect(api.attributes["security_groups"] == .list([.ref(Value.Reference("security_group.shop", "id"))]))
        #expect(Set(api.dependencies.map(\.address)) == ["ssh_key.aws", "security_group.shop"])
        let sg = try resource(project, "security_group.shop")
        #expect(sg.provider == "aws")
        #expect(sg.attributes["name"] == "otto-shop")
        // SSH plus the port nginx listens on, on the groups that run on AWS.
        #expect(sg.attributes["ingress"] == .list([
            .map(["protocol": "tcp", "port": 22, "cidr": "0.0.0.0/0"]),
            .map(["protocol": "tcp", "port": 8080, "cidr": "0.0.0.0/0"]),
        ]))
    }

    @Test func zoneNameserversAreManagedOnlyWhenListed() throws {
        let project = try load()
        #expect(try resource(project, "dns_zone.shop").attributes == ["name": "shop.test.", "kind": "Native"])
        let record = try resource(project, "dns_record.shop.@.A")
        #expect(record.provider == "do")
        #expect(record.attributes["records"] == .list([.ref(Value.Reference("machine.shop.web[0]", "ipv4")),
                                                       .ref(Value.Reference("machine.shop.web[1]", "ipv4"))]))
        let listed = try load(site: Self.site.replacingOccurrences(of: "  provider: do\n  records:", with: "  provider: do\n  nameservers: [ns2.shop.test., ns1]\n  records:"))
        #expect(try resource(listed, "dns_zone.shop").attributes["nameservers"] == .list(["ns1.shop.test.", "ns2.shop.test."]))
    }

    @Test func cloudGroupsNeedImageSizeAndRegion() {
        let errors = loadErrors([
            "sites/shop.yml": "site: shop\ndomain: shop.test\nprovider: aws2\nmachines:\n  web: { count: 1 }\n",
            "inventory/main.yml": "providers:\n  aws2: { type: aws }\n",
        ])
        #expect(errors == ["sites/shop.yml:5:3: error: machine group `web` runs on aws provider `aws2` and needs image, size, region (or `region` on provider `aws2`)"])
    }

    @Test func settingsAreCheckedWhereTheyAreWritten() {
        let errors = loadErrors(["inventory/main.yml": """
            providers:
              do: { type: digitalocean, rate_limit: fast, burst: 2.5, ssh_key: keys/missing }
              aws: { type: aws, timeout: 0, token: abc }
            """])
        #expect(errors.count == 6)
        #expect(errors.filter { !$0.contains("keys/missing") } == [
            "inventory/main.yml:2:3: error: digitalocean provider `do` needs token_env (an environment variable) or token_file (a file holding the API token)",
            "inventory/main.yml:2:41: error: `rate_limit` must be a number from 0.001 to 100000, got \"fast\"",
            "inventory/main.yml:2:54: error: `burst` must be a whole number from 1 to 100000, got 2.5",
            "inventory/main.yml:3:30: error: `timeout` must be a number from 0.1 to 3600, got 0",
            "inventory/main.yml:3:33: error: `token` must not be written in inventory: use token_env or token_file so the secret stays out of files and plans",
        ])
        let missing = errors.first { $0.contains("keys/missing") } ?? ""
        #expect(missing.hasPrefix("inventory/main.yml:2:68: error: cannot read the public key \""))
        #expect(missing.hasSuffix("/keys/missing.pub\": ssh_key names a private key whose public half is KEY.pub (make one with `ssh-keygen -t ed25519 -f KEY`)"))
    }

    /// Host key and image build settings: words and lists checked where they are written.
    @Test func hostKeyAndImageSettings() throws {
        let errors = loadErrors(["inventory/main.yml": """
            providers:
              do: { type: digitalocean, token_env: T, host_keys: off, base_image: debian-12-x64 }
              aws: { type: aws, host_keys: known_hosts, builder_security_groups: sg-1 }
            """])
        #expect(errors == [
            "inventory/main.yml:2:54: error: `host_keys` must be `pinned` or `known_hosts`, got \"off\"",
            "inventory/main.yml:3:70: error: `builder_security_groups` must be a list of strings, got string \"sg-1\"",
        ])
        let project = try loadProject(["inventory/main.yml": """
            providers:
              aws: { type: aws, host_keys: known_hosts, base_image: ami-0abc, builder_size: t3.small, builder_security_groups: [sg-1, sg-2] }
            """])
        let settings = try #require(project.inventory.providers["aws"]?.settings)
        #expect(settings["host_keys"] == "known_hosts")
        #expect(settings["builder_security_groups"] == .list(["sg-1", "sg-2"]))
    }

    @Test func rsaKeysAreRefusedWithTheReason() {
        let errors = loadErrors([
            "inventory/main.yml": "providers:\n  do: { type: digitalocean, token_env: T, ssh_key: keys/rsa }\n",
            "keys/rsa.pub": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host\n",
        ])
        #expect(errors.count == 1)
        #expect(errors.first?.contains("is an RSA key: libssh2 1.10 cannot sign with RSA keys") == true)
    }

    @Test func userDataIsOnlyForCloudMachines() {
        let errors = siteErrors("site: demo\ndomain: demo.test\nprovider: local\nmachines:\n  web: { user_data: x }\n")
        #expect(errors == ["sites/demo.yml:5:3: error: machine group `web`: user_data is for cloud machines (digitalocean, aws); provider `local` does not take it"])
    }
}
