/// A unit's desired state in fleet's terms: `inactive` (known, on no machine), `loaded` (on its machine, stopped),
/// `launched` (on its machine, running).
public enum FleetUnitState: String, Sendable, Hashable, Codable, CaseIterable {
    case inactive, loaded, launched
}

/// What a unit's `[X-Fleet]` section asks of the machine it runs on (fleet's `job.Requirements`), with specifiers
/// expanded for the unit's name.
public struct FleetConstraints: Sendable, Hashable, Codable {
    /// `MachineID=`: the one machine the unit may run on (an otto machine name, e.g. `demo-web-0`).
    public var machineID: String?
    /// `MachineMetadata=key=value`: values allowed per key; keys are ANDed, values of one key ORed.
    public var machineMetadata: [String: [String]] = [:]
    /// `MachineOf=`: units that must already run on the same machine.
    public var machineOf: [String] = []
    /// `Conflicts=`: globs of units that must not run on the same machine (checked both ways).
    public var conflicts: [String] = []
    /// `Replaces=`: units this one moves off its machine.
    public var replaces: [String] = []
    /// `Global=true`: runs on every machine that satisfies the rest.
    public var global = false

    /// No constraint at all.
    public init() {}

    /// Every key fleet read, with the deprecated `X-` spellings it still accepted.
    public static let keys: [String: String] = [
        "MachineID": "MachineID", "X-ConditionMachineID": "MachineID", "X-ConditionMachineBootID": "MachineID",
        "MachineOf": "MachineOf", "X-ConditionMachineOf": "MachineOf",
        "MachineMetadata": "MachineMetadata", "X-ConditionMachineMetadata": "MachineMetadata",
        "Conflicts": "Conflicts", "X-Conflicts": "Conflicts",
        "Replaces": "Replaces", "Global": "Global",
    ]

    /// A problem in `[X-Fleet]`: which option (its index in the unit file's options) and what is wrong.
    public struct Problem: Sendable, Hashable {
        /// Index of the option in `FleetUnitFile.options`; nil for a problem of the section as a whole.
        public var option: Int?
        /// What is wrong.
        public var message: String
    }

    /// Reads the `[X-Fleet]` options of `file` for the unit `name` (specifiers expanded). Problems are unknown keys,
    /// malformed metadata, and the combinations fleet refused when a unit was submitted.
    public static func read(_ file: FleetUnitFile, name: FleetUnitName) -> (FleetConstraints, [Problem]) {
        var c = FleetConstraints()
        var problems: [Problem] = []
        var firstIndex: [String: Int] = [:]
        for (i, o) in file.options.enumerated() where o.section == FleetUnitFile.fleetSection {
            guard let key = keys[o.name] else {
                problems.append(Problem(option: i, message: "unknown [X-Fleet] option `\(o.name)` (known: Conflicts, Global, MachineID, MachineMetadata, MachineOf, Replaces)"))
                continue
            }
            if firstIndex[key] == nil { firstIndex[key] = i }
            let value = name.expandSpecifiers(o.value)
            let words = Self.words(value)
            switch key {
            case "MachineID":
                guard words.count == 1 else {
                    problems.append(Problem(option: i, message: "MachineID takes one machine name, got `\(o.value)`"))
                    continue
                }
                if let m = c.machineID, m != words[0] {
                    problems.append(Problem(option: i, message: "MachineID given twice (`\(m)` and `\(words[0])`)"))
                }
                c.machineID = words[0]
            case "MachineOf": c.machineOf += words
            case "Conflicts": c.conflicts += words
            case "Replaces": c.replaces += words
            case "MachineMetadata":
                for w in words {
                    // fleet skipped entries without both a key and a value (`job.RequiredTargetMetadata`).
                    guard let eq = w.firstIndex(of: "="), eq != w.startIndex, w.index(after: eq) != w.endIndex else {
                        problems.append(Problem(option: i, message: "MachineMetadata entries are `key=value`, got `\(w)`"))
                        continue
                    }
                    c.machineMetadata[String(w[..<eq]), default: []].append(String(w[w.index(after: eq)...]))
                }
            default:  // Global
                switch value.lowercased() {
                case "true", "yes", "1", "on", "t": c.global = true  // fleet's `isTruthyValue`
                case "false", "no", "0", "off", "f": c.global = false
                default: problems.append(Problem(option: i, message: "Global takes true or false, got `\(o.value)`"))
                }
            }
        }
        // fleet's `job.ValidateRequirements`: the combinations it refused at submission.
        let rules: [(String, String, Bool)] = [
            ("MachineID", "MachineOf", c.machineID != nil && !c.machineOf.isEmpty),
            ("MachineID", "Conflicts", c.machineID != nil && !c.conflicts.isEmpty),
            ("MachineID", "Global", c.machineID != nil && c.global),
            ("MachineID", "Replaces", c.machineID != nil && !c.replaces.isEmpty),
            ("Global", "MachineOf", c.global && !c.machineOf.isEmpty),
            ("Global", "Replaces", c.global && !c.replaces.isEmpty),
            ("Conflicts", "Replaces", !c.conflicts.isEmpty && !c.replaces.isEmpty),
        ]
        for (a, b, broken) in rules where broken {
            let at = max(firstIndex[a] ?? 0, firstIndex[b] ?? 0)
            problems.append(Problem(option: at, message: "\(a) cannot be combined with \(b) (fleet refuses this combination)"))
        }
        return (c, problems)
    }

    /// Splits a value into words on whitespace; double quotes group words (`"a b"`).
    static func words(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var has = false
        for ch in text {
            if ch == "\"" { quoted.toggle(); has = true; continue }
            if !quoted && (ch == " " || ch == "\t") {
                if has { out.append(current) }
                current = ""
                has = false
                continue
            }
            current.append(ch)
            has = true
        }
        if has { out.append(current) }
        return out
    }

    /// True when `name` matches the shell-style glob `pattern` (`*`, `?`, `[...]` with ranges and `!`/`^` negation, a
    /// `]` first in a set being a member, `\` escapes), as fleet matched `Conflicts`. A `[` without its `]` is a plain
    /// character. Linear in the pattern times the name, whatever the stars.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        FleetGlob(pattern).matches(name)
    }
}
