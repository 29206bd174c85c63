/// One option of a unit file, `[Section]` `Name=Value`, as fleet's API carries it (`UnitOption`).
public struct FleetUnitOption: Sendable, Hashable, Codable {
    /// The section, e.g. `Service` or `X-Fleet`.
    public var section: String
    /// The option's name, e.g. `ExecStart`.
    public var name: String
    /// The value, continuation lines joined.
    public var value: String

    /// Creates an option.
    public init(section: String, name: String, value: String) {
        self.section = section
        self.name = name
        self.value = value
    }
}

/// A problem in a unit file's text, with the line and column (1-based) inside the text.
public struct FleetUnitFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The line in the unit's text.
    public var line: Int
    /// The column in that line.
    public var column: Int
    /// What is wrong.
    public var message: String

    /// Creates an error.
    public init(line: Int, column: Int, _ message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(line):\(column): \(message)" }
}

/// A fleet unit file: systemd sections plus `[X-Fleet]`, as an ordered list of options (fleet's `UnitFile`).
///
/// Parsing follows systemd's rules as fleet (go-systemd's `unit.Deserialize`) applied them: `[Section]` headers,
/// `Name=Value` lines with whitespace around both trimmed, `#` and `;` comments, a trailing backslash continues a
/// value on the next line. `text` serialises the options the way fleet did (sections in order of first appearance,
/// a blank line between them), so its SHA-1 is the `hash` fleet reported for the unit.
public struct FleetUnitFile: Sendable, Hashable {
    /// The options, in file order.
    public var options: [FleetUnitOption]
    /// The line (1-based, in the parsed text) each option starts on; empty for a file built from options.
    public var lines: [Int]

    /// The section fleet reads its constraints from.
    public static let fleetSection = "X-Fleet"

    /// A unit file made of `options` (an API's, or an edited copy).
    public init(options: [FleetUnitOption]) {
        self.options = options
        self.lines = []
    }

    /// Parses a unit file's text; throws the first problem with its line and column.
    public init(parsing text: String) throws(FleetUnitFileError) {
        var options: [FleetUnitOption] = []
        var lines: [Int] = []
        var section: String?
        var pending: (name: String, value: String, line: Int)?
        func finish() {
            if let p = pending, let section {
                // Trimmed as a whole too: a continuation onto an empty line (or the end of the text) adds nothing.
                let value = String(Substring(p.value).trimmingWhitespace())
                options.append(FleetUnitOption(section: section, name: p.name, value: value))
                lines.append(p.line)
            }
            pending = nil
        }
        // "\r\n" is one Character in Swift: split on it too, or a CRLF text would be one long line.
        let all = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (i, raw) in all.enumerated() {
            let lineNumber = i + 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if var p = pending {
                // A continuation: the previous value ended with a backslash.
                let trimmed = line.trimmingWhitespace()
                if trimmed.hasSuffix("\\") {
                    p.value += " " + trimmed.dropLast().trimmingWhitespace()
                    pending = p
                } else {
                    p.value += " " + trimmed
                    pending = p
                    finish()
                }
                continue
            }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indent = line.count - line.drop(while: { $0 == " " || $0 == "\t" }).count
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count > 2 else {
                    throw FleetUnitFileError(line: lineNumber, column: indent + 1, "a section header is `[Name]`, got `\(trimmed)`")
                }
                let name = String(trimmed.dropFirst().dropLast())
                guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw FleetUnitFileError(line: lineNumber, column: indent + 2, "invalid section name `\(name)`")
                }
                section = name
                continue
            }
            guard let eq = trimmed.firstIndex(of: "=") else {
                throw FleetUnitFileError(line: lineNumber, column: indent + 1, "expected `Name=Value`, a `[Section]` or a comment, got `\(trimmed)`")
            }
            guard section != nil else {
                throw FleetUnitFileError(line: lineNumber, column: indent + 1, "option `\(trimmed[..<eq].trimmingWhitespace())` comes before any `[Section]`")
            }
            let name = String(trimmed[..<eq].trimmingWhitespace())
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                throw FleetUnitFileError(line: lineNumber, column: indent + 1, "invalid option name `\(name)`")
            }
            var value = String(trimmed[trimmed.index(after: eq)...].trimmingWhitespace())
            if value.hasSuffix("\\") {
                value = String(value.dropLast().trimmingWhitespace())
                pending = (name, value, lineNumber)
                if i == all.count - 1 { finish() }
                continue
            }
            pending = (name, value, lineNumber)
            finish()
        }
        finish()
        self.options = options
        self.lines = lines
    }

    /// The text fleet stored and hashed: `[Section]` then `Name=Value` lines, sections in order of first appearance,
    /// separated by a blank line.
    public var text: String { Self.serialize(options) }

    /// The systemd unit otto installs: every section but `[X-Fleet]`.
    public var systemdText: String { Self.serialize(options.filter { $0.section != Self.fleetSection }) }

    /// The `[X-Fleet]` options.
    public var fleetOptions: [FleetUnitOption] { options.filter { $0.section == Self.fleetSection } }

    /// The line an option at `index` starts on, when the file was parsed.
    public func line(of index: Int) -> Int? { index < lines.count ? lines[index] : nil }

    static func serialize(_ options: [FleetUnitOption]) -> String {
        var order: [String] = []
        var bySection: [String: [FleetUnitOption]] = [:]
        for o in options {
            if bySection[o.section] == nil { order.append(o.section) }
            bySection[o.section, default: []].append(o)
        }
        var out = ""
        for (i, s) in order.enumerated() {
            if i > 0 { out += "\n" }
            out += "[\(s)]\n"
            for o in bySection[s]! { out += "\(o.name)=\(o.value)\n" }
        }
        return out
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
