import Foundation
import Testing
@testable import OttoConfig
import OttoCore

/// `fleet:` in a site: unit files and inline units, templates and their instances, machine labels, what the
/// scheduler's resources carry, and every error at its file:line:col (inside the unit file for [X-Fleet] problems).
@Suite struct FleetConfigTests {
    static let head = """
        site: demo
        domain: demo.test
        provider: local
        machines:
          web: { count: 3, labels: { role: web } }
          db: { count: 1, labels: { role: db } }

        """

    static func files(_ fleet: String, units: [String: String] = [:]) -> [String: String] {
        var f = ["inventory/main.yml": standardInventory + "\n  fleet: { type: fleet, endpoint: \"http://127.0.0.1:49153\" }\n",
                 "sites/demo.yml": head + fleet]
        for (k, v) in units { f["units/" + k] = v }
        return f
    }

    static let web = "[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[X-Fleet]\nConflicts=web@*.service\n"

    @Test func templatesExpandIntoInstancesWithTheTemplatesOptions() throws {
        let p = try loadProject(Self.files("""
            fleet:
              lost_after: 30s
              units:
                - { file: units/web@.service, instances: 1..3 }
                - { file: units/web@.service, name: api@.service, count: 2, state: loaded }
                - name: hello.service
                  text: |
                    [Service]
                    ExecStart=/bin/true
            """, units: ["web@.service": Self.web]))
        let fleet = try #require(p.sites.first?.fleet)
        #expect(fleet.units.map(\.name.full) == ["web@1.service", "web@2.service", "web@3.service", "api@1.service", "api@2.service", "hello.service"])
        #expect(fleet.lostAfter.seconds == 30)
        #expect(fleet.units[0].constraints.conflicts == ["web@*.service"])
        #expect(fleet.units[3].state == .loaded)
        let units = p.resources.filter { $0.kind == "fleet_unit" }
        #expect(units.map(\.address.description) == ["fleet_unit.demo.web@1.service", "fleet_unit.demo.web@2.service", "fleet_unit.demo.web@3.service",
                                                     "fleet_unit.demo.api@1.service", "fleet_unit.demo.api@2.service", "fleet_unit.demo.hello.service"])
        let u = try #require(units.first)
        #expect(u.provider == Project.fleetSchedulerProvider)
        #expect(u.attributes[AttributeName.FleetUnit.candidates]?.listValue?.count == 4)
        #expect(u.attributes[AttributeName.FleetUnit.lostAfterSeconds] == .int(30))
        #expect(Set(u.dependencies.map(\.address.description)) == ["machine.demo.web[0]", "machine.demo.web[1]", "machine.demo.web[2]", "machine.demo.db[0]"])
        let options = try #require(u.attributes[AttributeName.FleetUnit.options]?.listValue)
        #expect(options.count == 3)
        #expect(options.last == .map(["section": "X-Fleet", "name": "Conflicts", "value": "web@*.service"]))
    }

    @Test func globalUnitsGetOneResourcePerMatchingMachineAndOnLimitsTheCluster() throws {
        let p = try loadProject(Self.files("""
            fleet:
              on: [web]
              units:
                - name: agent.service
                  text: "[Service]\\nExecStart=/bin/true\\n[X-Fleet]\\nGlobal=true\\nMachineMetadata=role=web\\n"
                - name: other.service
                  text: "[Service]\\nExecStart=/bin/true\\n"
            """))
        let units = p.resources.filter { $0.kind == "fleet_unit" }.map(\.address.description)
        #expect(units == ["fleet_unit.demo.agent.service[demo-web-0]", "fleet_unit.demo.agent.service[demo-web-1]",
                          "fleet_unit.demo.agent.service[demo-web-2]", "fleet_unit.demo.other.service"])
        let other = try #require(p.resources.first { $0.address.description == "fleet_unit.demo.other.service" })
        #expect(other.attributes[AttributeName.FleetUnit.candidates]?.listValue?.count == 3)
    }

    @Test func aFleetProviderGetsTheUnitsThemselves() throws {
        let p = try loadProject(Self.files("""
            fleet:
              provider: fleet
              units:
                - { file: units/web@.service, instances: [a, b] }
            """, units: ["web@.service": Self.web]))
        let units = p.resources.filter { $0.kind == "fleet_unit" }
        #expect(units.map(\.address.description) == ["fleet_unit.demo.web@a.service", "fleet_unit.demo.web@b.service"])
        #expect(units.allSatisfy { $0.provider == "fleet" && $0.attributes[AttributeName.FleetUnit.candidates] == nil })
    }

    @Test func invalidCombinationsAreErrorsAtTheirLineInTheUnitFile() {
        let bad = "[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineID=demo-web-0\nConflicts=x*.service\n"
        let errors = loadErrors(Self.files("fleet:\n  - { file: units/bad.service }\n", units: ["bad.service": bad]))
        #expect(errors == ["units/bad.service:6:1: error: unit bad.service: MachineID cannot be combined with Conflicts (fleet refuses this combination)"])
    }

    @Test func everyRefusedCombinationIsReported() {
        let pairs = [("MachineID=demo-web-0", "MachineOf=a.service"), ("MachineID=demo-web-0", "Global=true"),
                     ("MachineID=demo-web-0", "Replaces=a.service"), ("Global=true", "MachineOf=a.service"),
                     ("Global=true", "Replaces=a.service"), ("Conflicts=a*", "Replaces=b.service")]
        for (a, b) in pairs {
            let text = "[Service]\nExecStart=/bin/true\n[X-Fleet]\n\(a)\n\(b)\n"
            let errors = loadErrors(Self.files("fleet:\n  - { file: units/u.service }\n", units: ["u.service": text]))
            let first = a.split(separator: "=")[0], second = b.split(separator: "=")[0]
            #expect(errors == ["units/u.service:5:1: error: unit u.service: \(first) cannot be combined with \(second) (fleet refuses this combination)"])
        }
    }

    @Test func inlineUnitErrorsPointIntoTheSiteFile() {
        let errors = loadErrors(Self.files("""
            fleet:
              - name: hello.service
                text: |
                  [Service]
                  ExecStart=/bin/true
                  nonsense line
            """))
        #expect(errors == ["sites/demo.yml:12:7: error: unit hello.service: expected `Name=Value`, a `[Section]` or a comment, got `nonsense line`"])
    }

    @Test func mistakesAreClearErrors() {
        let cases: [(String, String)] = [
            ("fleet:\n  - { file: units/web@.service }\n", "web@.service is a template: give instances: (e.g. 1..3) or count:"),
            ("fleet:\n  - { file: units/missing.service }\n", "cannot read unit file \"units/missing.service\""),
            ("fleet:\n  - { name: x, text: \"[Service]\\nExecStart=/bin/true\\n\" }\n", "invalid unit name \"x\""),
            ("fleet:\n  - { file: units/web@.service, instances: 3..1 }\n", "instances must be a range like 1..3"),
            ("fleet:\n  - { file: units/web@.service, count: 2, state: running }\n", "state must be inactive, loaded or launched"),
            ("fleet:\n  on: [wbe]\n  units: []\n", "fleet on: names machine group `wbe`"),
            ("fleet:\n  provider: powerdns\n  units: []\n", "has type `powerdns`; fleet units go to a provider of type `fleet`"),
            ("fleet:\n  - { name: a.service, text: \"[Service]\\nExecStart=/bin/true\\n[X-Fleet]\\nMachineID=nowhere\\n\" }\n",
             "MachineID=nowhere names no machine of the site's fleet"),
            ("fleet:\n  - { name: a.service, text: \"[Service]\\nExecStart=/bin/true\\n[X-Fleet]\\nMachineIDs=x\\n\" }\n", "unknown [X-Fleet] option `MachineIDs`"),
            ("fleet:\n  - { name: a.service, text: \"[X-Fleet]\\nGlobal=true\\n\" }\n", "has no systemd options"),
            ("fleet:\n  - { name: a.service, text: \"[Service]\\nExecStart=/bin/true\\n\" }\n  - { name: a.service, text: \"[Service]\\nExecStart=/bin/true\\n\" }\n",
             "fleet unit a.service is already declared at"),
        ]
        for (fleet, message) in cases {
            let errors = loadErrors(Self.files(fleet, units: ["web@.service": Self.web]))
            #expect(errors.contains { $0.contains(message) }, "\(fleet) → \(errors)")
        }
    }
}
