import OttoConfig
import OttoCore
import Testing

/// `packages`, `files`, `services` and nginx `directives`: each kind of mistake at its position.
@Suite struct HostSectionTests {
    @Test func mistakesAreReportedWhereTheyAreWritten() {
        let site = """
            site: demo
            domain: demo.test
            provider: local
            machines:
              web: { count: 1 }
            packages: [ { on: web, names: [nginx, "bad name!"] } ]
            files:
              - { on: web, path: /etc/motd, content: hi, mode: "0999" }
              - { on: web, path: /etc/motd, content: again }
              - { on: web, path: relative.txt, content: x }
              - { on: web, path: /etc/both, content: x, source: y }
            services: [ { on: nowhere, name: cron } ]
            """
        #expect(siteErrors(site) == [
            "sites/demo.yml:6:39: error: invalid package name \"bad name!\"",
            "sites/demo.yml:8:52: error: mode must be octal like \"0644\"",
            "sites/demo.yml:9:5: error: file `/etc/motd` on `web` is already defined at sites/demo.yml:8:5",
            "sites/demo.yml:10:22: error: path must be an absolute file path, got \"relative.txt\"",
            "sites/demo.yml:11:5: error: give either content or source, not both",
            "sites/demo.yml:12:19: error: service `cron` names machine group `nowhere`, which site `demo` does not define",
        ])
    }

    @Test func sectionsExpandPerMachine() throws {
        let project = try loadProject(["inventory/main.yml": standardInventory, "sites/demo.yml": """
            site: demo
            domain: demo.test
            provider: local
            machines:
              web: { count: 2 }
            packages: [ { on: web, names: [nginx] }, { on: web, names: [curl, nginx] } ]
            files: [ { on: web, path: /etc/motd, content: "hi\n", mode: 600 } ]
            services: [ { on: web, name: cron, enabled: false, running: false } ]
            """])
        let pkg = try #require(project.resources.first { $0.address == "package.demo.web[1]" })
        #expect(pkg.attributes["names"] == ["curl", "nginx"])
        let motd = try #require(project.resources.first { $0.address == "file.demo./etc/motd.web[0]" })
        #expect(motd.attributes["mode"] == "0600")
        #expect(motd.dependencies.map(\.address).contains("package.demo.web[0]"))
        let cron = try #require(project.resources.first { $0.address == "service.demo.cron.web[1]" })
        #expect(cron.attributes["running"] == false && cron.attributes["enabled"] == false)
    }
}
