import Testing
@testable import OttoConfig
import OttoCore

/// Every kind of configuration error, each at its exact position.
@Suite struct ConfigErrorTests {
    @Test func unknownKeySuggestsTheNearest() {
        #expect(siteErrors("site: demo\ndomain: demo.test\nprovider: local\nmachines:\n  web: { cuont: 2 }\n")
            == ["sites/demo.yml:5:10: error: unknown key `cuont` in machine group `web`; did you mean `count`?"])
        #expect(siteErrors("site: demo\ndomian: demo.test\n") == [
            "sites/demo.yml:1:1: error: a site is missing the required key `domain`",
            "sites/demo.yml:2:1: error: unknown key `domian` in a site; did you mean `domain`?",
        ])
    }

    @Test func wrongType() {
        #expect(siteErrors("site: demo\ndomain: demo.test\nprovider: local\nmachines:\n  web: { count: two }\n")
            == ["sites/demo.yml:5:17: error: expected an integer, got string \"two\""])
        #expect(siteErrors("site: demo\ndomain: demo.test\nprovider: local\nmachines: [web]\n")
            == ["sites/demo.yml:4:11: error: expected machines (a mapping of group name to settings), got a list"])
    }

    @Test func nonPositiveCount() {
        #expect(siteErrors("site: demo\ndomain: demo.test\nprovider: local\nmachines:\n  web: { count: -1 }\n  lb: { count: 0 }\n") == [
            "sites/demo.yml:5:17: error: count must be at least 1, got -1",
            "sites/demo.yml:6:16: error: count must be at least 1, got 0",
        ])
    }

    @Test func invalidNames() {
        #expect(siteErrors("site: Demo_1\ndomain: demo..test\n") == [
            "sites/demo.yml:1:7: error: invalid site name \"Demo_1\": use lowercase letters, digits and `-`",
            "sites/demo.yml:2:9: error: invalid domain name \"demo..test\"",
        ])
    }

    @Test func badDuration() {
        let base = "site: demo\ndomain: demo.test\n"
        #expect(siteErrors(base + "walk: { every: 5x }\n")
            == ["sites/demo.yml:3:16: error: invalid duration \"5x\": use a number with a unit, like 500ms, 2s, 5m, 1h or 1h30m"])
        #expect(siteErrors(base + "walk: { every: -1s }\n").count == 1)
        #expect(siteErrors(base + "walk: { start: \"ftp://demo.test/\" }\n")
            == ["sites/demo.yml:3:16: error: start must be an absolute http or https URL, like http://demo.test/; got \"ftp://demo.test/\""])
        #expect(siteErrors(base + "walk: { start: \"http:///x\" }\n").count == 1)
        #expect(siteErrors(base + "walk: { start: \"https://user@demo.test:8443/a\" }\n").isEmpty)
    }

    @Test func unknownRecordType() {
        #expect(siteErrors("site: demo\ndomain: demo.test\ndns:\n  provider: powerdns\n  records:\n    - { name: www, type: AAA, value: x }\n")
            == ["sites/demo.yml:6:26: error: unknown record type \"AAA\"; expected one of A, AAAA, CNAME, MX, TXT, NS, SRV"])
    }

    @Test func invalidAddresses() {
        let site = """
            site: demo
            domain: demo.test
            dns:
              provider: powerdns
              records:
                - { name: a, type: A, value: 300.1.2.3 }
                - { name: b, type: AAAA, values: ["2001:db8::1", "2001:db8:::2"] }
                - { name: c, type: A, value: "01.2.3.4" }
            """
        #expect(siteErrors(site) == [
            "sites/demo.yml:6:34: error: invalid IPv4 address \"300.1.2.3\"",
            "sites/demo.yml:7:54: error: invalid IPv6 address \"2001:db8:::2\"",
            "sites/demo.yml:8:34: error: invalid IPv4 address \"01.2.3.4\"",
        ])
    }

    @Test func ttlOutOfRange() {
        let site = "site: demo\ndomain: demo.test\ndns:\n  provider: powerdns\n  ttl: -5\n  records:\n    - { name: a, type: A, value: 192.0.2.1, ttl: 2147483648 }\n"
        #expect(siteErrors(site) == [
            "sites/demo.yml:5:8: error: ttl must be between 0 and 2147483647, got -5",
            "sites/demo.yml:7:50: error: ttl must be between 0 and 2147483647, got 2147483648",
        ])
    }

    @Test func valueKeysAreExclusive() {
        let site = "site: demo\ndomain: demo.test\ndns:\n  provider: powerdns\n  records:\n    - { name: a, type: A, value: 192.0.2.1, to: web }\n    - { name: b, type: A }\n    - { name: c, type: CNAME, to: web }\n    - { name: d, type: CNAME, values: [x, y] }\n"
        #expect(siteErrors(site) == [
            "sites/demo.yml:6:45: error: a DNS record takes only one of `value`, `values` or `to`, got `value` and `to`",
            "sites/demo.yml:7:7: error: a DNS record needs one of `value`, `values` or `to`",
            "sites/demo.yml:8:31: error: `to:` (a machine group's addresses) is only for A and AAAA records, not CNAME",
            "sites/demo.yml:9:43: error: a CNAME record takes exactly one value",
        ])
    }

    @Test func recordOutsideZone() {
        let site = "site: demo\ndomain: demo.test\ndns:\n  provider: powerdns\n  records:\n    - { name: www.other.test., type: A, value: 192.0.2.1 }\n"
        #expect(siteErrors(site) == ["sites/demo.yml:6:15: error: record name \"www.other.test.\" is outside the zone `demo.test.`"])
    }

    @Test func danglingGroupReferences() {
        let site = """
            site: demo
            domain: demo.test
            provider: local
            machines:
              web: { count: 2 }
            nginx: { on: wbe }
            haproxy: { on: nowhere, backend: web }
            units: [ { name: w.service, on: web2, exec: /bin/true } ]
            dns:
              provider: powerdns
              records: [ { name: "@", type: A, to: lb } ]
            """
        // Diagnostics come sorted by position: line 11 after line 8.
        #expect(siteErrors(site) == [
            "sites/demo.yml:6:14: error: nginx names machine group `wbe`, which site `demo` does not define; did you mean `web`?",
            "sites/demo.yml:7:16: error: haproxy names machine group `nowhere`, which site `demo` does not define",
            "sites/demo.yml:8:33: error: unit `w.service` names machine group `web2`, which site `demo` does not define; did you mean `web`?",
            "sites/demo.yml:11:40: error: record `to:` names machine group `lb`, which site `demo` does not define",
        ])
    }

    @Test func dnsProviderMustBeInInventory() {
        let site = "site: demo\ndomain: demo.test\ndns:\n  provider: powerdsn\n  records: []\n"
        #expect(siteErrors(site) == ["sites/demo.yml:4:13: error: dns provider `powerdsn` is not defined in inventory; did you mean `powerdns`?"])
        let local = "site: demo\ndomain: demo.test\ndns:\n  provider: local\n"
        #expect(siteErrors(local) == ["sites/demo.yml:4:13: error: provider `local` (type local) cannot manage DNS; use a powerdns, digitalocean or aws provider"])
    }

    @Test func machineProviderMustExist() {
        #expect(siteErrors("site: demo\ndomain: demo.test\nmachines:\n  web: { provider: digitalocaen }\n")
            == ["sites/demo.yml:4:20: error: provider `digitalocaen` is not defined in inventory (nor a built-in: local, static)"])
        #expect(siteErrors("site: demo\ndomain: demo.test\nmachines:\n  web: {}\n")
            == ["sites/demo.yml:4:3: error: machine group `web` has no provider: set `provider:` on the site or the group"])
    }

    @Test func imageMustBeDefinedForLocalMachines() {
        let errors = loadErrors([
            "sites/demo.yml": "site: demo\ndomain: demo.test\nprovider: local\nmachines:\n  web: { image: webb }\n",
            "inventory/main.yml": standardInventory,
            "images/web.yml": "image: web\npackages: [nginx]\n",
        ])
        #expect(errors == ["sites/demo.yml:5:17: error: image `webb` is not defined in images/; did you mean `web`?"])
    }

    @Test func duplicateSiteNamesAcrossFiles() {
        let errors = loadErrors([
            "sites/a.yml": "site: demo\ndomain: a.test\n",
            "sites/b.yml": "# second\nsite: demo\ndomain: b.test\n",
        ])
        #expect(errors == ["sites/b.yml:2:7: error: site `demo` is already defined at sites/a.yml:1:7"])
    }

    @Test func duplicateRRSetsAndCNAMEConflicts() {
        let site = """
            site: demo
            domain: demo.test
            dns:
              provider: powerdns
              records:
                - { name: www, type: A, value: 192.0.2.1 }
                - { name: WWW.demo.test., type: A, value: 192.0.2.2 }
                - { name: www, type: CNAME, value: "@" }
                - { name: x, type: A, values: [192.0.2.1, 192.0.2.1] }
            """
        #expect(siteErrors(site) == [
            "sites/demo.yml:7:7: error: duplicate rrset www.demo.test. A (first at sites/demo.yml:6:7); put all values in one record's `values`",
            "sites/demo.yml:8:7: error: www.demo.test. has a CNAME record, which cannot share its name with other records (A at sites/demo.yml:6:7)",
            "sites/demo.yml:9:47: error: duplicate value \"192.0.2.1\" (first at sites/demo.yml:9:36)",
        ])
    }

    @Test func danglingDependsOn() {
        let site = """
            site: demo
            domain: demo.test
            dns:
              provider: powerdns
              records:
                - { name: www, type: CNAME, value: "@" }
                - { name: txt, type: TXT, value: hi, depends_on: [dns_record.demo.www.CNAME, dns_record.demo.nope.A] }
                - { name: t2, type: TXT, value: hi, depends_on: [not-an-address] }
            """
        #expect(siteErrors(site) == [
            "sites/demo.yml:7:82: error: depends_on names dns_record.demo.nope.A, which no site declares",
            "sites/demo.yml:8:54: error: invalid address \"not-an-address\" in depends_on: expected KIND.NAME, e.g. dns_record.demo.www.CNAME",
        ])
    }

    @Test func inlineSecretsAreRejected() {
        let inventory = "providers:\n  powerdns: { url: \"http://127.0.0.1:8081\", api_key: s3cr3t }\n"
        let errors = loadErrors(["inventory/main.yml": inventory])
        #expect(errors == ["inventory/main.yml:2:45: error: `api_key` must not be written in inventory: use api_key_env or api_key_file so the secret stays out of files and plans"])
        #expect(!errors.joined().contains("s3cr3t"))
    }

    @Test func providerKeysDependOnType() {
        let inventory = "providers:\n  powerdns: { url: \"http://127.0.0.1:8081\", regoin: x }\n  do: { type: digitalocean, regoin: nyc1, concurrency: 0, token_env: T }\n  x: { url: y }\n  y: { type: pdns }\n"
        #expect(loadErrors(["inventory/main.yml": inventory]) == [
            "inventory/main.yml:2:45: error: unknown key `regoin` in powerdns provider `powerdns`",
            "inventory/main.yml:3:29: error: unknown key `regoin` in digitalocean provider `do`; did you mean `region`?",
            "inventory/main.yml:3:56: error: concurrency must be at least 1, got 0",
            "inventory/main.yml:4:3: error: provider `x` needs a `type` (one of aws, digitalocean, fleet, local, powerdns, static)",
            "inventory/main.yml:5:14: error: unknown provider type \"pdns\"; expected one of aws, digitalocean, fleet, local, powerdns, static",
        ])
    }

    @Test func fleetProviderSettingsBelongTogether() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOzfgRMUgMOqRVv0XInhWPiyrP6cJ4CQ6XfHnZXLrUHR"
        let good = "providers:\n  fleet: { endpoint: \"http://10.0.0.5:49153\" }\n  f2: { type: fleet, endpoint: \"unix:///var/run/fleet.sock\", ssh_host: 10.0.0.5, ssh_port: 2222, ssh_user: core, ssh_key: keys/f, host_key: \"\(key)\" }\n"
        #expect(loadErrors(["inventory/main.yml": good]) == [])
        let bad = "providers:\n  a: { type: fleet }\n  b: { type: fleet, endpoint: \"unix:///var/run/fleet.sock\" }\n  c: { type: fleet, endpoint: \"http://h:1\", ssh_host: h }\n  d: { type: fleet, endpoint: \"unix:///s\", ssh_host: h, host_key: \"\(key)\", ssh_port: 70000 }\n  e: { type: fleet, endpoint: \"tcp://h\", token: x }\n"
        #expect(loadErrors(["inventory/main.yml": bad]) == [
            "inventory/main.yml:2:3: error: fleet provider `a` is missing the required key `endpoint` (http://HOST:PORT, or unix:///var/run/fleet.sock with ssh_host and host_key)",
            "inventory/main.yml:3:3: error: fleet provider `b` reaches fleet's socket over SSH and needs `host_key`: the machine's public host key (`ssh-ed25519 AAAA…`), pinned",
            "inventory/main.yml:3:3: error: fleet provider `b`: endpoint \"unix:///var/run/fleet.sock\" is a socket on a fleet machine, reached over SSH: set `ssh_host`",
            "inventory/main.yml:4:3: error: fleet provider `c`: `ssh_host` is only for an endpoint on fleet's unix socket (unix:///var/run/fleet.sock)",
            "inventory/main.yml:5:3: error: fleet provider `d`: `ssh_port` must be a port number from 1 to 65535, got 70000",
            "inventory/main.yml:6:3: error: fleet provider `e`: endpoint must start with http://, https:// or unix://, got \"tcp://h\"",
            "inventory/main.yml:6:42: error: `token` must not be written in inventory: use token_env or token_file so the secret stays out of files and plans",
        ])
    }

    @Test func imageReferencesAndCycles() {
        let errors = loadErrors([
            "images/a.yml": "image: a\nfrom: b\n",
            "images/b.yml": "image: b\nfrom: a\n",
            "images/c.yml": "image: c\nfrom: base\n",
            "images/d.yml": "image: d\nfiles: [ { path: etc/x, content: hi, mode: 999 } ]\n",
        ])
        #expect(errors == [
            "images/b.yml:2:7: error: images build from each other in a cycle: a -> b -> a",
            "images/c.yml:2:7: error: image `c` is built from `base`, which is not defined in images/",
            "images/d.yml:2:18: error: path must be absolute, got \"etc/x\"",
            "images/d.yml:2:44: error: invalid mode \"999\": expected octal like \"0644\" (quote it)",
        ])
    }

    @Test func allErrorsOfARunAtOnce() {
        let errors = loadErrors([
            "sites/a.yml": "site: a\ndomain: a.test\nprovider: local\nmachines:\n  web: { count: two }\n",
            "sites/b.yml": "site: b\ndomain: [b.test\n",
            "sites/c.yml": "site: c\ndomain: c.test\nwalk: { every: 5x, depht: 2 }\n",
            "inventory/main.yml": standardInventory + "\nhosts:\n  h1: { port: 70000 }\n",
        ])
        #expect(errors.count == 5)
        #expect(errors.map { String($0.prefix { $0 != " " }) } == [
            "inventory/main.yml:5:15:", "sites/a.yml:5:17:", "sites/b.yml:3:1:", "sites/c.yml:3:16:", "sites/c.yml:3:20:",
        ])
    }

    @Test func siteFilesHoldOneDocument() {
        #expect(loadErrors(["sites/a.yml": "site: a\ndomain: a.test\n---\nsite: b\ndomain: b.test\n"])
            == ["sites/a.yml:4:1: error: a site file holds one site; put each site in its own file"])
    }

    @Test func yamlErrorsUseProjectRelativePaths() {
        #expect(loadErrors(["sites/a.yml": "site: a\nsite: b\n"]).first
            == "sites/a.yml:2:1: error: duplicate key `site` (first defined at sites/a.yml:1:1)")
    }
}
