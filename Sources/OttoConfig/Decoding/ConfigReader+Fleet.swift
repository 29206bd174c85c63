import Foundation
import OttoCore

extension ConfigReader {
    /// `fleet:`: either a list of units, or a mapping with `units:` and the cluster's settings.
    func fleet(_ node: YAMLNode) -> FleetSpec? {
        if let items = node.items {
            return FleetSpec(units: items.flatMap(fleetUnits), location: node.location)
        }
        guard let f = fields(node, "fleet", allowed: ["units", "on", "provider", "lost_after"], required: ["units"]) else { return nil }
        var spec = FleetSpec(location: node.location)
        if let p = f["provider"], let text = string(p) { spec.provider = Located(text, at: p.location) }
        if let on = f["on"] { spec.on = (strings(on, single: true) ?? []).map { Located($0.0, at: $0.1) } }
        if let l = f["lost_after"], let d = duration(l) {
            if d.milliseconds < 1000 { error(l.location, "lost_after must be at least 1s, got \(d)") } else { spec.lostAfter = d }
        }
        if spec.provider != nil, let l = f["lost_after"] {
            error(l.location, "lost_after applies to units otto places itself; a fleet cluster (`provider:`) decides that on its own")
        }
        if spec.provider != nil, let on = f["on"] {
            error(on.location, "on: applies to units otto places itself; a fleet cluster (`provider:`) places units on its own machines")
        }
        if let units = f["units"] {
            if let items = units.items { spec.units = items.flatMap(fleetUnits) } else {
                error(units.location, "expected fleet units (a list), got \(units.kindDescription)")
            }
        }
        return spec
    }

    /// One `units:` entry: a unit file (`file:`) or an inline unit (`name:` and `text:`); a template (`name@.service`)
    /// with `instances:` (`1..3` or a list) or `count:` gives one unit per instance.
    func fleetUnits(_ node: YAMLNode) -> [FleetUnitSpec] {
        guard let f = fields(node, "a fleet unit", allowed: ["file", "name", "text", "instances", "count", "state"]) else { return [] }
        var state = FleetUnitState.launched
        if let s = f["state"], let text = string(s) {
            if let parsed = FleetUnitState(rawValue: text) { state = parsed } else {
                error(s.location, "state must be inactive, loaded or launched, got \(Value.string(text))")
            }
        }
        // The unit's text and where its line 1 is.
        var text: String?
        var origin: SourceLocation?
        var nameText: String?
        var nameLocation = node.location
        switch (f["file"], f["text"]) {
        case (let fileNode?, nil):
            guard let rel = string(fileNode) else { return [] }
            nameText = (rel as NSString).lastPathComponent
            nameLocation = fileNode.location
            if !onDisk {
                error(fileNode.location, "file: needs a project directory on disk")
                return []
            }
            let full = rel.hasPrefix("/") ? rel : root + "/" + rel
            guard let data = contents(full), let t = String(data: data, encoding: .utf8) else {
                error(fileNode.location, "cannot read unit file \(Value.string(rel)) (relative to the project root, UTF-8 text)")
                return []
            }
            text = t
            origin = SourceLocation(file: rel, line: 1, column: 1)
        case (nil, let t?):
            guard let s = string(t) else { return [] }
            text = s
            // A block scalar's text starts on the line after its indicator, indented like its first line.
            if case .scalar(_, let style) = t.content, style == .literal || style == .folded {
                let line = t.location.line + 1
                origin = SourceLocation(file: t.location.file, line: line, column: blockIndent(t.location.file, line: line) + 1)
            } else {
                origin = t.location
            }
        case (_?, _?):
            error(node.location, "give either file: or text:, not both")
            return []
        case (nil, nil):
            error(node.location, "a fleet unit needs file: (a unit file in the project) or name: and text: (an inline unit)")
            return []
        }
        if let n = f["name"], let s = string(n) {
            nameText = s
            nameLocation = n.location
        }
        guard let nameText, let text, let origin else {
            error(node.location, "an inline fleet unit needs name:")
            return []
        }
        guard let name = FleetUnitName(nameText) else {
            error(nameLocation, "invalid unit name \(Value.string(nameText)): expected e.g. `web.service` or a template `web@.service`")
            return []
        }
        let file: FleetUnitFile
        do { file = try FleetUnitFile(parsing: text) } catch {
            self.error(SourceLocation(file: origin.file, line: origin.line + error.line - 1, column: origin.column + error.column - 1),
                       "unit \(name): \(error.message)")
            return []
        }
        if file.options.filter({ $0.section != FleetUnitFile.fleetSection }).isEmpty {
            error(origin, "unit \(name) has no systemd options (fleet refuses a unit without options)")
            return []
        }
        // Instances of a template, or the unit itself.
        var names: [FleetUnitName] = []
        let instanceNodes = (f["instances"], f["count"])
        if name.isTemplate {
            switch instanceNodes {
            case (let i?, nil):
                for (label, location) in instances(i) {
                    if let n = name.instance(label) { names.append(n) } else {
                        error(location, "invalid instance \(Value.string(label)) of \(name)")
                    }
                }
            case (nil, let c?):
                if let n = int(c, in: 1...10_000, "count") { names = (1...n).compactMap { name.instance(String($0)) } }
            case (_?, _?):
                error(node.location, "give either instances: or count:, not both")
            case (nil, nil):
                error(nameLocation, "\(name) is a template: give instances: (e.g. 1..3) or count:")
            }
        } else {
            if let extra = instanceNodes.0 ?? instanceNodes.1 {
                error(extra.location, "instances: and count: apply to a template (`name@.service`); \(name) is none")
            }
            names = [name]
        }
        var out: [FleetUnitSpec] = []
        var reported = Set<String>()
        for n in names {
            let (constraints, problems) = FleetConstraints.read(file, name: n)
            for p in problems where reported.insert(p.message).inserted {
                let line = p.option.flatMap(file.line(of:)) ?? 1
                error(SourceLocation(file: origin.file, line: origin.line + line - 1, column: origin.column), "unit \(name): \(p.message)")
            }
            if problems.isEmpty { out.append(FleetUnitSpec(name: n, file: file, constraints: constraints, state: state, location: node.location)) }
        }
        return out
    }

    /// The indentation (spaces) of line `line` of the project file `file`, 0 when it cannot be read.
    private func blockIndent(_ file: String, line: Int) -> Int {
        guard onDisk, let data = FileManager.default.contents(atPath: root + "/" + file), let text = String(data: data, encoding: .utf8) else { return 0 }
        var n = 1
        for l in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if n == line { return l.prefix { $0 == " " }.count }
            n += 1
        }
        return 0
    }

    /// `instances:`: `A..B` (integers) or a list of names.
    private func instances(_ node: YAMLNode) -> [(String, SourceLocation)] {
        if node.items != nil { return strings(node) ?? [] }
        guard let text = string(node) else { return [] }
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a <= b, b - a < 10_000 else {
            error(node.location, "instances must be a range like 1..3 or a list of names, got \(Value.string(text))")
            return []
        }
        return (a...b).map { (String($0), node.location) }
    }
}
