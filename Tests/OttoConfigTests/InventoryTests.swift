import Testing
@testable import OttoConfig
import OttoCore

@Suite struct InventoryTests {
    @Test func nativeProvidersDefaultTheirType() throws {
        let project = try loadProject(["inventory/main.yml": """
            providers:
              powerdns: { url: "http://127.0.0.1:8081", api_key_file: keys/pdns, concurrency: 10 }
              local: { subnet: 10.213.0.0/24, bridge: otto0, mirror: "http://deb.debian.org/debian" }
              do: { type: digitalocean, token_env: DIGITALOCEAN_TOKEN, region: nyc1 }
              aws: { region: us-east-1, profile: default }
            """])
        let providers = project.inventory.providers
        #expect(providers["powerdns"]?.type == "powerdns")
        #expect(providers["powerdns"]?.concurrency == 10)
        #expect(providers["powerdns"]?.settings == ["url": .string("http://127.0.0.1:8081"), "api_key_file": .string("keys/pdns")])
        #expect(providers["do"]?.type == "digitalocean")
        #expect(providers["aws"]?.string("region") == "us-east-1")
        #expect(providers["local"]?.location.description == "inventory/main.yml:3:3")
    }

    @Test func badSubnet() {
        #expect(loadErrors(["inventory/main.yml": "providers:\n  local: { subnet: 10.213.0.0/33 }\n"])
            == ["inventory/main.yml:2:20: error: invalid subnet \"10.213.0.0/33\": expected an IPv4 CIDR like 10.213.0.0/24"])
    }

    @Test func ansibleInventory() throws {
        let project = try loadProject(["inventory/ansible.yml": """
            all:
              vars:
                ansible_user: admin
                ntp: pool.ntp.org
              hosts:
                bastion: { ansible_host: 10.213.0.2 }
              children:
                web:
                  vars: { http_port: 8080 }
                  hosts:
                    web1: { ansible_host: 10.213.0.11, ansible_port: 2222, ansible_ssh_private_key_file: keys/id_ed25519 }
                    web2:
                  children:
                    canary:
                      hosts:
                        web2: { ansible_user: root }
                db:
                  hosts:
                    db1: { ansible_host: 10.213.0.21, role: primary }
            """])
        let inv = project.inventory
        #expect(inv.hosts.keys.sorted() == ["bastion", "db1", "web1", "web2"])
        let web1 = try #require(inv.hosts["web1"])
        #expect(web1.address == "10.213.0.11")
        #expect(web1.port == 2222)
        #expect(web1.user == "admin")
        #expect(web1.key == "keys/id_ed25519")
        #expect(web1.groups == ["web"])
        #expect(web1.vars == ["ntp": .string("pool.ntp.org"), "http_port": .int(8080)])
        #expect(web1.location.description == "inventory/ansible.yml:11:9")
        let web2 = try #require(inv.hosts["web2"])
        #expect(web2.address == "web2")
        #expect(web2.groups == ["canary", "web"])
        #expect(inv.hosts["db1"]?.vars["role"] == .string("primary"))
        #expect(inv.groups["web"] == ["web1", "web2"])
        #expect(inv.groups["canary"] == ["web2"])
        #expect(inv.groups["all"] == ["bastion"])
    }

    @Test func ansibleErrorsHavePositions() {
        #expect(loadErrors(["inventory/a.yml": "all:\n  hosts:\n    h1: { ansible_port: 0 }\n  childern: {}\n"]) == [
            "inventory/a.yml:3:5: error: ansible_port must be between 1 and 65535, got 0",
            "inventory/a.yml:4:3: error: unknown key `childern` in Ansible group `all`; did you mean `children`?",
        ])
    }

    @Test func groupsMustNameHosts() {
        #expect(loadErrors(["inventory/main.yml": "hosts:\n  h1: {}\ngroups:\n  web: [h1, h9]\n"])
            == ["inventory/main.yml:4:3: error: group `web` names host `h9`, which is not defined in inventory"])
    }

    @Test func duplicateProvidersAcrossFiles() {
        #expect(loadErrors([
            "inventory/a.yml": "providers:\n  powerdns: { url: \"http://127.0.0.1:8081\" }\n",
            "inventory/b.yml": "providers:\n  powerdns: { url: \"http://127.0.0.1:8082\" }\n",
        ]) == ["inventory/b.yml:2:3: error: provider `powerdns` is already defined at inventory/a.yml:2:3"])
    }

    @Test func images() throws {
        let project = try loadProject([
            "images/base.yml": "image: base\nbase: { suite: bookworm, mirror: \"http://deb.debian.org/debian\" }\npackages: [curl]\n",
            "images/web.yml": "image: web\nfrom: base\npackages: [nginx]\nfiles:\n  - { path: /etc/motd, content: hi, mode: 0600 }\n  - { path: /etc/x, source: files/x }\nrun: [\"systemctl enable nginx\"]\n",
        ])
        let web = try #require(project.images["web"])
        #expect(web.from?.value == "base")
        #expect(web.suite == nil)
        #expect(web.files.map(\.mode) == ["0600", "0644"])
        #expect(web.files[1].source == "files/x")
        #expect(web.run == ["systemctl enable nginx"])
        #expect(project.images["base"]?.mirror == "http://deb.debian.org/debian")
    }
}

@Suite struct InMemorySourcesTests {
    @Test func loadsLikeADirectory() throws {
        let project = try Project.load(sources: [
            ("sites/demo.yml", "site: demo\ndomain: demo.test\ndns: { provider: powerdns }\n"),
            ("inventory/main.yml", standardInventory),
        ])
        #expect(project.resources.map(\.address.description) == ["dns_zone.demo"])
        do {
            _ = try Project.load(sources: [("sites/demo.yml", "site: demo\ndomain: demo.test\ndns: { provider: nope }\n")])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "sites/demo.yml:3:18: error: dns provider `nope` is not defined in inventory")
        }
    }
}
