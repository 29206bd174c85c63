import OttoCore
import OttoTestSupport
import Testing

/// `FleetScheduler.schedule`: fleet's placement rules (fleet-behaviour.md), as tables.
@Suite struct FleetSchedulerTests {
    // MARK: Helpers

    /// A unit whose `[X-Fleet]` section is `fleet` (lines of `Key=Value`), read as fleet read it.
    static func u(_ name: String, _ fleet: String..., state: FleetUnitState = .launched, on current: String? = nil) -> FleetSchedulingUnit {
        let text = "[X-Fleet]\n" + fleet.joined(separator: "\n") + "\n"
        let file = try! FleetUnitFile(parsing: text)
        let (constraints, problems) = FleetConstraints.read(file, name: FleetUnitName(name)!)
        precondition(problems.isEmpty, "\(name): \(problems)")
        return FleetSchedulingUnit(name: name, constraints: constraints, state: state, current: current)
    }

    static func m(_ name: String, _ metadata: [String: String] = [:]) -> FleetMachine {
        FleetMachine(name: name, metadata: metadata)
    }

    static let three = ["demo-web-0", "demo-web-1", "demo-web-2"].map { m($0) }

    /// `unit → machines joined by commas` for placed units, `unit → -` for the others.
    static func whereabouts(_ r: [String: FleetPlacement]) -> [String: String] {
        r.mapValues { $0.machines.isEmpty ? "-" : $0.machines.joined(separator: ",") }
    }

    static func outcomes(_ r: [String: FleetPlacement]) -> [String: FleetPlacement.Outcome] { r.mapValues(\.outcome) }

    /// Every rule the result must keep, whatever the input: constraints hold on every machine.
    static func checkInvariants(_ units: [FleetSchedulingUnit], _ machines: [FleetMachine], _ r: [String: FleetPlacement],
                                sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let byName = Dictionary(units.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        let meta = Dictionary(machines.map { ($0.name, $0.metadata) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(r.keys) == Set(byName.keys), sourceLocation: sourceLocation)
        var on: [String: [String]] = [:]  // machine → units
        for (name, p) in r {
            switch p.outcome {
            case .kept, .placed: #expect(p.machines.count == 1, sourceLocation: sourceLocation)
            case .global: #expect(!p.machines.isEmpty && p.machines == p.machines.sorted(), sourceLocation: sourceLocation)
            case .inactive, .unplaceable: #expect(p.machines.isEmpty, sourceLocation: sourceLocation)
            }
            #expect(!p.reason.isEmpty, sourceLocation: sourceLocation)
            for machine in p.machines { on[machine, default: []].append(name) }
        }
        for (machine, names) in on {
            #expect(meta[machine] != nil, "\(machine) is not available", sourceLocation: sourceLocation)
            for a in names {
                let c = byName[a]!.constraints
                if let id = c.machineID { #expect(id == machine, sourceLocation: sourceLocation) }
                for (key, values) in c.machineMetadata {
                    #expect(values.contains(meta[machine]?[key] ?? "\u{0}"), "\(a) on \(machine): \(key)", sourceLocation: sourceLocation)
                }
                for peer in c.machineOf { #expect(names.contains(peer), "\(a) without its peer \(peer) on \(machine)", sourceLocation: sourceLocation) }
                for b in names where b != a {
                    for p in c.conflicts {
                        #expect(!FleetConstraints.glob(p, matches: b), "\(a) and \(b) conflict on \(machine)", sourceLocation: sourceLocation)
                    }
                    let cb = byName[b]!.constraints
                    let aReplacesB = c.replaces.contains { FleetConstraints.glob($0, matches: b) }
                    let bReplacesA = cb.replaces.contains { FleetConstraints.glob($0, matches: a) }
                    #expect(!(aReplacesB && !bReplacesA), "\(a) replaces \(b) but both are on \(machine)", sourceLocation: sourceLocation)
                }
            }
        }
    }


    // MARK: Desired state

    /// A machine within its grace period (`acceptsNew: false`) keeps what it has and takes nothing new.
    @Test func aMachineThatTakesNoNewUnitsKeepsItsOwn() {
        let machines = [Self.m("a"), FleetMachine(name: "b", acceptsNew: false), Self.m("c")]
        let units = [Self.u("x.service", on: "b"), Self.u("y.service"), Self.u("z.service"), Self.u("w.service")]
        let r = FleetScheduler.schedule(units, machines: machines)
        Self.checkInvariants(units, machines, r)
        #expect(r["x.service"]?.outcome == .kept && r["x.service"]?.machines == ["b"])
        for name in ["y.service", "z.service", "w.service"] { #expect(r[name]?.machines != ["b"], "\(name): \(r[name]!)") }
        // Pinned to it and not on it yet: no machine.
        let pinned = [Self.u("p.service", "MachineID=b")]
        #expect(FleetScheduler.schedule(pinned, machines: machines)["p.service"]?.outcome == .unplaceable)
    }

    @Test func inactiveUnitsArePlacedNowhere() {
        let r = FleetScheduler.schedule([Self.u("a.service", state: .inactive, on: "demo-web-0"), Self.u("b.service", state: .loaded)],
                                        machines: Self.three)
        #expect(r["a.service"]?.outcome == .inactive)
        #expect(r["a.service"]?.machines == [])
        #expect(r["a.service"]?.reason == "desired state is inactive")
        #expect(r["b.service"]?.outcome == .placed)  // loaded units are placed like launched ones
    }

    // MARK: MachineID

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var units: [FleetSchedulingUnit]
        var machines: [FleetMachine]
        /// unit → machines (comma-joined) or `-`.
        var expected: [String: String]
        /// unit → text its reason must contain.
        var reasons: [String: String] = [:]
        var testDescription: String { label }
    }

    static func check(_ c: Case, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let r = FleetScheduler.schedule(c.units, machines: c.machines)
        let got = whereabouts(r)
        for (unit, machines) in c.expected {
            #expect(got[unit] == machines, "\(c.label): \(unit) — \(r[unit]?.reason ?? "missing")", sourceLocation: sourceLocation)
        }
        for (unit, text) in c.reasons {
            let reason = r[unit]?.reason ?? ""
            #expect(reason.contains(text), "\(c.label): \(unit) reason `\(reason)` lacks `\(text)`", sourceLocation: sourceLocation)
        }
        checkInvariants(c.units, c.machines, r, sourceLocation: sourceLocation)
    }

    static let machineIDCases: [Case] = [
        Case(label: "MachineID picks its machine over a less loaded one",
             units: [u("a.service", on: "demo-web-0"), u("b.service", "MachineID=demo-web-0")], machines: three,
             expected: ["a.service": "demo-web-0", "b.service": "demo-web-0"],
             reasons: ["b.service": "only machine that can take it: demo-web-0 (1 unit)"]),
        Case(label: "MachineID of a machine that is not available",
             units: [u("db.service", "MachineID=demo-db-0")], machines: three,
             expected: ["db.service": "-"], reasons: ["db.service": "MachineID=demo-db-0: no such machine available"]),
        Case(label: "MachineID through the deprecated X-ConditionMachineID",
             units: [u("db.service", "X-ConditionMachineID=demo-web-2")], machines: three, expected: ["db.service": "demo-web-2"]),
        Case(label: "MachineID from a specifier",
             units: [u("pin@demo-web-1.service", "MachineID=%i")], machines: three, expected: ["pin@demo-web-1.service": "demo-web-1"]),
        Case(label: "MachineID with no machine at all",
             units: [u("db.service", "MachineID=demo-db-0")], machines: [],
             expected: ["db.service": "-"], reasons: ["db.service": "no machine available"]),
    ]

    @Test(arguments: machineIDCases) func machineID(_ c: Case) { Self.check(c) }

    // MARK: MachineMetadata

    static let zoo = [m("demo-0", ["role": "web", "disk": "ssd"]), m("demo-1", ["role": "web", "disk": "hdd"]),
                      m("demo-2", ["role": "db", "disk": "ssd"]), m("demo-3")]

    static let metadataCases: [Case] = [
        Case(label: "one key, one value", units: [u("db.service", "MachineMetadata=role=db")], machines: zoo,
             expected: ["db.service": "demo-2"]),
        Case(label: "keys are ANDed", units: [u("a.service", "MachineMetadata=role=web", "MachineMetadata=disk=hdd")], machines: zoo,
             expected: ["a.service": "demo-1"]),
        Case(label: "keys are ANDed on one line", units: [u("a.service", "MachineMetadata=role=web disk=hdd")], machines: zoo,
             expected: ["a.service": "demo-1"]),
        Case(label: "values of one key are ORed",
             units: [u("x.service", "MachineMetadata=role=db", on: "demo-2"), u("y.service", "MachineMetadata=role=web", "MachineMetadata=role=db")],
             machines: zoo, expected: ["x.service": "demo-2", "y.service": "demo-0"],
             reasons: ["y.service": "least loaded: demo-0 (0 units; demo-1 also 0, later by name)"]),
        Case(label: "AND and OR together",
             units: [u("a.service", "MachineMetadata=role=web role=db", "MachineMetadata=disk=ssd", on: "demo-0"),
                     u("b.service", "MachineMetadata=role=web role=db", "MachineMetadata=disk=ssd")],
             machines: zoo, expected: ["a.service": "demo-0", "b.service": "demo-2"]),
        Case(label: "a value no machine has", units: [u("c.service", "MachineMetadata=role=cache")], machines: zoo,
             expected: ["c.service": "-"], reasons: ["c.service": "MachineMetadata role=cache: no machine has it"]),
        Case(label: "each key somewhere, both nowhere",
             units: [u("c.service", "MachineMetadata=role=db", "MachineMetadata=disk=hdd")], machines: zoo,
             expected: ["c.service": "-"],
             reasons: ["c.service": "no machine can take it: MachineMetadata disk=hdd: not on demo-0 (disk=ssd), demo-2 (disk=ssd), demo-3 (no disk); MachineMetadata role=db: not on demo-1 (role=web)"]),
        Case(label: "a machine without metadata takes unconstrained units", units: [u("a.service", on: "demo-3")], machines: zoo,
             expected: ["a.service": "demo-3"]),
    ]

    @Test(arguments: metadataCases) func machineMetadata(_ c: Case) { Self.check(c) }

    // MARK: MachineOf

    static let machineOfCases: [Case] = [
        Case(label: "co-location with a peer already placed",
             units: [u("db.service", on: "demo-web-1"), u("app.service", "MachineOf=db.service")], machines: three,
             expected: ["db.service": "demo-web-1", "app.service": "demo-web-1"],
             reasons: ["app.service": "with its MachineOf peers: db.service on demo-web-1"]),
        Case(label: "waits for its peer (earlier by name, placed after it)",
             units: [u("a-app.service", "MachineOf=z-db.service"), u("z-db.service", "MachineMetadata=role=db")],
             machines: [m("demo-0", ["role": "web"]), m("demo-1", ["role": "db"])],
             expected: ["a-app.service": "demo-1", "z-db.service": "demo-1"]),
        Case(label: "a chain of peers",
             units: [u("a.service", "MachineOf=b.service"), u("b.service", "MachineOf=c.service"), u("c.service", on: "demo-web-2")],
             machines: three, expected: ["a.service": "demo-web-2", "b.service": "demo-web-2", "c.service": "demo-web-2"]),
        Case(label: "two peers on one machine",
             units: [u("x.service", on: "demo-web-1"), u("y.service", "MachineOf=x.service"), u("z.service", "MachineOf=x.service y.service")],
             machines: three, expected: ["z.service": "demo-web-1"]),
        Case(label: "peers on different machines",
             units: [u("x.service", on: "demo-web-0"), u("y.service", on: "demo-web-1"), u("z.service", "MachineOf=x.service", "MachineOf=y.service")],
             machines: three, expected: ["z.service": "-"],
             reasons: ["z.service": "MachineOf x.service on demo-web-0; y.service on demo-web-1: no machine has them all"]),
        Case(label: "peer inactive", units: [u("db.service", state: .inactive), u("app.service", "MachineOf=db.service")],
             machines: three, expected: ["app.service": "-"], reasons: ["app.service": "MachineOf=db.service: db.service is inactive"]),
        Case(label: "peer unknown", units: [u("app.service", "MachineOf=db.service")], machines: three,
             expected: ["app.service": "-"], reasons: ["app.service": "MachineOf=db.service: no such unit"]),
        Case(label: "peer unplaceable",
             units: [u("db.service", "MachineID=demo-db-0"), u("app.service", "MachineOf=db.service")], machines: three,
             expected: ["app.service": "-", "db.service": "-"], reasons: ["app.service": "MachineOf=db.service: db.service is unplaceable"]),
        Case(label: "a cycle",
             units: [u("a.service", "MachineOf=b.service"), u("b.service", "MachineOf=a.service"), u("c.service", "MachineOf=a.service"),
                     u("d.service")],
             machines: three, expected: ["a.service": "-", "b.service": "-", "c.service": "-", "d.service": "demo-web-0"],
             reasons: ["a.service": "MachineOf cycle: a.service → b.service → a.service",
                       "b.service": "MachineOf cycle: a.service → b.service → a.service",
                       "c.service": "MachineOf=a.service: a.service is unplaceable"]),
        Case(label: "a unit that is MachineOf itself", units: [u("a.service", "MachineOf=%n")], machines: three,
             expected: ["a.service": "-"], reasons: ["a.service": "MachineOf cycle: a.service → a.service"]),
        Case(label: "peer stuck elsewhere: blocked there",
             units: [u("db.service", on: "demo-web-0"), u("x.service", on: "demo-web-0"),
                     u("app.service", "MachineOf=db.service", "Conflicts=x.service")],
             machines: three, expected: ["app.service": "-"],
             reasons: ["app.service": "no machine can take it (MachineOf db.service on demo-web-0): Conflicts=x.service blocks demo-web-0 (x.service)"]),
        Case(label: "MachineOf a global unit: with it on the least loaded of its machines",
             units: [u("agent.service", "Global=true", "MachineMetadata=role=web"), u("side.service", "MachineOf=agent.service")],
             machines: [m("a", ["role": "db"]), m("b", ["role": "web"]), m("c", ["role": "web"])],
             expected: ["agent.service": "b,c", "side.service": "b"]),
    ]

    @Test(arguments: machineOfCases) func machineOf(_ c: Case) { Self.check(c) }

    @Test func aKeptUnitWhosePeerMovesFollowsIt() {
        // db was on a machine that is gone; app stayed with it there: both land together.
        let units = [Self.u("db.service", on: "demo-web-9"), Self.u("app.service", "MachineOf=db.service", on: "demo-web-9"),
                     Self.u("x.service", on: "demo-web-0")]
        let r = FleetScheduler.schedule(units, machines: Self.three)
        #expect(r["db.service"]?.machines == ["demo-web-1"])
        #expect(r["app.service"]?.machines == ["demo-web-1"])
        #expect(r["db.service"]?.reason == "was on demo-web-9, which is not available; least loaded: demo-web-1 (0 units; demo-web-2 also 0, later by name)")
        #expect(r["app.service"]?.reason.hasPrefix("was on demo-web-9, which is not available; with its MachineOf peers: db.service on demo-web-1") == true)
    }

    // MARK: Conflicts

    static let conflictsCases: [Case] = [
        Case(label: "its own pattern", units: [u("a.service"), u("b.service", "Conflicts=a.service")], machines: [m("m0"), m("m1")],
             expected: ["a.service": "m0", "b.service": "m1"]),
        Case(label: "its own pattern, one machine", units: [u("a.service"), u("b.service", "Conflicts=a.service")], machines: [m("m0")],
             expected: ["a.service": "m0", "b.service": "-"],
             reasons: ["b.service": "no machine can take it: Conflicts=a.service blocks m0 (a.service)"]),
        Case(label: "the other unit's pattern (checked both ways)", units: [u("a.service", "Conflicts=b.service"), u("b.service")],
             machines: [m("m0")], expected: ["a.service": "m0", "b.service": "-"],
             reasons: ["b.service": "no machine can take it: their Conflicts=b.service blocks m0 (a.service)"]),
        Case(label: "the other way round, kept units",
             units: [u("a.service", "Conflicts=b*.service", on: "m0"), u("b1.service", on: "m0")], machines: [m("m0"), m("m1")],
             expected: ["a.service": "m0", "b1.service": "m1"],
             reasons: ["b1.service": "was on m0, but their Conflicts=b*.service blocks m0 (a.service); only machine that can take it: m1 (0 units)"]),
        Case(label: "X-Conflicts is the same", units: [u("a.service", on: "m0"), u("b.service", "X-Conflicts=a.service")],
             machines: [m("m0"), m("m1")], expected: ["b.service": "m1"]),
        Case(label: "glob with ?", units: [u("web1.service", on: "m0"), u("web2.service", "Conflicts=web?.service")],
             machines: [m("m0"), m("m1")], expected: ["web2.service": "m1"]),
        Case(label: "glob with a set", units: [u("web1.service", on: "m0"), u("web2.service", "Conflicts=web[13].service")],
             machines: [m("m0"), m("m1")], expected: ["web2.service": "m1"]),
        Case(label: "a glob that does not match leaves the machine open",
             units: [u("web1.service", on: "m0"), u("db.service", on: "m1"), u("web2.service", "Conflicts=web[3-9].service")],
             machines: [m("m0"), m("m1")], expected: ["web2.service": "m0"]),
        Case(label: "a unit never conflicts with itself", units: [u("web@1.service", "Conflicts=web@*.service", on: "m0")],
             machines: [m("m0")], expected: ["web@1.service": "m0"]),
        Case(label: "a global unit on the machine counts",
             units: [u("g.service", "Global=true"), u("a.service", "Conflicts=g.service")], machines: [m("m0"), m("m1")],
             expected: ["g.service": "m0,m1", "a.service": "-"],
             reasons: ["a.service": "no machine can take it: Conflicts=g.service blocks m0 (g.service), m1 (g.service)"]),
        Case(label: "specifiers in Conflicts", units: [u("web@1.service", "Conflicts=%p@*.service"), u("web@2.service", "Conflicts=%p@*.service")],
             machines: [m("m0"), m("m1")], expected: ["web@1.service": "m0", "web@2.service": "m1"]),
    ]

    @Test(arguments: conflictsCases) func conflicts(_ c: Case) { Self.check(c) }

    @Test func threeInstancesWithConflictsOnThreeMachinesOnePerMachine() {
        let units = (1...3).map { Self.u("web@\($0).service", "Conflicts=web@*.service") }
        let r = FleetScheduler.schedule(units, machines: Self.three)
        #expect(Self.whereabouts(r) == ["web@1.service": "demo-web-0", "web@2.service": "demo-web-1", "web@3.service": "demo-web-2"])
        #expect(r["web@1.service"]?.reason == "least loaded: demo-web-0 (0 units; demo-web-1, demo-web-2 also 0, later by name)")
        #expect(r["web@2.service"]?.reason == "least loaded: demo-web-1 (0 units; demo-web-2 also 0, later by name)")
        #expect(r["web@3.service"]?.reason == "only machine that can take it: demo-web-2 (0 units)")
    }

    @Test func fiveInstancesWithConflictsOnThreeMachinesTwoUnplaceable() {
        let units = (1...5).map { Self.u("web@\($0).service", "Conflicts=web@*.service") }
        let r = FleetScheduler.schedule(units, machines: Self.three)
        #expect(Self.outcomes(r).values.filter { $0 == .placed }.count == 3)
        #expect(Set(r.values.flatMap(\.machines)) == Set(Self.three.map(\.name)))
        let blocked = "no machine can take it: Conflicts=web@*.service blocks demo-web-0 (web@1.service), demo-web-1 (web@2.service), demo-web-2 (web@3.service)"
        #expect(r["web@4.service"]?.outcome == .unplaceable)
        #expect(r["web@4.service"]?.reason == blocked)
        #expect(r["web@5.service"]?.outcome == .unplaceable)
        #expect(r["web@5.service"]?.reason == blocked)
        Self.checkInvariants(units, Self.three, r)
    }

    // MARK: Replaces

    @Test func replacesMovesTheReplacedUnitOffItsMachine() {
        let units = [Self.u("old.service", on: "demo-web-0"), Self.u("new.service", "Replaces=old.service", on: "demo-web-0")]
        let r = FleetScheduler.schedule(units, machines: Self.three)
        #expect(r["new.service"]?.outcome == .kept)
        #expect(r["new.service"]?.machines == ["demo-web-0"])
        #expect(r["old.service"]?.outcome == .placed)
        #expect(r["old.service"]?.machines == ["demo-web-1"])
        #expect(r["old.service"]?.reason.hasPrefix("replaced on demo-web-0 by new.service; least loaded: demo-web-1") == true)
        Self.checkInvariants(units, Self.three, r)
    }

    @Test func aPlacedReplacerEvictsAKeptUnitAndItsPeers() {
        // new.service can only go to demo-0, where old.service (and side.service, MachineOf old) are.
        let machines = [Self.m("demo-0", ["role": "special"]), Self.m("demo-1"), Self.m("demo-2")]
        let units = [Self.u("old.service", on: "demo-0"), Self.u("side.service", "MachineOf=old.service", on: "demo-0"),
                     Self.u("new.service", "Replaces=old.service", "MachineMetadata=role=special")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(Self.whereabouts(r) == ["new.service": "demo-0", "old.service": "demo-1", "side.service": "demo-1"])
        #expect(r["old.service"]?.reason.hasPrefix("replaced on demo-0 by new.service; ") == true)
        #expect(r["side.service"]?.reason.hasPrefix("its MachineOf peer old.service moved off demo-0; with its MachineOf peers: old.service on demo-1") == true)
        Self.checkInvariants(units, machines, r)
    }

    @Test func aReplacedUnitMayNotStayWithItsReplacer() {
        let units = [Self.u("old.service", on: "m0"), Self.u("new.service", "Replaces=old.service", on: "m0")]
        let r = FleetScheduler.schedule(units, machines: [Self.m("m0")])
        #expect(r["new.service"]?.outcome == .kept)
        #expect(r["old.service"]?.outcome == .unplaceable)
        #expect(r["old.service"]?.reason == "replaced on m0 by new.service; no machine can take it: a unit that replaces it is on m0 (new.service)")
    }

    @Test func replacesTakesAGlobAndIgnoresConflictsOfWhatItReplaces() {
        // old@1 conflicts with everything new*, but new replaces it: new may go to m0 all the same.
        let machines = [Self.m("m0", ["role": "x"]), Self.m("m1")]
        let units = [Self.u("old@1.service", "Conflicts=new*", on: "m0"),
                     Self.u("new.service", "Replaces=old@*.service", "MachineMetadata=role=x")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(Self.whereabouts(r) == ["new.service": "m0", "old@1.service": "m1"])
        Self.checkInvariants(units, machines, r)
    }

    @Test func aReplacedUnitStaysWhenItsReplacerCannot() {
        // new.service replaces old.service on demo-0 but a global unit there now conflicts with it: new moves, old stays.
        let machines = [Self.m("demo-0", ["role": "x"]), Self.m("demo-1")]
        let units = [Self.u("old.service", on: "demo-0"), Self.u("new.service", "Replaces=old.service", on: "demo-0"),
                     Self.u("g.service", "Global=true", "Conflicts=new.service", "MachineMetadata=role=x")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(r["old.service"]?.outcome == .kept)
        #expect(r["old.service"]?.machines == ["demo-0"])
        #expect(r["new.service"]?.machines == ["demo-1"])
        #expect(r["new.service"]?.reason == "was on demo-0, but their Conflicts=new.service blocks demo-0 (g.service); only machine that can take it: demo-1 (0 units)")
    }

    @Test func unitsReplacingEachOtherAreIgnoredAsFleetDid() {
        let units = [Self.u("a.service", "Replaces=b.service", on: "m0"), Self.u("b.service", "Replaces=a.service", on: "m0")]
        let r = FleetScheduler.schedule(units, machines: [Self.m("m0"), Self.m("m1")])
        #expect(Self.outcomes(r) == ["a.service": .kept, "b.service": .kept])
    }

    @Test func aReplacementLoopEnds() {
        // a replaces b, b replaces c, c replaces a: every pair would fight for the two machines forever.
        let units = [Self.u("a.service", "Replaces=b.service"), Self.u("b.service", "Replaces=c.service"), Self.u("c.service", "Replaces=a.service")]
        let machines = [Self.m("m0"), Self.m("m1")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(r.count == 3)
        Self.checkInvariants(units, machines, r)
    }

    // MARK: Global

    @Test func globalRunsOnEveryMatchingMachine() {
        let machines = [Self.m("demo-0", ["role": "web"]), Self.m("demo-1", ["role": "db"]), Self.m("demo-2", ["role": "web"])]
        let units = [Self.u("log.service", "Global=true"), Self.u("web-agent.service", "Global=true", "MachineMetadata=role=web"),
                     Self.u("gpu.service", "Global=true", "MachineMetadata=role=gpu")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(r["log.service"]?.outcome == .global)
        #expect(r["log.service"]?.machines == ["demo-0", "demo-1", "demo-2"])
        #expect(r["log.service"]?.reason == "global: on every machine (3)")
        #expect(r["web-agent.service"]?.machines == ["demo-0", "demo-2"])
        #expect(r["web-agent.service"]?.reason == "global: on 2 of 3 machines; MachineMetadata role=web: not on demo-1 (role=db)")
        #expect(r["gpu.service"]?.outcome == .unplaceable)
        #expect(r["gpu.service"]?.reason == "MachineMetadata role=gpu: no machine has it")
    }

    @Test func globalOnAMachineAddedLaterWhileNothingElseMoves() {
        let units = [Self.u("log.service", "Global=true"), Self.u("a.service", on: "demo-web-0"), Self.u("b.service", on: "demo-web-0")]
        let before = FleetScheduler.schedule(units, machines: Array(Self.three.prefix(2)))
        #expect(before["log.service"]?.machines == ["demo-web-0", "demo-web-1"])
        let after = FleetScheduler.schedule(units, machines: Self.three)
        #expect(after["log.service"]?.machines == ["demo-web-0", "demo-web-1", "demo-web-2"])
        #expect(Self.outcomes(after)["a.service"] == .kept)
        #expect(Self.outcomes(after)["b.service"] == .kept)
    }

    @Test func globalsConflictAmongThemselvesInNameOrder() {
        let units = [Self.u("a-global.service", "Global=true", "MachineMetadata=role=web"), Self.u("b-global.service", "Global=true", "Conflicts=a-*")]
        let machines = [Self.m("m0", ["role": "web"]), Self.m("m1", ["role": "db"])]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(r["a-global.service"]?.machines == ["m0"])
        #expect(r["b-global.service"]?.machines == ["m1"])
        #expect(r["b-global.service"]?.reason == "global: on 1 of 2 machines; Conflicts=a-* blocks m0 (a-global.service)")
    }

    @Test func globalsComeFirstAndBlockUnitsTheyConflictWith() {
        let units = [Self.u("a.service", on: "m0"), Self.u("z-global.service", "Global=true", "Conflicts=a.service")]
        let r = FleetScheduler.schedule(units, machines: [Self.m("m0"), Self.m("m1")])
        #expect(r["z-global.service"]?.machines == ["m0", "m1"])
        #expect(r["a.service"]?.outcome == .unplaceable)
        #expect(r["a.service"]?.reason == "was on m0, but their Conflicts=a.service blocks m0 (z-global.service); no machine can take it: their Conflicts=a.service blocks m0 (z-global.service), m1 (z-global.service)")
    }

    @Test func globalsDoNotCountAsLoad() {
        let units = [Self.u("g.service", "Global=true", "MachineMetadata=role=web"), Self.u("a.service")]
        let r = FleetScheduler.schedule(units, machines: [Self.m("m0", ["role": "web"]), Self.m("m1")])
        #expect(r["a.service"]?.machines == ["m0"])
    }

    // MARK: Stability

    @Test func aValidPlacementStaysEvenWhenUnbalanced() {
        let units = (1...4).map { Self.u("app\($0).service", on: "demo-web-0") }
        let r = FleetScheduler.schedule(units, machines: Self.three)
        for unit in units {
            #expect(r[unit.name]?.outcome == .kept)
            #expect(r[unit.name]?.machines == ["demo-web-0"])
            #expect(r[unit.name]?.reason == "stays on demo-web-0")
        }
    }

    @Test func addingAMachineMovesNothing() {
        let units = (1...6).map { Self.u("web@\($0).service", "Conflicts=web@*.service") } + [Self.u("db.service", "MachineMetadata=role=db")]
        let machines = Self.three + [Self.m("demo-db-0", ["role": "db"])]
        let first = FleetScheduler.schedule(units, machines: machines)
        let placed = units.map { u in FleetSchedulingUnit(name: u.name, constraints: u.constraints, state: u.state, current: first[u.name]?.machines.first) }
        let second = FleetScheduler.schedule(placed, machines: machines + [Self.m("demo-web-3")])
        for u in placed where u.current != nil {
            #expect(second[u.name]?.outcome == .kept)
            #expect(second[u.name]?.machines == [u.current!])
        }
        // The only unit that was unplaceable and fits the new machine lands there.
        let newcomers = second.values.filter { $0.outcome == .placed }.map(\.machines)
        #expect(newcomers == [["demo-web-3"]])
    }

    static let movedCases: [Case] = [
        Case(label: "its machine is gone",
             units: [u("a.service", on: "demo-web-2"), u("b.service", on: "demo-web-0")], machines: Array(three.prefix(2)),
             expected: ["a.service": "demo-web-1", "b.service": "demo-web-0"],
             reasons: ["a.service": "was on demo-web-2, which is not available; least loaded: demo-web-1 (0 units; next demo-web-0 with 1)"]),
        Case(label: "its metadata no longer holds",
             units: [u("db.service", "MachineMetadata=role=db", on: "demo-0")], machines: [m("demo-0", ["role": "web"]), m("demo-1", ["role": "db"])],
             expected: ["db.service": "demo-1"],
             reasons: ["db.service": "was on demo-0, but MachineMetadata role=db: not on demo-0 (role=web); only machine that can take it: demo-1 (0 units)"]),
        Case(label: "its MachineID changed", units: [u("db.service", "MachineID=demo-web-1", on: "demo-web-0")], machines: three,
             expected: ["db.service": "demo-web-1"], reasons: ["db.service": "was on demo-web-0, but MachineID=demo-web-1; "]),
        Case(label: "two conflicting units on one machine: the first by name stays",
             units: [u("web@2.service", "Conflicts=web@*.service", on: "demo-web-0"), u("web@1.service", "Conflicts=web@*.service", on: "demo-web-0")],
             machines: three, expected: ["web@1.service": "demo-web-0", "web@2.service": "demo-web-1"],
             reasons: ["web@1.service": "stays on demo-web-0",
                       "web@2.service": "was on demo-web-0, but Conflicts=web@*.service blocks demo-web-0 (web@1.service); least loaded: demo-web-1"]),
    ]

    @Test(arguments: movedCases) func anInvalidPlacementMoves(_ c: Case) { Self.check(c) }

    // MARK: Least loaded

    @Test func leastLoadedWithTiesBrokenByName() {
        let machines = [Self.m("demo-web-2"), Self.m("demo-web-0"), Self.m("demo-web-1")]
        let units = [Self.u("a.service", on: "demo-web-0"), Self.u("b.service", on: "demo-web-0"), Self.u("c.service", on: "demo-web-2"),
                     Self.u("d.service"), Self.u("e.service"), Self.u("f.service")]
        let r = FleetScheduler.schedule(units, machines: machines)
        #expect(r["d.service"]?.machines == ["demo-web-1"])
        #expect(r["d.service"]?.reason == "least loaded: demo-web-1 (0 units; next demo-web-2 with 1)")
        #expect(r["e.service"]?.machines == ["demo-web-1"])
        #expect(r["e.service"]?.reason == "least loaded: demo-web-1 (1 unit; demo-web-2 also 1, later by name)")
        #expect(r["f.service"]?.machines == ["demo-web-2"])
        #expect(r["f.service"]?.reason == "least loaded: demo-web-2 (1 unit; next demo-web-0 with 2)")
    }

    @Test func manyTiesAreSummed() {
        let machines = (0..<10).map { Self.m("m\($0)") }
        let r = FleetScheduler.schedule([Self.u("a.service")], machines: machines)
        #expect(r["a.service"]?.reason == "least loaded: m0 (0 units; m1 and 8 others also 0, later by name)")
    }

    @Test func unitsAreSpreadEvenly() {
        let units = (0..<100).map { Self.u("u\($0).service") }
        let machines = (0..<10).map { Self.m("m\($0)") }
        let r = FleetScheduler.schedule(units, machines: machines)
        var load: [String: Int] = [:]
        for p in r.values { load[p.machines[0], default: 0] += 1 }
        #expect(load.count == 10 && load.values.allSatisfy { $0 == 10 })
    }

    // MARK: Determinism and size

    static func mixedInput(_ rng: inout SplitMix64, units n: Int, machines k: Int) -> ([FleetSchedulingUnit], [FleetMachine]) {
        let roles = ["web", "db", "cache"]
        let machines = (0..<k).map { m("demo-\($0)", ["role": roles[$0 % roles.count], "zone": "z\($0 % 2)"]) }
        var units: [FleetSchedulingUnit] = []
        for i in 0..<n {
            var lines: [String] = []
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: lines.append("MachineMetadata=role=\(roles.randomElement(using: &rng)!)")
            case 1: lines.append("Conflicts=web@*.service")
            case 2 where i > 0: lines.append("MachineOf=u\(Int.random(in: 0..<i, using: &rng)).service")
            case 3: lines.append("MachineMetadata=role=web role=db"); lines.append("MachineMetadata=zone=z1")
            case 4 where i > 0: lines.append("Replaces=u\(Int.random(in: 0..<i, using: &rng)).service")
            case 5 where i % 50 == 0: lines.append("Global=true")
            default: break
            }
            let name = Int.random(in: 0..<5, using: &rng) == 0 ? "web@\(i).service" : "u\(i).service"
            let current = Int.random(in: 0..<3, using: &rng) == 0 ? "demo-\(Int.random(in: 0..<(k + 2), using: &rng))" : nil
            let state: FleetUnitState = Int.random(in: 0..<20, using: &rng) == 0 ? .inactive : .launched
            units.append(u(name, lines.joined(separator: "\n"), state: state, on: current))
        }
        return (units, machines)
    }

    @Test func sameInputInAnyOrderSameOutput() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5 {
            let (units, machines) = Self.mixedInput(&rng, units: 80, machines: 6)
            let reference = FleetScheduler.schedule(units, machines: machines)
            Self.checkInvariants(units, machines, reference)
            for _ in 0..<4 {
                let again = FleetScheduler.schedule(units.shuffled(using: &rng), machines: machines.shuffled(using: &rng))
                #expect(again == reference)
            }
        }
    }

    @Test func aScheduleIsAFixedPoint() {
        // Many small random inputs: the result keeps every rule, does not depend on the input's order, and
        // scheduling again from it keeps every unit where it is (and leaves the unplaceable ones unplaceable).
        var rng = SplitMix64(seed: 2024)
        for round in 0..<150 {
            let (units, machines) = Self.mixedInput(&rng, units: Int.random(in: 1...24, using: &rng), machines: Int.random(in: 1...5, using: &rng))
            let first = FleetScheduler.schedule(units, machines: machines)
            Self.checkInvariants(units, machines, first)
            #expect(FleetScheduler.schedule(units.reversed(), machines: machines.reversed()) == first, "round \(round)")
            let settled = units.map { u in
                FleetSchedulingUnit(name: u.name, constraints: u.constraints, state: u.state,
                                    current: u.constraints.global ? nil : first[u.name]?.machines.first)
            }
            let second = FleetScheduler.schedule(settled, machines: machines)
            for u in settled {
                switch first[u.name]!.outcome {
                case .kept, .placed: #expect(second[u.name]?.outcome == .kept, "round \(round): \(u.name) \(second[u.name]!.reason)")
                default: #expect(second[u.name]?.outcome == first[u.name]?.outcome, "round \(round): \(u.name)")
                }
                #expect(second[u.name]?.machines == first[u.name]?.machines, "round \(round): \(u.name)")
            }
        }
    }

    @Test func hundredUnitsOnTenMachines() {
        var rng = SplitMix64(seed: 7)
        let (units, machines) = Self.mixedInput(&rng, units: 100, machines: 10)
        let clock = ContinuousClock()
        var r: [String: FleetPlacement] = [:]
        let took = clock.measure { r = FleetScheduler.schedule(units, machines: machines) }
        #expect(took < .seconds(1))
        Self.checkInvariants(units, machines, r)
    }

    @Test(.timeLimit(.minutes(1))) func tenThousandUnitsOnHundredMachines() {
        var rng = SplitMix64(seed: 11)
        let (units, machines) = Self.mixedInput(&rng, units: 10_000, machines: 100)
        let clock = ContinuousClock()
        var r: [String: FleetPlacement] = [:]
        let took = clock.measure { r = FleetScheduler.schedule(units, machines: machines) }
        #expect(took < .seconds(20), "took \(took)")  // a debug build on a busy 2-core machine; a release build takes far less
        #expect(r.count == units.count)
        Self.checkInvariants(units, machines, r)
    }

    @Test(.timeLimit(.minutes(1))) func aLongMachineOfChainInReverseNameOrder() {
        // u9999 is MachineOf u9998 … u1 MachineOf u0: placing in name order alone would need 10 000 passes.
        let n = 10_000
        func name(_ i: Int) -> String { "u" + String(repeating: "0", count: 5 - String(i).count) + String(i) + ".service" }
        let units = (0..<n).map { i in
            i == 0 ? Self.u(name(n - 1)) : Self.u(name(n - 1 - i), "MachineOf=\(name(n - i))")
        }
        let r = FleetScheduler.schedule(units, machines: Self.three)
        #expect(Set(r.values.flatMap(\.machines)) == ["demo-web-0"])
    }
}
