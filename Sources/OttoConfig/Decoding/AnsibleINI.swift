import Foundation
import OttoCore

/// Reads an Ansible inventory in its INI format (Ansible's default: `[group]` sections of host lines with their
/// variables, `[group:vars]`, `[group:children]`, hosts before any section in `ungrouped`) into the same tree an Ansible
/// YAML inventory has (`all: { hosts, vars, children }`), so both formats go through one reader
/// (`ConfigReader.ansible`). Every node keeps the line and column it came from, for messages.
///
/// As Ansible does: values on a host line are read as literals (`22` a number, `true`/`True` a boolean, anything else
/// text; quotes group words and are removed, as the shell's); values in a `:vars` section are text; host names may hold
/// ranges (`web[01:03]`, `db-[a:c]`, `[1:9:2]`) and a port (`host:2222`); `#` and `;` start a comment line, and `#`
/// also ends a host line outside quotes.
enum AnsibleINI {
    /// Parses `bytes` (the file `displayPath`) into an `all:` mapping.
    static func parse(bytes: [UInt8], displayPath: String, limits: YAMLLimits = .default) throws(DiagnosticsError) -> YAMLNode {
        func at(_ line: Int, _ column: Int) -> SourceLocation { SourceLocation(file: displayPath, line: line, column: column) }
        if bytes.count > limits.maxFileSize {
            throw DiagnosticsError([Diagnostic(at: at(1, 1), "file is \(bytes.count) bytes, more than the limit of \(limits.maxFileSize) bytes")])
        }
        if let problem = TextCheck.firstProblem(in: bytes) {
            throw DiagnosticsError([Diagnostic(at: at(problem.line, problem.column), problem.isNUL
                ? "looks like a binary file (NUL byte at byte \(problem.offset)), not an INI inventory"
                : "not valid UTF-8 text at byte \(problem.offset)")])
        }
        var reader = Reader(displayPath: displayPath)
        for (i, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            reader.line(String(line.hasSuffix("\r") ? line.dropLast() : line), number: i + 1)
        }
        if reader.bag.hasErrors { throw DiagnosticsError(reader.bag.all) }
        let tree = reader.tree()
        if reader.bag.hasErrors { throw DiagnosticsError(reader.bag.all) }
        return tree
    }

    /// What a file says about one group.
    private struct Group {
        var location: SourceLocation
        /// Hosts in order, each with its variables (later lines update earlier ones).
        var hosts: [(name: String, location: SourceLocation, vars: [(String, YAMLNode)])] = []
        var vars: [(String, YAMLNode)] = []
        var children: [(name: String, location: SourceLocation)] = []
    }

    private enum Section {
        case hosts(String), vars(String), children(String)
    }

    private struct Reader {
        let displayPath: String
        var bag = DiagnosticBag()
        var groups: [String: Group] = [:]
        var order: [String] = []
        var section = Section.hosts("ungrouped")
        /// Groups `node` has walked.
        var visited = Set<String>()

        init(displayPath: String) { self.displayPath = displayPath }

        func at(_ line: Int, _ column: Int) -> SourceLocation { SourceLocation(file: displayPath, line: line, column: column) }

        mutating func group(_ name: String, at location: SourceLocation) {
            if groups[name] == nil {
                groups[name] = Group(location: location)
                order.append(name)
            }
        }

        mutating func line(_ text: String, number: Int) {
            let column = (text.firstIndex { $0 != " " && $0 != "\t" }.map { text.distance(from: text.startIndex, to: $0) } ?? 0) + 1
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let first = trimmed.first, first != "#", first != ";" else { return }
            if first == "[" {
                header(trimmed, at: at(number, column))
                return
            }
            switch section {
            case .hosts(let g): hostLine(trimmed, group: g, line: number, column: column)
            case .vars(let g): varLine(trimmed, group: g, at: at(number, column))
            case .children(let g):
                let child = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? trimmed
                guard Self.isGroupName(child) else {
                    bag.error(at(number, column), "invalid group name \(Value.string(child)) in [\(g):children]: \(Self.groupNameRule)")
                    return
                }
                group(child, at: at(number, column))
                if !(groups[g]!.children.contains { $0.name == child }) { groups[g]!.children.append((child, at(number, column))) }
            }
        }

        mutating func header(_ text: String, at location: SourceLocation) {
            guard text.hasSuffix("]") else {
                bag.error(location, "a section header ends with `]`: \(text)")
                return
            }
            let inner = String(text.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            let parts = inner.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            guard Self.isGroupName(name) else {
                bag.error(location, "invalid group name \(Value.string(name)): \(Self.groupNameRule)")
                return
            }
            group(name, at: location)
            switch parts.count == 2 ? parts[1] : nil {
            case nil: section = .hosts(name)
            case "vars"?: section = .vars(name)
            case "children"?: section = .children(name)
            case let other?:
                bag.error(location, "unknown section type `:\(other)` in [\(inner)]; Ansible's are [GROUP], [GROUP:vars] and [GROUP:children]")
            }
        }

        mutating func varLine(_ text: String, group g: String, at location: SourceLocation) {
            guard let eq = text.firstIndex(of: "=") else {
                bag.error(location, "expected `name=value` in [\(g):vars], got \(Value.string(text))")
                return
            }
            let key = text[..<eq].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else {
                bag.error(location, "a variable in [\(g):vars] needs a name before `=`")
                return
            }
            var value = text[text.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // Ansible reads `:vars` values as text; matching quotes around one are removed.
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q { value = String(value.dropFirst().dropLast()) }
            Self.set(&groups[g]!.vars, key, YAMLNode(.scalar(value, .doubleQuoted), at: location))
        }

        mutating func hostLine(_ text: String, group g: String, line: Int, column: Int) {
            let tokens: [(text: String, column: Int)]
            do { tokens = try Self.shellWords(text) } catch {
                bag.error(at(line, column + error.offset), error.message)
                return
            }
            guard let head = tokens.first else { return }
            group(g, at: at(line, column))
            var vars: [(String, YAMLNode)] = []
            for t in tokens.dropFirst() {
                let location = at(line, column + t.column)
                guard let eq = t.text.firstIndex(of: "="), eq != t.text.startIndex else {
                    bag.error(location, "expected `name=value` after host \(Value.string(head.text)), got \(Value.string(t.text))")
                    continue
                }
                Self.set(&vars, String(t.text[..<eq]), Self.literal(String(t.text[t.text.index(after: eq)...]), at: location))
            }
            var pattern = head.text
            let location = at(line, column + head.column)
            // `host:port` (one colon, digits after it): Ansible's shorthand for ansible_port
            let afterRanges = pattern.lastIndex(of: "]").map { pattern.index(after: $0) } ?? pattern.startIndex
            if let colon = pattern[afterRanges...].lastIndex(of: ":"), pattern[afterRanges...].firstIndex(of: ":") == colon,
               !pattern[pattern.index(after: colon)...].isEmpty, pattern[pattern.index(after: colon)...].allSatisfy(\.isNumber) {
                Self.set(&vars, "ansible_port", YAMLNode(.scalar(String(pattern[pattern.index(after: colon)...]), .plain), at: location))
                pattern = String(pattern[..<colon])
            }
            let names: [String]
            do { names = try Self.expand(pattern) } catch {
                bag.error(location, "host pattern \(Value.string(pattern)): \(error.message)")
                return
            }
            for name in names {
                if let i = groups[g]!.hosts.firstIndex(where: { $0.name == name }) {
                    for (k, v) in vars { Self.set(&groups[g]!.hosts[i].vars, k, v) }
                } else {
                    groups[g]!.hosts.append((name, location, vars))
                }
            }
        }

        /// The `all:` tree: `all`'s own hosts and vars, `ungrouped` and every group no other group lists as a child
        /// under `all.children`, each child group nested under every group that lists it.
        mutating func tree() -> YAMLNode {
            defer {
                // groups reachable only through a cycle of children were never walked: walk them to report it
                for g in order where !visited.contains(g) { _ = node(g, path: []) }
            }
            let top = at(1, 1)
            var listed = Set<String>()
            for g in order { for c in groups[g]!.children { listed.insert(c.name) } }
            var allChildren: [YAMLNode.Entry] = []
            for g in order where g != "all" && !listed.contains(g) {
                if g == "ungrouped" && groups[g]!.hosts.isEmpty && groups[g]!.vars.isEmpty && groups[g]!.children.isEmpty { continue }
                if let node = node(g, path: []) { allChildren.append(YAMLNode.Entry(key: Self.key(g, groups[g]!.location), value: node)) }
            }
            let all: YAMLNode
            if groups["all"] != nil, let node = node("all", path: [], extraChildren: allChildren) {
                all = node
            } else {
                all = YAMLNode(.mapping(allChildren.isEmpty ? [] : [YAMLNode.Entry(key: Self.key("children", top),
                                                                                     value: YAMLNode(.mapping(allChildren), at: top))]), at: top)
            }
            return YAMLNode(.mapping([YAMLNode.Entry(key: Self.key("all", top), value: all)]), at: top)
        }

        mutating func node(_ name: String, path: [String], extraChildren: [YAMLNode.Entry] = []) -> YAMLNode? {
            let g = groups[name]!
            visited.insert(name)
            if path.contains(name) {
                bag.error(g.location, "group `\(name)` is its own descendant: \((path + [name]).joined(separator: " → "))")
                return nil
            }
            var entries: [YAMLNode.Entry] = []
            if !g.hosts.isEmpty {
                entries.append(YAMLNode.Entry(key: Self.key("hosts", g.location), value: YAMLNode(.mapping(g.hosts.map { h in
                    YAMLNode.Entry(key: Self.key(h.name, h.location),
                                   value: h.vars.isEmpty ? YAMLNode(.scalar("", .plain), at: h.location) : Self.mapping(h.vars, at: h.location))
                }), at: g.location)))
            }
            if !g.vars.isEmpty { entries.append(YAMLNode.Entry(key: Self.key("vars", g.location), value: Self.mapping(g.vars, at: g.location))) }
            var children = extraChildren
            for c in g.children where name != "all" || !extraChildren.contains(where: { $0.key.text == c.name }) {
                if let n = node(c.name, path: path + [name]) { children.append(YAMLNode.Entry(key: Self.key(c.name, c.location), value: n)) }
            }
            if !children.isEmpty { entries.append(YAMLNode.Entry(key: Self.key("children", g.location), value: YAMLNode(.mapping(children), at: g.location))) }
            return entries.isEmpty ? YAMLNode(.scalar("", .plain), at: g.location) : YAMLNode(.mapping(entries), at: g.location)
        }

        static func key(_ text: String, _ location: SourceLocation) -> YAMLNode { YAMLNode(.scalar(text, .plain), at: location) }

        static func mapping(_ pairs: [(String, YAMLNode)], at location: SourceLocation) -> YAMLNode {
            YAMLNode(.mapping(pairs.map { YAMLNode.Entry(key: key($0.0, $0.1.location), value: $0.1) }), at: location)
        }

        /// Sets `key` in an ordered list of pairs (a later value replaces an earlier one in place).
        static func set(_ pairs: inout [(String, YAMLNode)], _ key: String, _ value: YAMLNode) {
            if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = value } else { pairs.append((key, value)) }
        }

        /// A host line's value as Ansible reads it (Python literals): whole numbers and decimals, `True`/`False`
        /// (any case) and `None`; anything else is text.
        static func literal(_ text: String, at location: SourceLocation) -> YAMLNode {
            if Int(text) != nil || (Double(text) != nil && text.contains(".") && !text.hasPrefix(".") && !text.hasSuffix(".")) {
                return YAMLNode(.scalar(text, .plain), at: location)
            }
            switch text.lowercased() {
            case "true", "false": return YAMLNode(.scalar(text.lowercased(), .plain), at: location)
            case "none": return YAMLNode(.scalar("null", .plain), at: location)
            default: return YAMLNode(.scalar(text, .doubleQuoted), at: location)
            }
        }

        static let groupNameRule = "letters, digits, `_` and `-`, not starting with a digit or `-`"

        static func isGroupName(_ s: String) -> Bool {
            guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
            return s.unicodeScalars.allSatisfy { $0 == "_" || $0 == "-" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
        }

        struct LineError: Error {
            var offset: Int
            var message: String
        }

        /// Splits a host line into words as a POSIX shell does (quotes group and are removed, a backslash escapes the
        /// next character outside single quotes, `#` at the start of a word begins a comment), with each word's offset.
        static func shellWords(_ text: String) throws(LineError) -> [(text: String, column: Int)] {
            var words: [(String, Int)] = []
            var current = ""
            var start: Int?
            var quote: Character?
            var quoteStart = 0
            var escaped = false
            for (offset, c) in text.enumerated() {
                if escaped { current.append(c); escaped = false; continue }
                if let q = quote {
                    if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { current.append(c) }
                    continue
                }
                switch c {
                case " ", "\t":
                    if let s = start { words.append((current, s)); current = ""; start = nil }
                case "#" where start == nil:
                    return words
                case "\"", "'":
                    if start == nil { start = offset }
                    quote = c
                    quoteStart = offset
                case "\\":
                    if start == nil { start = offset }
                    escaped = true
                default:
                    if start == nil { start = offset }
                    current.append(c)
                }
            }
            if quote != nil { throw LineError(offset: quoteStart, message: "a quote opened here is not closed on this line") }
            if let s = start { words.append((current, s)) }
            return words
        }

        /// Expands Ansible's host ranges: `[01:03]` (leading zeros kept, every number the same width), `[a:c]`, and a
        /// stride `[1:9:2]`; several ranges multiply.
        static func expand(_ pattern: String) throws(LineError) -> [String] {
            guard let open = pattern.firstIndex(of: "[") else {
                guard !pattern.contains("]") else { throw LineError(offset: 0, message: "`]` without `[`") }
                return [pattern]
            }
            guard let close = pattern[open...].firstIndex(of: "]") else { throw LineError(offset: 0, message: "`[` without `]`") }
            let head = String(pattern[..<open])
            let parts = pattern[pattern.index(after: open)..<close].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 || parts.count == 3 else {
                throw LineError(offset: 0, message: "a range is `[start:end]` or `[start:end:step]`")
            }
            let step = parts.count == 3 ? Int(parts[2]) : 1
            guard let step, step > 0 else { throw LineError(offset: 0, message: "a range's step is a whole number above 0") }
            var items: [String] = []
            if let lo = Int(parts[0]), let hi = Int(parts[1]) {
                guard lo <= hi else { throw LineError(offset: 0, message: "a range's start (\(lo)) is after its end (\(hi))") }
                guard (hi - lo) / step < 10_000 else { throw LineError(offset: 0, message: "a range names more than 10,000 hosts") }
                let width = parts[0].hasPrefix("0") && parts[0].count > 1 ? parts[0].count : 0
                for n in stride(from: lo, through: hi, by: step) {
                    let digits = String(n)
                    items.append(String(repeating: "0", count: max(0, width - digits.count)) + digits)
                }
            } else if parts[0].count == 1, parts[1].count == 1, let a = parts[0].unicodeScalars.first, let b = parts[1].unicodeScalars.first,
                      a.isASCII, b.isASCII, a.properties.isAlphabetic, b.properties.isAlphabetic {
                guard a.value <= b.value else { throw LineError(offset: 0, message: "a range's start (\(a)) is after its end (\(b))") }
                for v in stride(from: a.value, through: b.value, by: step) { items.append(String(Character(Unicode.Scalar(v)!))) }
            } else {
                throw LineError(offset: 0, message: "a range is of numbers (`[01:20]`) or of single letters (`[a:f]`)")
            }
            let tails = try expand(String(pattern[pattern.index(after: close)...]))
            return items.flatMap { item in tails.map { head + item + $0 } }
        }
    }
}
