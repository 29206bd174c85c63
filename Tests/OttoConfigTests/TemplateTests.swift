import Foundation
@testable import OttoConfig
import OttoCore
import Testing

/// `vars:` and `templates:` in a site: each machine's template resource carries the template's text and the variables
/// it renders with (site vars over the inventory's, machine facts as references to addresses); a template that does
/// not parse is an error at its `template:` entry.
@Suite struct TemplateTests {
    static let inventory = """
        providers:
          static: { type: static }
        """
    static let ansible = """
        all:
          vars: { ntp: pool.ntp.org, greeting: from-inventory }
          children:
            web:
              vars: { http_port: 8080 }
              hosts:
                web1: { ansible_host: 127.0.0.1, ansible_port: 2201, role: primary }
                web2: { ansible_host: 127.0.0.1, ansible_port: 2202 }
        """

    @Test func templatesExpandPerMachineWithTheirVariables() throws {
        let project = try loadProject([
            "inventory/main.yml": Self.inventory, "inventory/ansible.yml": Self.ansible,
            "templates/app.conf.mustache": "greeting={{vars.greeting}} port={{vars.http_port}}\n{{#group.addresses}}peer {{.}}\n{{/group.addresses}}",
            "sites/demo.yml": """
                site: demo
                domain: demo.test
                provider: static
                vars: { greeting: hello, limits: { max: 3 }, peers: [a, b] }
                machines:
                  web: { count: 2 }
                templates:
                  - { on: web, path: /etc/app.conf, template: templates/app.conf.mustache, mode: "0640", owner: www-data }
                  - { on: web, path: /etc/secret.conf, template: templates/app.conf.mustache, sensitive: true }
                files:
                  - { on: web, path: /etc/token, content: x, sensitive: true }
                """,
        ])
        let t = try #require(project.resources.first { $0.address == "template.demo./etc/app.conf.web[1]" })
        #expect(t.provider == "host")
        #expect(t.attributes["template"]?.stringValue?.hasPrefix("greeting={{vars.greeting}}") == true)
        #expect(t.attributes["mode"] == "0640" && t.attributes["owner"] == "www-data" && t.attributes["group"] == "root")
        #expect(t.attributes["sensitive"] == nil)
        let variables = try #require(t.attributes["variables"]?.mapValue)
        // The site's vars win over the inventory's (a play's vars over Ansible's inventory vars); the host's own stay.
        #expect(variables["vars"] == ["greeting": "hello", "limits": ["max": 3], "peers": ["a", "b"], "ntp": "pool.ntp.org",
                                      "http_port": 8080])
        #expect(variables["machine"] == "demo-web-1" && variables["site"] == "demo")
        #expect(variables["address"] == .ref(.init("machine.demo.web[1]", "ipv4")))
        #expect(variables["group"] == ["name": "web", "addresses": [.ref(.init("machine.demo.web[0]", "ipv4")),
                                                                     .ref(.init("machine.demo.web[1]", "ipv4"))]])
        // It waits for every machine whose address it names.
        #expect(Set(t.dependencies.map(\.address)).isSuperset(of: ["machine.demo.web[0]", "machine.demo.web[1]"]))
        let web0 = try #require(project.resources.first { $0.address == "template.demo./etc/app.conf.web[0]" })
        #expect(web0.attributes["variables"]?.mapValue?["vars"]?.mapValue?["role"] == "primary")
        #expect(project.resources.first { $0.address == "template.demo./etc/secret.conf.web[0]" }?.attributes["sensitive"] == true)
        #expect(project.resources.first { $0.address == "file.demo./etc/token.web[0]" }?.attributes["sensitive"] == true)
    }

    @Test func mistakesInTemplatesAreReportedAtTheirEntry() {
        let errors = loadErrors([
            "inventory/main.yml": Self.inventory, "inventory/ansible.yml": Self.ansible,
            "templates/ok.mustache": "fine {{x}}\n",
            "templates/broken.mustache": "line one\n{{#items}}\n  {{name}}\n",
            "templates/unclosed.mustache": "a\nb {{name\n",
            "sites/demo.yml": """
                site: demo
                domain: demo.test
                provider: static
                vars: [not, a, mapping]
                machines:
                  web: { count: 1 }
                templates:
                  - { on: web, path: /etc/a, template: templates/broken.mustache }
                  - { on: web, path: /etc/b, template: templates/missing.mustache }
                  - { on: web, path: /etc/c, template: templates/unclosed.mustache }
                  - { on: web, path: /etc/ok, template: templates/ok.mustache }
                  - { on: nowhere, path: /etc/d, template: templates/ok.mustache }
                  - { on: web, path: /etc/e, template: templates/ok.mustache, colour: red }
                  - { on: web, path: relative, template: templates/ok.mustache }
                files: [ { on: web, path: /etc/ok, content: clash } ]
                """,
        ])
        // Each mistake once, where it is written (file:line:col of the entry or its `template:`).
        #expect(errors.contains { $0.hasPrefix("sites/demo.yml:4:7: error: expected vars (a mapping)") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("sites/demo.yml:8:40: error: template \"templates/broken.mustache\" does not parse: ") }, "\(errors)")
        #expect(errors.contains { $0 == "sites/demo.yml:9:40: error: cannot read template file \"templates/missing.mustache\" (relative to the project root, UTF-8 text)" }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("sites/demo.yml:10:40: error: template \"templates/unclosed.mustache\" does not parse: line 3, column 1: the template ends inside a tag (missing `}}`)") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("sites/demo.yml:12:11: error: ") && $0.contains("nowhere") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("sites/demo.yml:13:") && $0.contains("colour") }, "\(errors)")
        #expect(errors.contains { $0 == "sites/demo.yml:14:22: error: path must be an absolute file path, got \"relative\"" }, "\(errors)")
        #expect(errors.contains { $0 == "sites/demo.yml:15:10: error: file `/etc/ok` on `web` is already defined at sites/demo.yml:11:5" }, "\(errors)")
        #expect(errors.count == 8, "\(errors)")
    }
}
