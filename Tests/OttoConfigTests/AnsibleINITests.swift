import Testing
@testable import OttoConfig
import OttoCore

/// Ansible inventories in their INI format (Ansible's default), read into the same inventory as the YAML format; and
/// files of inventory/ that otto does not read, reported instead of skipped.
@Suite struct AnsibleINITests {
    @Test func groupsHostsVarsAndChildrenAsAnsibleReadsThem() throws {
        let project = try loadProject(["inventory/hosts.ini": """
            # ungrouped hosts come first
            bastion ansible_host=10.213.0.2

            [web]
            web1 ansible_host=10.213.0.11 ansible_port=2222 ansible_ssh_private_key_file=keys/id_ed25519
            web2

            [web:vars]
            http_port=8080
            greeting = "hello there"

            [web:children]
            canary

            [canary]
            web2 ansible_user=root

            [db]
            db1 ansible_host=10.213.0.21 role=primary   # the primary

            [all:vars]
            ansible_user=admin
            ntp=pool.ntp.org
            """])
        let inv = project.inventory
        #expect(inv.hosts.keys.sorted() == ["bastion", "db1", "web1", "web2"])
        let web1 = try #require(inv.hosts["web1"])
        #expect(web1.address == "10.213.0.11" && web1.port == 2222 && web1.user == "admin" && web1.key == "keys/id_ed25519")
        #expect(web1.groups == ["web"])
        // [group:vars] values are text, as Ansible reads them; group vars are inherited, a host's own win
        #expect(web1.vars == ["ntp": .string("pool.ntp.org"), "http_port": .string("8080"), "greeting": .string("hello there")])
        #expect(web1.location.description == "inventory/hosts.ini:5:1")
        let web2 = try #require(inv.hosts["web2"])
        #expect(web2.address == "web2" && web2.groups == ["canary", "web"])
        #expect(inv.hosts["db1"]?.vars["role"] == .string("primary"))
        #expect(inv.hosts["bastion"]?.address == "10.213.0.2" && inv.hosts["bastion"]?.groups == ["ungrouped"])
        #expect(inv.groups["web"] == ["web1", "web2"])
        #expect(inv.groups["canary"] == ["web2"])
        #expect(inv.groups["db"] == ["db1"])
        #expect(inv.groups["ungrouped"] == ["bastion"])
        #expect(inv.groups["all"] == [])
        #expect(project.warnings.isEmpty, "\(project.warnings)")
    }

    @Test func rangesPortsAndLiteralValuesOnHostLines() throws {
        let project = try loadProject(["inventory/hosts": """
            [web]
            web[01:03].example.com:2200 env=prod weight=5 ratio=0.5 enabled=True note="two words" empty=None
            db-[a:c]
            odd[1:5:2]
            """])
        let inv = project.inventory
        #expect(inv.groups["web"] == ["web01.example.com", "web02.example.com", "web03.example.com", "db-a", "db-b", "db-c",
                                      "odd1", "odd3", "odd5"])
        let web2 = try #require(inv.hosts["web02.example.com"])
        #expect(web2.port == 2200)
        #expect(web2.vars == ["env": .string("prod"), "weight": .int(5), "ratio": .double(0.5), "enabled": .bool(true),
                              "note": .string("two words"), "empty": .null])
        #expect(inv.hosts["db-b"]?.port == 22)
    }

    @Test func mistakesAreErrorsAtTheirLineAndColumn() {
        #expect(loadErrors(["inventory/a.ini": "[web:hosts]\nweb1\n"]) == [
            "inventory/a.ini:1:1: error: unknown section type `:hosts` in [web:hosts]; Ansible's are [GROUP], [GROUP:vars] and [GROUP:children]",
        ])
        #expect(loadErrors(["inventory/a.ini": "[web:vars]\n  http_port\n"]) == [
            "inventory/a.ini:2:3: error: expected `name=value` in [web:vars], got \"http_port\"",
        ])
        #expect(loadErrors(["inventory/a.ini": "[web]\nweb1 note=\"open\n"]) == [
            "inventory/a.ini:2:11: error: a quote opened here is not closed on this line",
        ])
        #expect(loadErrors(["inventory/a.ini": "[web]\nweb1 port\n"]) == [
            "inventory/a.ini:2:6: error: expected `name=value` after host \"web1\", got \"port\"",
        ])
        #expect(loadErrors(["inventory/a.ini": "[web]\nweb[3:1]\n"]) == [
            "inventory/a.ini:2:1: error: host pattern \"web[3:1]\": a range's start (3) is after its end (1)",
        ])
        #expect(loadErrors(["inventory/a.ini": "[1web]\n"]) == [
            "inventory/a.ini:1:1: error: invalid group name \"1web\": letters, digits, `_` and `-`, not starting with a digit or `-`",
        ])
        #expect(loadErrors(["inventory/a.ini": "[a:children]\nb\n[b:children]\na\n"]) == [
            "inventory/a.ini:1:1: error: group `a` is its own descendant: a → b → a",
        ])
        // what the YAML format checks holds for INI too
        #expect(loadErrors(["inventory/a.ini": "[web]\nweb1 ansible_port=0\n"]) == [
            "inventory/a.ini:2:1: error: ansible_port must be between 1 and 65535, got 0",
        ])
    }

    @Test func filesOfInventoryThatOttoDoesNotReadAreReported() throws {
        let project = try loadProject([
            "inventory/main.yml": "hosts:\n  h1: { address: 10.213.0.5 }\n",
            "inventory/README.md": "notes\n",
            "inventory/group_vars/web.yml": "http_port: 8080\n",
            "inventory/.gitkeep": "",
        ])
        #expect(project.inventory.hosts.keys.sorted() == ["h1"])
        #expect(project.warnings.map(\.description) == [
            "inventory/README.md:1:1: warning: README.md is not read; it reads .yml and .yaml (its own inventory or an Ansible YAML "
                + "inventory) and .ini or `hosts` (an Ansible INI inventory)",
            "inventory/group_vars:1:1: warning: group_vars/ is not read: otto takes variables from the inventory itself (a group's "
                + "`vars:` or [group:vars], a host's variables on its line or under it)",
        ])
    }

    @Test func aStaticMachineGroupUsesTheINIGroup() throws {
        let project = try loadProject([
            "inventory/hosts.ini": "[web]\nweb1 ansible_host=10.213.0.11\nweb2 ansible_host=10.213.0.12\n",
            "sites/s.yml": "site: s\ndomain: s.test\nprovider: static\nmachines:\n  web: { count: 2 }\n",
        ])
        let addresses = project.resources.filter { $0.kind == "machine" }.compactMap { $0.attributes["address"] }
        #expect(addresses == [.string("10.213.0.11"), .string("10.213.0.12")])
    }
}
