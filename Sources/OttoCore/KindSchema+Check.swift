extension KindSchema {
    /// Checks a desired resource against the declared attributes: each attribute is declared and settable by the
    /// configuration, has its type (references and unknown values pass until they are resolved; `null` passes for
    /// optional attributes), and every required one is there. Each diagnostic is at the resource's location and names
    /// the resource and the attribute; a sensitive value never appears in one. Untyped schemas check nothing.
    public func check(_ resource: Resource) -> [Diagnostic] {
        guard let attributes else { return [] }
        // A kind declares a handful of attributes: a scan is cheaper than building an index for every resource.
        func declared(_ name: String) -> AttributeSchema? { attributes.first { $0.name == name } }
        // Almost every resource fits: say so without sorting its attributes or building a message.
        if fits(resource, attributes) { return [] }
        var out: [Diagnostic] = []
        func error(_ message: String) {
            out.append(Diagnostic(.error, at: resource.location, "\(resource.address): \(message)"))
        }
        for (name, value) in resource.attributes.sorted(by: { $0.key < $1.key }) {
            guard let attribute = declared(name) else {
                let settable = attributes.filter { $0.origin != .computed }.map(\.name)
                let hint = Self.nearest(name, in: settable).map { "; did you mean `\($0)`?" }
                    ?? "; it takes \(settable.sorted().map { "`\($0)`" }.joined(separator: ", "))"
                error("kind `\(kind)` has no attribute `\(name)`\(hint)")
                continue
            }
            if attribute.origin == .computed {
                error("attribute `\(name)` of kind `\(kind)` is set by the provider, not by the configuration")
                continue
            }
            if value == .null {
                if attribute.origin == .required { error("attribute `\(name)` is required and cannot be null") }
                continue
            }
            if !attribute.type.accepts(value) {
                let got = attribute.sensitive ? "a sensitive value of another type" : Self.shape(value)
                error("attribute `\(name)` must be \(attribute.type), got \(got)")
            }
        }
        for attribute in attributes where attribute.origin == .required && resource.attributes[attribute.name] == nil {
            error("kind `\(kind)` requires attribute `\(attribute.name)` (\(attribute.type))")
        }
        return out
    }

    /// True when `check` finds nothing: the same rules, without diagnostics.
    private func fits(_ resource: Resource, _ attributes: [AttributeSchema]) -> Bool {
        // Declarations are read in place (by index, not copied), and required ones are counted as they are met rather
        // than looked up afterwards: the attribute names of a resource are distinct.
        var required = 0
        for (name, value) in resource.attributes {
            guard let i = attributes.firstIndex(where: { $0.name == name }) else { return false }
            let origin = attributes[i].origin
            if origin == .computed { return false }
            if origin == .required { required += 1 }
            if case .null = value {
                if origin == .required { return false }
                continue
            }
            if !attributes[i].type.accepts(value) { return false }
        }
        var declaredRequired = 0
        for i in attributes.indices where attributes[i].origin == .required { declaredRequired += 1 }
        return required == declaredRequired
    }

    /// What a value is, with the value itself when it is short (never called for sensitive attributes).
    private static func shape(_ value: Value) -> String {
        let text = value.description
        let shown = text.count <= 60 ? " \(text)" : ""
        switch value {
        case .null: return "null"
        case .bool: return "a boolean\(shown)"
        case .int: return "an integer\(shown)"
        case .double: return "a number\(shown)"
        case .string: return "a string\(shown)"
        case .list: return "a list\(shown)"
        case .map: return "a map\(shown)"
        case .ref, .unknown: return text
        }
    }

    /// The declared name closest to a misspelt one (at most two edits away), if any.
    static func nearest(_ name: String, in names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(Array(name), Array($0))) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 == $1.1 ? $0.0 < $1.0 : $0.1 < $1.1 }?.0
    }

    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
