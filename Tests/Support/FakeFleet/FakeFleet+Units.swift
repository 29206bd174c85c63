import Foundation
import OttoCore

extension FakeFleet {
    /// `GET /units`: every unit, sorted by name, one page.
    func listUnits(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        page(units.keys.sorted().compactMap { name in units[name].map { entity($0) } }, key: "units", request)
    }

    /// `GET /units/{name}`.
    func getUnit(_ name: String) -> FakeHTTPResponse {
        guard let unit = units[name] else { return Self.error(404, "unit does not exist") }
        return .fleetJSON(200, entity(unit))
    }

    /// `DELETE /units/{name}`.
    func destroyUnit(_ name: String) -> FakeHTTPResponse {
        guard units.removeValue(forKey: name) != nil else { return Self.error(404, "unit does not exist") }
        reconcile()
        return FakeHTTPResponse(status: 204)
    }

    /// `PUT /units/{name}`, in the order fleet's `unitsResource.set` checked things.
    func setUnit(_ item: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        if let refused = jsonContent(request) { return refused }
        let body: Body
        switch Body.decode(request.body) {
        case .success(let decoded): body = decoded
        case .failure(let problem): return Self.error(400, "unable to decode body: \(problem.text)")
        }
        let name = body.name ?? item
        guard name == item else {
            return Self.error(400, "name in URL \(Self.quoted(item)) differs from unit name in request body \(Self.quoted(name))")
        }
        if let problem = Self.validateName(name) { return Self.error(400, problem) }
        var desired: FleetUnitState?
        if let text = body.desiredState {
            guard let state = FleetUnitState(rawValue: text) else {
                return Self.error(400, "invalid desiredState \(Self.quoted(text)): must be inactive, loaded or launched")
            }
            desired = state
        }
        let isTemplate = FleetUnitName(name)?.isTemplate ?? false
        let existing = units[name]
        var replace = false
        var file: FleetUnitFile?
        if let options = body.options, !options.isEmpty {
            let candidate = FleetUnitFile(options: options)
            if existing == nil || existing?.file.text != candidate.text {
                if let problem = Self.validateOptions(candidate, name: name) { return Self.error(400, problem) }
                replace = true
                file = candidate
            }
        } else if existing == nil {
            return Self.error(409, "unit does not exist and options field empty")
        }
        if isTemplate, let desired, desired != .inactive {
            return Self.error(400, "cannot activate template \(Self.quoted(name))")
        }
        if replace, let file {
            // A new unit, or a new version of one: fleet destroyed the old entry and created this one.
            // fleet stored the file's text and read it back: options come back grouped by section.
            let stored = (try? FleetUnitFile(parsing: file.text)) ?? file
            units[name] = FakeFleetUnit(name: name, file: FleetUnitFile(options: stored.options), desiredState: desired ?? .inactive)
            reconcile()
            return FakeHTTPResponse(status: 201)
        }
        guard let desired else { return Self.error(409, "must provide DesiredState to update existing unit") }
        units[name]?.desiredState = desired
        reconcile()
        return FakeHTTPResponse(status: 204)
    }

    /// A unit as the API shows it (`schema.Unit`, empty fields left out).
    func entity(_ unit: FakeFleetUnit) -> JSONValue {
        var out: [String: JSONValue] = [
            "name": .string(unit.name),
            "desiredState": .string(unit.desiredState.rawValue),
            "currentState": .string(currentState(unit).rawValue),
        ]
        let options = unit.file.options.map { o -> JSONValue in ["section": .string(o.section), "name": .string(o.name), "value": .string(o.value)] }
        if !options.isEmpty { out["options"] = .array(options) }
        if let machine = unit.machineID { out["machineID"] = .string(machine) }
        return .object(out)
    }

    /// What the agents report: the desired state once the unit is on a machine (or, for a `Global` unit, on any),
    /// `inactive` while it is on none.
    func currentState(_ unit: FakeFleetUnit) -> FleetUnitState {
        runningMachines(unit).isEmpty ? .inactive : unit.desiredState
    }

    // MARK: - Checks

    /// A unit name's problem in fleet's words (`api.ValidateName`, systemd's `unit_name_is_valid`); nil when valid.
    static func validateName(_ name: String) -> String? {
        guard !name.isEmpty else { return "unit name cannot be empty" }
        guard name.utf8.count <= 256 else { return "unit name exceeds maximum length (256)" }
        guard let dot = name.lastIndex(of: ".") else { return #"unit name must contain ".""# }
        let suffix = String(name[name.index(after: dot)...])
        guard !suffix.isEmpty else { return #"unit name cannot end in ".""# }
        let types: Set<String> = ["automount", "busname", "device", "mount", "path", "scope", "service", "slice", "snapshot", "socket",
                                  "swap", "target", "timer"]
        guard types.contains(suffix) else { return "invalid unit type: \(quoted(suffix))" }
        if name.contains("@"), !["path", "service", "socket", "target", "timer"].contains(suffix) {
            return "invalid unit type for template: \(quoted(suffix))"
        }
        for ch in name[..<dot] where !(ch.isASCII && (ch.isLetter || ch.isNumber || ":-_.\\@".contains(ch))) {
            return "invalid character \(quoted(String(ch))) in unit name"
        }
        if name.hasPrefix("@") { return #"unit name cannot start in "@""# }
        return nil
    }

    /// A unit file's problem (empty section or option names, `[X-Fleet]` problems `FleetConstraints.read` finds);
    /// nil when fleet would take it.
    static func validateOptions(_ file: FleetUnitFile, name: String) -> String? {
        for (i, o) in file.options.enumerated() where o.section.isEmpty || o.name.isEmpty {
            return "unit option \(i + 1) needs a section and a name"
        }
        guard let parsed = FleetUnitName(name) else { return "invalid unit name \(quoted(name))" }
        let (_, problems) = FleetConstraints.read(file, name: parsed)
        return problems.first.map(\.message)
    }

    /// `"text"` as Go's `%q` writes simple strings.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    // MARK: - The request body

    /// A `PUT /units/{name}` body (`schema.Unit`; fields fleet ignores on input are ignored here too).
    struct Body {
        var name: String?
        var options: [FleetUnitOption]?
        var desiredState: String?

        /// A reason the body could not be decoded.
        struct Problem: Error { var text: String }

        /// Decodes a body as Go's `json.Decoder` would have into `schema.Unit`: an object; `null` fields are absent;
        /// wrong types are errors.
        static func decode(_ bytes: [UInt8]) -> Result<Body, Problem> {
            guard !bytes.isEmpty else { return .failure(Problem(text: "EOF")) }
            guard let json = JSONValue.parse(bytes) else { return .failure(Problem(text: "invalid JSON")) }
            guard case .object(let object) = json else { return .failure(Problem(text: "json: cannot unmarshal \(kind(json)) into Go value of type schema.Unit")) }
            var body = Body()
            func string(_ key: String) -> Result<String?, Problem> {
                switch object[key] {
                case nil, .null?: return .success(nil)
                case .string(let text)?: return .success(text)
                case let other?: return .failure(Problem(text: "json: cannot unmarshal \(kind(other)) into Go struct field Unit.\(key) of type string"))
                }
            }
            switch string("name") { case .success(let v): body.name = v.flatMap { $0.isEmpty ? nil : $0 }; case .failure(let p): return .failure(p) }
            switch string("desiredState") { case .success(let v): body.desiredState = v.flatMap { $0.isEmpty ? nil : $0 }; case .failure(let p): return .failure(p) }
            switch object["options"] {
            case nil, .null?: break
            case .array(let items)?:
                var options: [FleetUnitOption] = []
                for item in items {
                    guard case .object(let o) = item else {
                        return .failure(Problem(text: "json: cannot unmarshal \(kind(item)) into Go struct field Unit.options of type schema.UnitOption"))
                    }
                    var fields: [String: String] = [:]
                    for key in ["section", "name", "value"] {
                        switch o[key] {
                        case nil, .null?: fields[key] = ""
                        case .string(let text)?: fields[key] = text
                        case let other?:
                            return .failure(Problem(text: "json: cannot unmarshal \(kind(other)) into Go struct field UnitOption.options.\(key) of type string"))
                        }
                    }
                    options.append(FleetUnitOption(section: fields["section", default: ""], name: fields["name", default: ""], value: fields["value", default: ""]))
                }
                body.options = options
            case let other?:
                return .failure(Problem(text: "json: cannot unmarshal \(kind(other)) into Go struct field Unit.options of type []*schema.UnitOption"))
            }
            return .success(body)
        }

        /// Go's name for a JSON value's kind.
        static func kind(_ value: JSONValue) -> String {
            switch value {
            case .null: return "null"
            case .bool: return "bool"
            case .int, .double: return "number"
            case .string: return "string"
            case .array: return "array"
            case .object: return "object"
            }
        }
    }
}
