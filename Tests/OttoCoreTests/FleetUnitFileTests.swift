import OttoCore
import Testing

/// fleet unit files (`FleetUnitFile`), unit names and specifiers (`FleetUnitName`), `[X-Fleet]` constraints
/// (`FleetConstraints.read`) and the shell globs of `Conflicts` and `Replaces`.
@Suite struct FleetUnitFileTests {
    static func opt(_ section: String, _ name: String, _ value: String) -> FleetUnitOption {
        FleetUnitOption(section: section, name: name, value: value)
    }

    // MARK: Parsing

    @Test func sectionsOptionsAndComments() throws {
        let text = """
            # a comment before any section
            ; another kind of comment
            [Unit]
            Description = The web server\u{20}\u{20}
            After=docker.service

              # an indented comment
            [Service]
            ExecStart=/usr/bin/docker run --name web nginx
            Environment="A=1" "B=2"

            [X-Fleet]
            Conflicts=web@*.service
            """
        let file = try FleetUnitFile(parsing: text)
        #expect(file.options == [
            Self.opt("Unit", "Description", "The web server"),
            Self.opt("Unit", "After", "docker.service"),
            Self.opt("Service", "ExecStart", "/usr/bin/docker run --name web nginx"),
            Self.opt("Service", "Environment", "\"A=1\" \"B=2\""),
            Self.opt("X-Fleet", "Conflicts", "web@*.service"),
        ])
        #expect(file.lines == [4, 5, 9, 10, 13])
        #expect(file.line(of: 2) == 9)
        #expect(file.line(of: 9) == nil)
        #expect(file.fleetOptions == [Self.opt("X-Fleet", "Conflicts", "web@*.service")])
    }

    @Test func continuationLines() throws {
        let text = "[Service]\nExecStart=/bin/sh -c \\\n    'echo a; \\\n     echo b'\nUser=core\n"
        let file = try FleetUnitFile(parsing: text)
        #expect(file.options == [Self.opt("Service", "ExecStart", "/bin/sh -c 'echo a; echo b'"), Self.opt("Service", "User", "core")])
        #expect(file.lines == [2, 5])
    }

    @Test func continuationOntoTheEndOfTheText() throws {
        #expect(try FleetUnitFile(parsing: "[Service]\nExecStart=/bin/true \\").options == [Self.opt("Service", "ExecStart", "/bin/true")])
        #expect(try FleetUnitFile(parsing: "[Service]\nExecStart=/bin/true \\\n").options == [Self.opt("Service", "ExecStart", "/bin/true")])
        #expect(try FleetUnitFile(parsing: "[Service]\nExecStart=a \\\n\nUser=core").options
            == [Self.opt("Service", "ExecStart", "a"), Self.opt("Service", "User", "core")])
    }

    @Test func windowsLineEndingsAndEmptyValues() throws {
        let file = try FleetUnitFile(parsing: "[Service]\r\nExecStart=/bin/true\r\nEnvironment=\r\n")
        #expect(file.options == [Self.opt("Service", "ExecStart", "/bin/true"), Self.opt("Service", "Environment", "")])
    }

    @Test func anEmptyTextHasNoOptions() throws {
        #expect(try FleetUnitFile(parsing: "").options.isEmpty)
        #expect(try FleetUnitFile(parsing: "\n# nothing\n\n").options.isEmpty)
        #expect(try FleetUnitFile(parsing: "[Unit]\n").options.isEmpty)  // a section without options leaves no trace
    }

    struct BadText: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { message }
    }

    static let badTexts: [BadText] = [
        BadText(text: "ExecStart=/bin/true\n", line: 1, column: 1, message: "option `ExecStart` comes before any `[Section]`"),
        BadText(text: "# c\n\n  Description=x\n[Unit]", line: 3, column: 3, message: "option `Description` comes before any `[Section]`"),
        BadText(text: "[Unit]\n[Service\n", line: 2, column: 1, message: "a section header is `[Name]`, got `[Service`"),
        BadText(text: "[Unit]\n  []\n", line: 2, column: 3, message: "a section header is `[Name]`, got `[]`"),
        BadText(text: "[Un it]\n", line: 1, column: 2, message: "invalid section name `Un it`"),
        BadText(text: "[Unit]\nDescription\n", line: 2, column: 1, message: "expected `Name=Value`, a `[Section]` or a comment, got `Description`"),
        BadText(text: "[Unit]\n\n\tExec Start=/bin/true\n", line: 3, column: 2, message: "invalid option name `Exec Start`"),
        BadText(text: "[Unit]\n=value\n", line: 2, column: 1, message: "invalid option name ``"),
    ]

    @Test(arguments: badTexts) func errorsCarryLineAndColumn(_ bad: BadText) {
        #expect(throws: FleetUnitFileError(line: bad.line, column: bad.column, bad.message)) { try FleetUnitFile(parsing: bad.text) }
        do {
            _ = try FleetUnitFile(parsing: bad.text)
        } catch {
            #expect(error.description == "\(bad.line):\(bad.column): \(bad.message)")
        }
    }

    // MARK: Serialisation

    @Test func fleetsTextLayout() {
        let file = FleetUnitFile(options: [
            Self.opt("Unit", "Description", "web"),
            Self.opt("Service", "ExecStart", "/bin/true"),
            Self.opt("Unit", "After", "docker.service"),
            Self.opt("X-Fleet", "Conflicts", "web@*.service"),
        ])
        // Sections in order of first appearance, their options together, a blank line between sections.
        #expect(file.text == "[Unit]\nDescription=web\nAfter=docker.service\n\n[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nConflicts=web@*.service\n")
        #expect(file.systemdText == "[Unit]\nDescription=web\nAfter=docker.service\n\n[Service]\nExecStart=/bin/true\n")
        #expect(FleetUnitFile(options: []).text == "")
        #expect(file.lines.isEmpty)
    }

    @Test func roundTrip() throws {
        let texts = [
            "[Unit]\nDescription=web\n\n[Service]\nExecStart=/usr/bin/docker run nginx\nRestart=always\n\n[X-Fleet]\nMachineMetadata=role=web\n",
            "[Service]\nExecStart=/bin/sh -c 'a; \\\n  b'\n",
            "# comment\n[Unit]\n  Description =  spaced  \n",
        ]
        for text in texts {
            let file = try FleetUnitFile(parsing: text)
            let again = try FleetUnitFile(parsing: file.text)
            #expect(again.options == file.options)
            #expect(again.text == file.text)  // fleet's text is a fixed point
        }
        #expect(try FleetUnitFile(parsing: texts[0]).text == texts[0])
    }

    // MARK: Names

    struct NameCase: Sendable, CustomTestStringConvertible {
        var name: String
        var base: String, prefix: String, instance: String?, type: String
        var template: Bool, isInstance: Bool
        var testDescription: String { name }
    }

    static let names: [NameCase] = [
        NameCase(name: "web@1.service", base: "web@1", prefix: "web", instance: "1", type: "service", template: false, isInstance: true),
        NameCase(name: "web@.service", base: "web@", prefix: "web", instance: "", type: "service", template: true, isInstance: false),
        NameCase(name: "db.service", base: "db", prefix: "db", instance: nil, type: "service", template: false, isInstance: false),
        NameCase(name: "backup.timer", base: "backup", prefix: "backup", instance: nil, type: "timer", template: false, isInstance: false),
        NameCase(name: "a.b@x.y.socket", base: "a.b@x.y", prefix: "a.b", instance: "x.y", type: "socket", template: false, isInstance: true),
        NameCase(name: "sys-dev\\x2dsda.mount", base: "sys-dev\\x2dsda", prefix: "sys-dev\\x2dsda", instance: nil, type: "mount",
                 template: false, isInstance: false),
    ]

    @Test(arguments: names) func namesTakenApart(_ c: NameCase) throws {
        let n = try #require(FleetUnitName(c.name))
        #expect(n.full == c.name)
        #expect(n.description == c.name)
        #expect(n.base == c.base)
        #expect(n.prefix == c.prefix)
        #expect(n.instance == c.instance)
        #expect(n.type == c.type)
        #expect(n.isTemplate == c.template)
        #expect(n.isInstance == c.isInstance)
    }

    @Test(arguments: ["web", "web.", ".service", "web.unknown", "@1.service", "web@1@2.service", "web 1.service", "wéb.service",
                      String(repeating: "a", count: 250) + ".service"])
    func invalidNames(_ name: String) {
        #expect(FleetUnitName(name) == nil)
    }

    @Test func templatesAndInstances() throws {
        let template = try #require(FleetUnitName("web@.service"))
        #expect(template.instance("3")?.full == "web@3.service")
        #expect(template.template == nil)
        let instance = try #require(FleetUnitName("web@3.service"))
        #expect(instance.template == "web@.service")
        #expect(instance.instance("4") == nil)
        #expect(FleetUnitName("db.service")?.template == nil)
    }

    @Test(arguments: [
        ("%n", "web@1.service"), ("%N", "web@1"), ("%p", "web"), ("%i", "1"), ("%%", "%"), ("%x", "%x"), ("50%", "50%"),
        ("%p@*.service", "web@*.service"), ("pin-%i %n", "pin-1 web@1.service"), ("no specifiers", "no specifiers"),
    ])
    func specifiers(_ text: String, _ expanded: String) {
        #expect(FleetUnitName("web@1.service")!.expandSpecifiers(text) == expanded)
    }

    @Test func specifiersOfANameWithoutInstance() {
        #expect(FleetUnitName("db.service")!.expandSpecifiers("%p/%i/%N") == "db//db")
    }

    // MARK: [X-Fleet]

    static func read(_ fleet: String, name: String = "web@1.service") throws -> (FleetConstraints, [FleetConstraints.Problem]) {
        FleetConstraints.read(try FleetUnitFile(parsing: "[Service]\nExecStart=/bin/true\n[X-Fleet]\n" + fleet), name: FleetUnitName(name)!)
    }

    /// `option: message` per problem.
    static func text(_ problems: [FleetConstraints.Problem]) -> [String] {
        problems.map { "\($0.option.map(String.init) ?? "-"): \($0.message)" }
    }

    @Test func eachKey() throws {
        let (c, problems) = try Self.read("""
            MachineID=demo-web-0
            MachineMetadata=role=web
            MachineMetadata=disk=ssd role=edge
            Global=false
            """)
        #expect(problems.isEmpty)
        #expect(c.machineID == "demo-web-0")
        #expect(c.machineMetadata == ["role": ["web", "edge"], "disk": ["ssd"]])
        #expect(!c.global)
        let (d, p2) = try Self.read("MachineOf=db.service cache.service\nMachineOf=\"log.service\"\nConflicts=%p@*.service other.service\n")
        #expect(p2.isEmpty)
        #expect(d.machineOf == ["db.service", "cache.service", "log.service"])
        #expect(d.conflicts == ["web@*.service", "other.service"])
        let (e, p3) = try Self.read("Replaces=old@%i.service\n")
        #expect(p3.isEmpty)
        #expect(e.replaces == ["old@1.service"])
        let (g, p4) = try Self.read("Global=true\nMachineMetadata=role=web\n")
        #expect(p4.isEmpty)
        #expect(g.global)
        #expect(FleetConstraints.read(FleetUnitFile(options: []), name: FleetUnitName("a.service")!).0 == FleetConstraints())
    }

    @Test(arguments: [
        ("X-ConditionMachineID=demo-0", "MachineID"), ("X-ConditionMachineOf=db.service", "MachineOf"),
        ("X-ConditionMachineMetadata=role=db", "MachineMetadata"), ("X-Conflicts=db.service", "Conflicts"),
        ("X-ConditionMachineBootID=abc", "MachineID"),
    ])
    func deprecatedSpellings(_ line: String, _ key: String) throws {
        let (old, problems) = try Self.read(line + "\n")
        #expect(problems.isEmpty)
        let modern = key + "=" + line.split(separator: "=", maxSplits: 1)[1]
        let (new, _) = try Self.read(modern + "\n")
        #expect(old == new)
        #expect(FleetConstraints.keys[String(line.split(separator: "=")[0])] == key)
    }

    @Test(arguments: [("true", true), ("yes", true), ("1", true), ("on", true), ("t", true), ("TRUE", true),
                      ("false", false), ("no", false), ("0", false), ("off", false), ("f", false)])
    func globalValues(_ value: String, _ global: Bool) throws {
        let (c, problems) = try Self.read("Global=\(value)\n")
        #expect(problems.isEmpty)
        #expect(c.global == global)
    }

    @Test func problemsWithValues() throws {
        // Option indexes count every option of the file: ExecStart is 0.
        let (_, p1) = try Self.read("Global=maybe\n")
        #expect(Self.text(p1) == ["1: Global takes true or false, got `maybe`"])
        let (_, p2) = try Self.read("MachineID=a b\n")
        #expect(p2.map(\.message) == ["MachineID takes one machine name, got `a b`"])
        let (c3, p3) = try Self.read("MachineID=a\nMachineID=b\n")
        #expect(Self.text(p3) == ["2: MachineID given twice (`a` and `b`)"])
        #expect(c3.machineID == "b")
        let (c4, p4) = try Self.read("MachineMetadata=role=web =x role= plain\n")
        #expect(p4.map(\.message) == ["MachineMetadata entries are `key=value`, got `=x`",
                                      "MachineMetadata entries are `key=value`, got `role=`",
                                      "MachineMetadata entries are `key=value`, got `plain`"])
        #expect(c4.machineMetadata == ["role": ["web"]])
        let (c5, _) = try Self.read("MachineMetadata=url=http://x?a=b\n")
        #expect(c5.machineMetadata == ["url": ["http://x?a=b"]])  // the first `=` splits
    }

    @Test func unknownKey() throws {
        let (_, problems) = try Self.read("Conflicts=a.service\nMachineRole=web\n")
        #expect(Self.text(problems) == [
            "2: unknown [X-Fleet] option `MachineRole` (known: Conflicts, Global, MachineID, MachineMetadata, MachineOf, Replaces)"])
    }

    @Test(arguments: [
        ("MachineID=m\nMachineOf=db.service", "MachineID cannot be combined with MachineOf"),
        ("MachineID=m\nConflicts=db.service", "MachineID cannot be combined with Conflicts"),
        ("MachineID=m\nGlobal=true", "MachineID cannot be combined with Global"),
        ("MachineID=m\nReplaces=db.service", "MachineID cannot be combined with Replaces"),
        ("Global=true\nMachineOf=db.service", "Global cannot be combined with MachineOf"),
        ("Global=true\nReplaces=db.service", "Global cannot be combined with Replaces"),
        ("Conflicts=a.service\nReplaces=db.service", "Conflicts cannot be combined with Replaces"),
    ])
    func refusedCombination(_ lines: String, _ message: String) throws {
        let (_, problems) = try Self.read(lines + "\n")
        // Reported at the later of the two options (index 2: ExecStart is 0).
        #expect(Self.text(problems) == ["2: " + message + " (fleet refuses this combination)"])
        // The other order says the same.
        let swapped = lines.split(separator: "\n").reversed().joined(separator: "\n")
        #expect(try Self.read(swapped + "\n").1 == problems)
    }

    @Test func allowedCombinations() throws {
        for lines in ["Global=true\nConflicts=a.service\nMachineMetadata=role=web", "MachineOf=a.service\nConflicts=b.service",
                      "MachineOf=a.service\nReplaces=b.service\nMachineMetadata=role=db", "MachineID=m\nMachineMetadata=role=db",
                      "Global=false\nMachineID=m"] {
            #expect(try Self.read(lines + "\n").1.isEmpty, "\(lines)")
        }
    }

    @Test func manyRefusedCombinationsAtOnce() throws {
        let (_, problems) = try Self.read("MachineID=m\nGlobal=true\nMachineOf=a.service\nReplaces=b.service\n")
        #expect(problems.map(\.message) == [
            "MachineID cannot be combined with MachineOf (fleet refuses this combination)",
            "MachineID cannot be combined with Global (fleet refuses this combination)",
            "MachineID cannot be combined with Replaces (fleet refuses this combination)",
            "Global cannot be combined with MachineOf (fleet refuses this combination)",
            "Global cannot be combined with Replaces (fleet refuses this combination)",
        ])
    }

    // MARK: Globs

    @Test(arguments: [
        ("web@*.service", "web@1.service", true), ("web@*.service", "web@.service", true), ("web@*.service", "web@1.socket", false),
        ("web@*.service", "db@1.service", false), ("*", "anything.service", true), ("*", "", true), ("", "", true), ("", "a", false),
        ("a.service", "a.service", true), ("a.service", "b.service", false), ("a.service", "a.service2", false),
        ("web?.service", "web1.service", true), ("web?.service", "web.service", false), ("web?.service", "web12.service", false),
        ("web[12].service", "web2.service", true), ("web[12].service", "web3.service", false),
        ("web[0-9].service", "web7.service", true), ("web[0-9].service", "webx.service", false),
        ("web[!0-9].service", "webx.service", true), ("web[^0-9].service", "web7.service", false),
        ("web[]x].service", "web].service", true), ("web[!]x].service", "web].service", false),
        ("web[a-c-].service", "web-.service", true),
        ("web\\*.service", "web*.service", true), ("web\\*.service", "web1.service", false),
        ("web[.service", "web[.service", true), ("web[.service", "web1.service", false),
        ("*@*.*", "web@1.service", true), ("*.service*", "a.service", true), ("**a", "ba", true),
        ("*a*a*a*a*a*a*a*a*a*b", String(repeating: "a", count: 200), false),
        ("*a*a*a*a*a*a*a*a*a*b", String(repeating: "a", count: 200) + "b", true),
    ])
    func glob(_ pattern: String, _ name: String, _ matches: Bool) {
        #expect(FleetConstraints.glob(pattern, matches: name) == matches)
    }
}
