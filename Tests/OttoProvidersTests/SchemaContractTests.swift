import Foundation
import OttoConfig
import OttoCore
@testable import OttoProviders
import Testing

/// What site expansion writes is exactly what the providers declare: every resource of a project that uses every
/// feature passes its kind's schema, and the names both sides spell reach the provider (a rename on one side fails).
@Suite struct SchemaContractTests {
    static let publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake otto@test"
    static let files: [String: String] = [
        "inventory/main.yml": """
            providers:
              local: { type: local, subnet: 10.213.0.0/24, bridge: otto0 }
              static: { type: static }
              powerdns: { url: "http://127.0.0.1:8081", api_key_env: PDNS_API_KEY }
              do: { type: digitalocean, token_env: DO_TOKEN, region: nyc3, ssh_key: keys/otto }
              aws: { type: aws, region: us-east-1, endpoint: "http://127.0.0.1:5000", ssh_key: keys/otto }
              fleetp: { type: fleet, endpoint: "http://127.0.0.1:49153" }
            hosts:
              box1: { address: 127.0.0.1, port: 2222, user: root, key: keys/otto, groups: [boxes] }
            """,
        "keys/otto.pub": publicKey + "\n",
        "images/base.yml": "image: base\nbase: { suite: bookworm }\n",
        "units/web@.service": "[Service]\nExecStart=/bin/sleep infinity\n[X-Fleet]\nConflicts=web@*.service\n",
        "units/agent.service": "[Service]\nExecStart=/bin/true\n[X-Fleet]\nGlobal=true\nMachineMetadata=role=web\n",
        "images/web.yml": "image: web\nfrom: base\npackages: [nginx]\n",
        "sites/www/index.html": "hi\n",
        "templates/motd.mustache": "{{machine}} at {{address}} says {{vars.greeting}}\n",
        "sites/demo.yml": """
            site: demo
            domain: demo.test
            provider: local
            machines:
              web: { count: 2, image: web, labels: { role: web } }
              lb: { count: 1, image: web }
            fleet:
              lost_after: 1m
              units:
                - { file: units/web@.service, count: 2 }
                - { file: units/agent.service, state: loaded }
            nginx:
              on: web
              server_name: demo.test
              root: /srv/www/demo
              content: sites/www
              directives: ["ssi on;"]
            haproxy: { on: lb, bind: ":80", backend: web, balance: roundrobin, health: { path: /healthz, interval: 2s } }
            units:
              - { name: w.service, on: web, exec: /bin/true, restart: always, user: nobody, environment: { TOKEN: x } }
            packages: [ { on: web, names: [curl] } ]
            files: [ { on: web, path: /etc/motd, content: "hi\\n", mode: 600, sensitive: true } ]
            vars: { greeting: hello }
            templates: [ { on: web, path: /etc/hello, template: templates/motd.mustache } ]
            services: [ { on: web, name: cron, enabled: false, running: false } ]
            dns:
              provider: powerdns
              nameservers: [ns1.demo.test.]
              records:
                - { name: "@", type: A, to: lb }
                - { name: www, type: CNAME, value: demo.test. }
            """,
        "sites/cloud.yml": """
            site: cloud
            domain: cloud.test
            provider: do
            machines:
              web: { count: 1, image: debian-12-x64, size: s-1vcpu-1gb, user_data: "#cloud-config\\n" }
              api: { count: 1, image: ami-12345678, size: t3.micro, provider: aws }
            nginx: { on: api, listen: 8080 }
            haproxy: { on: web, bind: ":80", backend: api, balance: roundrobin }
            dns:
              provider: aws
              records:
                - { name: "@", type: A, to: web }
            """,
        "sites/fleetapi.yml": """
            site: fleetapi
            domain: fleetapi.test
            fleet: { provider: fleetp, units: [ { file: units/web@.service, instances: [a] } ] }
            """,
        "sites/boxes.yml": """
            site: boxes
            domain: boxes.test
            provider: static
            machines:
              boxes: { count: 1 }
            files: [ { on: boxes, path: /tmp/x, content: y } ]
            dns:
              provider: do
              records: [ { name: "@", type: A, to: boxes } ]
            """,
    ]

    static func load() throws -> Project {
        let dir = NSTemporaryDirectory() + "otto-contract-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return try Project.load(root: dir)
    }

    static let schemasByType: [String: [KindSchema]] = [
        "local": LocalMachineProvider.kindSchemas, "static": StaticMachineProvider.kindSchemas,
        "powerdns": PowerDNSProvider.kindSchemas, "digitalocean": DigitalOceanProvider.kindSchemas,
        "aws": AWSProvider.kindSchemas, "host": HostProvider.kindSchemas,
        "fleet": FleetAPIProvider.kindSchemas, "scheduler": [FleetSchedulerProvider.schema],
    ]

    @Test func everyProviderDeclaresItsKindsAttributes() {
        for (type, schemas) in Self.schemasByType {
            for s in schemas { #expect(s.attributes?.isEmpty == false, "\(type) \(s.kind) declares no attributes") }
        }
        #expect(Set(HostProvider.kindSchemas.map(\.kind)) == ["file", "directory", "package", "service", "unit", "nginx_site", "haproxy",
                                                              "template"])
    }

    @Test func everyExpandedResourcePassesItsProvidersSchema() throws {
        let project = try Self.load()
        let kinds = Set(project.resources.map(\.kind))
        #expect(kinds == ["machine", "ssh_key", "security_group", "dns_zone", "dns_record", "file", "directory", "package", "service",
                          "unit", "nginx_site", "haproxy", "template", "fleet_unit"])
        #expect(project.resources.filter { $0.kind == "fleet_unit" }.map(\.provider).sorted() == ["fleetp", "scheduler", "scheduler", "scheduler", "scheduler"])
        for r in project.resources {
            let type = ["host", "scheduler"].contains(r.provider) ? r.provider : project.inventory.providerType(r.provider)
            let schema = try #require(type.flatMap { Self.schemasByType[$0] }?.first { $0.kind == r.kind }, "\(r.address): no schema")
            #expect(schema.check(r).isEmpty, "\(schema.check(r))")
        }
    }

    @Test func planningSetsAreTheOnesTheProvidersPlannedWithBefore() {
        func schema(_ type: String, _ kind: String) -> KindSchema? { Self.schemasByType[type]?.first { $0.kind == kind } }
        let connection: Set<String> = ["ipv4", "ssh_port", "ssh_user", "ssh_key", "host_key", "known_hosts"]
        // Derived attributes (`status`, `reachable`, a rendered file's hash) are compared: never in `computed`.
        #expect(schema("digitalocean", "machine")?.computed
                == connection.union(["private_ipv4", "ipv6", "user_data", "ssh_keys", "group", "site"]))
        #expect(schema("digitalocean", "machine")?.forceNew == ["image", "region"])
        #expect(schema("aws", "machine")?.computed == connection.union(["private_ipv4", "ipv6", "user_data", "key_name", "security_groups"]))
        #expect(schema("local", "machine")?.computed == connection.union(["mac", "image_id", "running"]))
        #expect(schema("static", "machine")?.computed == connection)
        #expect(schema("digitalocean", "ssh_key")?.computed == ["fingerprint", "owned", "name"])
        #expect(schema("aws", "ssh_key")?.computed == ["fingerprint", "id", "owned"])
        #expect(schema("aws", "security_group")?.computed == ["id", "vpc_id", "owned"])
        #expect(schema("aws", "dns_zone")?.computed == ["delegation_set"])
        for kind in ["file", "directory", "package", "service", "unit", "nginx_site", "haproxy", "template"] {
            let computed = schema("host", kind)?.computed ?? []
            // Inputs that are never compared: a file's text (compared by its hash), a directory's source, whether a
            // file is sensitive, a template's text and variables (compared by the rendering's hash).
            #expect(computed.isSubset(of: ["content", "source", "unreachable_reason", "sensitive", "template", "variables"]), "\(kind): \(computed)")
            #expect(schema("host", kind)?.forceNew == (["file", "directory", "template"].contains(kind) ? ["path"] : []))
        }
        #expect(schema("host", "template")?.computed == ["content", "unreachable_reason", "sensitive", "template", "variables"])
    }

    @Test func sensitiveAttributesAreTheOnesThatMayHoldSecrets() {
        func sensitive(_ type: String, _ kind: String) -> Set<String> { Self.schemasByType[type]?.first { $0.kind == kind }?.sensitive ?? [] }
        #expect(sensitive("digitalocean", "machine") == ["user_data"])
        #expect(sensitive("aws", "machine") == ["user_data"])
        func hidden(_ kind: String, _ attributes: [String: Value]) -> Set<String> {
            Self.schemasByType["host"]?.first { $0.kind == kind }?.sensitive(in: [attributes]) ?? []
        }
        // A file's or template's text (and its hash, and a template's variables) only when it says `sensitive: true`.
        #expect(sensitive("host", "file").isEmpty)
        #expect(hidden("file", ["content": "x"]).isEmpty)
        #expect(hidden("file", ["content": "x", "sensitive": false]).isEmpty)
        #expect(hidden("file", ["content": "x", "sensitive": true]) == ["content", "content_sha256"])
        #expect(hidden("template", ["template": "x"]).isEmpty)
        #expect(hidden("template", ["template": "x", "sensitive": true]) == ["content", "content_sha256", "template", "variables"])
        // A unit's environment always; its text when it has an environment.
        #expect(sensitive("host", "unit") == ["environment"])
        #expect(hidden("unit", ["name": "w.service"]) == ["environment"])
        #expect(hidden("unit", ["name": "w.service", "environment": ["TOKEN": "x"]]) == ["environment", "content", "content_sha256"])
        #expect(hidden("unit", ["name": "w.service", "environment": [:]]) == ["environment"])
        // Rendered nginx and haproxy configurations are not sensitive.
        #expect(sensitive("host", "nginx_site").isEmpty && sensitive("host", "haproxy").isEmpty)
        #expect(hidden("nginx_site", ["name": "x"]).isEmpty)
        #expect(sensitive("powerdns", "dns_record").isEmpty)
    }

    @Test func whatExpansionWritesReachesTheRendering() throws {
        let project = try Self.load()
        let site = try #require(project.resources.first { $0.address.description == "nginx_site.demo.web[0]" })
        let unit = try #require(project.resources.first { $0.address.description == "unit.demo.w.service.web[0]" })
        let host = HostProvider(projectRoot: "/nonexistent")
        func resolved(_ r: Resource) -> Resource {
            var r = r
            r.attributes = r.attributes.mapValues { $0.resolving { _ in .string("10.213.0.2") } }
            return r
        }
        let nginx = host.derive(resolved(site)).attributes["content"]?.stringValue ?? ""
        #expect(nginx.contains("    ssi on;\n") && nginx.contains("server_name demo.test;"))
        let text = host.derive(resolved(unit)).attributes["content"]?.stringValue ?? ""
        #expect(text.contains("Environment=\"TOKEN=x\"") && text.contains("User=nobody") && text.contains("ExecStart=/bin/true"))
        let template = try #require(project.resources.first { $0.address.description == "template.demo./etc/hello.web[1]" })
        #expect(host.derive(resolved(template)).attributes["content"] == "demo-web-1 at 10.213.0.2 says hello\n")
    }
}
