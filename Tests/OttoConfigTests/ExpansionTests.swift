import Foundation
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoConfig
import OttoCore

@Suite struct ExpansionTests {
    static let demo = """
        site: demo
        domain: Demo.Test
        provider: local
        machines:
          web: { count: 2, image: web, size: small, region: nyc1, prevent_destroy: true, ignore_changes: [size] }
          lb:  { count: 1, image: lb }
        nginx:   { on: web, server_name: demo.test, root: /srv/www/demo, content: sites/demo/www }
        haproxy: { on: lb, bind: ":80", backend: web, balance: roundrobin, health: { path: /healthz, interval: 2s } }
        units:   [ { name: demo-worker.service, on: web, exec: "/usr/bin/python3 -m http.server 9000", restart: always } ]
        dns:
          provider: powerdns
          nameservers: [ns2, ns1.demo.test.]
          records:
            - { name: "@", type: A, to: lb }
            - { name: "@", type: AAAA, to: lb }
            - { name: www, type: CNAME, value: demo.test. }
            - { name: "@", type: MX, values: ["20 mx2", "10 Mail"], ttl: 600, prevent_destroy: true, ignore_changes: [ttl] }
            - name: txt
              type: TXT
              value: "v=spf1 -all"
              depends_on:
                - dns_record.demo.www.CNAME
        walk: { every: 1h30m, depth: 2, max_pages: 50, allow: [cdn.demo.test] }
        """

    func load() throws -> Project {
        try loadProject(["sites/demo.yml": Self.demo, "inventory/main.yml": standardInventory, "sites/demo/www/index.html": "<p>hi</p>\n"])
    }

    func resource(_ project: Project, _ address: String) throws -> Resource {
        try #require(project.resources.first { $0.address.description == address })
    }

    @Test func addresses() throws {
        let project = try load()
        #expect(project.resources.map(\.address.description) == [
            "machine.demo.web[0]", "machine.demo.web[1]", "machine.demo.lb[0]",
            "directory.demo.content.web[0]", "directory.demo.content.web[1]",
            "nginx_site.demo.web[0]", "nginx_site.demo.web[1]",
            "service.demo.nginx.web[0]", "service.demo.nginx.web[1]",
            "haproxy.demo.lb[0]", "service.demo.haproxy.lb[0]",
            "unit.demo.demo-worker.service.web[0]", "unit.demo.demo-worker.service.web[1]",
            "dns_zone.demo",
            "dns_record.demo.@.A", "dns_record.demo.@.AAAA", "dns_record.demo.www.CNAME", "dns_record.demo.@.MX",
            "dns_record.demo.txt.TXT",
        ])
    }

    @Test func machines() throws {
        let project = try load()
        let web1 = try resource(project, "machine.demo.web[1]")
        #expect(web1.provider == "local")
        #expect(web1.attributes == ["name": .string("demo-web-1"), "group": .string("web"), "image": .string("web"),
                                    "size": .string("small"), "region": .string("nyc1")])
        #expect(web1.lifecycle == Lifecycle(preventDestroy: true, ignoreChanges: ["size"]))
        #expect(web1.location?.description == "sites/demo.yml:5:3")
        let lb = try resource(project, "machine.demo.lb[0]")
        #expect(lb.attributes == ["name": .string("demo-lb-0"), "group": .string("lb"), "image": .string("lb")])
    }

    @Test func dnsZoneAndRecords() throws {
        let project = try load()
        let zone = try resource(project, "dns_zone.demo")
        #expect(zone.provider == "powerdns")
        #expect(zone.attributes == ["name": .string("demo.test."), "kind": .string("Native"),
                                    "nameservers": .list([.string("ns1.demo.test."), .string("ns2.demo.test.")])])

        let a = try resource(project, "dns_record.demo.@.A")
        let lb0: ResourceAddress = "machine.demo.lb[0]"
        #expect(a.attributes == ["zone": .string("demo.test."), "name": .string("demo.test."), "type": .string("A"),
                                 "ttl": .int(300), "records": .list([.ref(Value.Reference(lb0, "ipv4"))])])
        #expect(a.dependencies == [Dependency("dns_zone.demo", at: SourceLocation(file: "sites/demo.yml", line: 14, column: 7)),
                                   Dependency(lb0, at: SourceLocation(file: "sites/demo.yml", line: 14, column: 33))])
        let aaaa = try resource(project, "dns_record.demo.@.AAAA")
        #expect(aaaa.attributes["records"] == .list([.ref(Value.Reference(lb0, "ipv6"))]))

        let cname = try resource(project, "dns_record.demo.www.CNAME")
        #expect(cname.attributes["name"] == .string("www.demo.test."))
        #expect(cname.attributes["records"] == .list([.string("demo.test.")]))

        let mx = try resource(project, "dns_record.demo.@.MX")
        #expect(mx.attributes["records"] == .list([.string("10 mail.demo.test."), .string("20 mx2.demo.test.")]))
        #expect(mx.attributes["ttl"] == .int(600))
        #expect(mx.lifecycle == Lifecycle(preventDestroy: true, ignoreChanges: ["ttl"]))

        let txt = try resource(project, "dns_record.demo.txt.TXT")
        #expect(txt.attributes["records"] == .list([.string("\"v=spf1 -all\"")]))
        #expect(txt.dependencies == [Dependency("dns_zone.demo", at: SourceLocation(file: "sites/demo.yml", line: 18, column: 7)),
                                     Dependency("dns_record.demo.www.CNAME", at: SourceLocation(file: "sites/demo.yml", line: 22, column: 11))])
    }

    @Test func hostResources() throws {
        let project = try load()
        let nginx = try resource(project, "nginx_site.demo.web[1]")
        let web1: ResourceAddress = "machine.demo.web[1]"
        #expect(nginx.provider == "host")
        var expected: [String: Value] = ["name": "demo", "server_name": "demo.test", "root": "/srv/www/demo", "listen": 80,
                                         "directives": [], "machine": "machine.demo.web[1]"]
        for (mine, theirs) in ["host": "ipv4", "ssh_port": "ssh_port", "ssh_user": "ssh_user", "ssh_key": "ssh_key",
                               "host_key": "host_key", "known_hosts": "known_hosts"] {
            expected[mine] = .ref(Value.Reference(web1, theirs))
        }
        #expect(nginx.attributes == expected)
        #expect(nginx.dependencies == [Dependency(web1, at: SourceLocation(file: "sites/demo.yml", line: 7, column: 16)),
                                       Dependency("directory.demo.content.web[1]", at: SourceLocation(file: "sites/demo.yml", line: 7, column: 10))])
        let content = try resource(project, "directory.demo.content.web[1]")
        #expect(content.attributes["source"] == "sites/demo/www")
        #expect(content.attributes["path"] == "/srv/www/demo")
        let service = try resource(project, "service.demo.nginx.web[1]")
        #expect(service.attributes["running"] == true)
        #expect(service.dependencies.map(\.address) == [web1, "nginx_site.demo.web[1]"])

        let haproxy = try resource(project, "haproxy.demo.lb[0]")
        #expect(haproxy.attributes["servers"] == .list([0, 1].map { i in
            .map(["name": .string("demo-web-\(i)"), "address": .ref(Value.Reference(ResourceAddress(kind: "machine", name: "demo.web[\(i)]"), "ipv4")),
                  "port": .int(80)])
        }))
        #expect(haproxy.attributes["health_interval_ms"] == .int(2000))
        #expect(haproxy.attributes["health_path"] == .string("/healthz"))
        #expect(haproxy.dependencies.map(\.address.description) == ["machine.demo.lb[0]", "machine.demo.web[0]", "machine.demo.web[1]"])

        let unit = try resource(project, "unit.demo.demo-worker.service.web[0]")
        #expect(unit.attributes["exec"] == .string("/usr/bin/python3 -m http.server 9000"))
        #expect(unit.attributes["restart"] == .string("always"))
    }

    @Test func walkModel() throws {
        let walk = try #require(try load().sites.first?.walk)
        #expect(walk.every.milliseconds == 5_400_000)
        #expect(walk.depth == 2)
        #expect(walk.maxPages == 50)
        #expect(walk.allow == ["cdn.demo.test"])
        #expect(walk.start == "http://demo.test/")
    }

    @Test func staticMachinesUseInventoryHosts() throws {
        let project = try loadProject([
            "sites/s.yml": "site: s\ndomain: s.test\nprovider: static\nmachines:\n  web: { count: 2 }\n",
            "inventory/hosts.yml": "hosts:\n  h1: { address: 10.213.0.11, groups: [web] }\n  h2: { address: 10.213.0.12, user: deploy, port: 2222 }\ngroups:\n  web: [h1, h2]\n",
        ])
        let m = try resource(project, "machine.s.web[1]")
        #expect(m.provider == "static")
        #expect(m.attributes["address"] == .string("10.213.0.12"))
        #expect(m.attributes["port"] == .int(2222))
        #expect(m.attributes["user"] == .string("deploy"))
        #expect(loadErrors([
            "sites/s.yml": "site: s\ndomain: s.test\nprovider: static\nmachines:\n  web: { count: 3 }\n",
            "inventory/hosts.yml": "hosts:\n  h1: { groups: [web] }\n",
        ]) == ["sites/s.yml:5:3: error: static machine group `web` needs 3 host(s) in inventory group `web`, found 1"])
    }

    @Test func vagrantInventoryDrivesAStaticDemo() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let inventory = try String(contentsOfFile: root + "/inventory/vagrant.yml", encoding: .utf8)
        let project = try loadProject([
            "inventory/vagrant.yml": inventory,
            "sites/demo.yml": "site: demo\ndomain: demo.test\nprovider: static\nmachines:\n  web: { count: 2 }\n  lb: { count: 1 }\n"
                + "files: [ { on: web, path: /etc/motd, content: hi } ]\n",
        ])
        let web1 = try resource(project, "machine.demo.web[1]")
        #expect(web1.provider == "static")
        #expect(web1.attributes["address"] == "192.168.56.12")
        #expect(web1.attributes["user"] == "root")
        #expect(try resource(project, "machine.demo.lb[0]").attributes["address"] == "192.168.56.10")
        #expect(try resource(project, "file.demo./etc/motd.web[0]").attributes["host"] == .ref(.init("machine.demo.web[0]", "ipv4")))
    }

    @Test func examplesLoadCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let project = try Project.load(root: root)
        #expect(project.warnings.isEmpty)
        #expect(project.sites.map(\.name).contains("example"))
        let types = Set(project.resources.filter { $0.address.name.hasPrefix("example.") && $0.kind == "dns_record" }
            .compactMap { $0.attributes["type"]?.stringValue })
        #expect(types == ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"])
        #expect(project.inventory.providers["powerdns"]?.string("api_key_file") == ".otto/pdns/api.key")
        #expect(project.inventory.providers["powerdns"]?.type == "powerdns")
    }

    /// A scale run (100 000 records, seconds of CPU in a debug build): `make test` runs it, `make test-fast` skips it.
    @Test(.tags(.performance), .endToEnd) func manySitesExpandAtScale() throws {
        let dir = try TempDir()
        dir.write("inventory/main.yml", standardInventory)
        for s in 0..<100 {
            var text = "site: s\(s)\ndomain: s\(s).test\ndns:\n  provider: powerdns\n  records:\n"
            for r in 0..<1000 {
                text += "    - { name: h\(r), type: A, value: 10.\(s).\(r / 256).\(r % 256), ttl: 300 }\n"
            }
            dir.write("sites/s\(s).yml", text)
        }
        let start = ContinuousClock.now
        let project = try Project.load(root: dir.path)
        print("loaded and expanded 100 sites x 1000 records (\(project.resources.count) resources) in \(ContinuousClock.now - start)")
        #expect(project.resources.count == 100 * 1001)
    }
}
