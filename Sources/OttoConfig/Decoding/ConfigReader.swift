import Foundation
import OttoCore
import Synchronization

/// Reads typed values out of YAML nodes, recording a diagnostic for every problem and carrying on.
final class ConfigReader {
    var bag = DiagnosticBag()
    /// The project root: `source:` and `content:` paths are relative to it.
    let root: String
    /// False for projects loaded from in-memory files: nothing is read from or checked on disk.
    let onDisk: Bool
    /// Every file besides the YAML that the project's build read or looked for (shared by the readers of one build).
    let inputs: InputLog

    init(root: String, onDisk: Bool = true, inputs: InputLog = InputLog()) {
        self.root = root
        self.onDisk = onDisk
        self.inputs = inputs
    }

    /// The bytes of the file at `full` (nil when it cannot be read), noted as an input of the project.
    func contents(_ full: String) -> Data? {
        inputs.note(full)
        return FileManager.default.contents(atPath: full)
    }

    /// Whether something is at `full` (and whether it is a directory), noted as an input of the project.
    func exists(_ full: String, isDirectory: inout ObjCBool) -> Bool {
        inputs.note(full)
        return FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
    }

    func error(_ location: SourceLocation?, _ message: String) { bag.error(location, message) }

    /// The entries of a mapping with only `allowed` keys; unknown keys get a did-you-mean error.
    func fields(_ node: YAMLNode, _ what: String, allowed: [String], required: [String] = []) -> Fields? {
        guard let entries = node.entries else {
            error(node.location, "expected \(what) (a mapping), got \(node.kindDescription)")
            return nil
        }
        // A mapping of config has a few keys (at most `allowed`): kept in file order and searched, not hashed.
        var kept: [YAMLNode.Entry] = []
        kept.reserveCapacity(entries.count)
        for entry in entries {
            guard let key = entry.key.text else {
                error(entry.key.location, "expected a text key, got \(entry.key.kindDescription)")
                continue
            }
            if allowed.contains(key) { kept.append(entry) } else { unknownKey(key, at: entry.key.location, in: what, allowed: allowed) }
        }
        let f = Fields(node: node, entries: kept)
        for key in required where f.entry(key) == nil {
            error(node.location, "\(what) is missing the required key `\(key)`")
        }
        return f
    }

    func unknownKey(_ key: String, at location: SourceLocation, in what: String, allowed: [String]) {
        var message = "unknown key `\(key)` in \(what)"
        if let guess = EditDistance.closest(to: key, in: allowed) { message += "; did you mean `\(guess)`?" }
        error(location, message)
    }

    func string(_ node: YAMLNode?) -> String? {
        guard let node else { return nil }
        switch node.scalar {
        case .string(let s)?: return s
        // a plain number where text is expected (a version, a port in a string field) is taken as written
        case .int?, .double?: return node.text
        default:
            error(node.location, "expected a string, got \(node.kindDescription)")
            return nil
        }
    }

    func int(_ node: YAMLNode?) -> Int? {
        guard let node else { return nil }
        if case .int(let i)? = node.scalar { return i }
        error(node.location, "expected an integer, got \(node.kindDescription)")
        return nil
    }

    /// An integer that must be in `range`; `what` names it in the message.
    func int(_ node: YAMLNode?, in range: ClosedRange<Int>, _ what: String) -> Int? {
        guard let node, let i = int(node) else { return nil }
        guard range.contains(i) else {
            if range.upperBound == Int.max {
                error(node.location, "\(what) must be at least \(range.lowerBound), got \(i)")
            } else {
                error(node.location, "\(what) must be between \(range.lowerBound) and \(range.upperBound), got \(i)")
            }
            return nil
        }
        return i
    }

    func bool(_ node: YAMLNode?) -> Bool? {
        guard let node else { return nil }
        if case .bool(let b)? = node.scalar { return b }
        error(node.location, "expected true or false, got \(node.kindDescription)")
        return nil
    }

    /// A list of strings; a single string is accepted as a one-item list when `single` is true.
    func strings(_ node: YAMLNode?, single: Bool = false) -> [(String, SourceLocation)]? {
        guard let node else { return nil }
        if single, node.scalar != nil, let s = string(node) { return [(s, node.location)] }
        guard let items = node.items else {
            error(node.location, "expected a list of strings, got \(node.kindDescription)")
            return nil
        }
        return items.compactMap { item in string(item).map { ($0, item.location) } }
    }

    func duration(_ node: YAMLNode?) -> ConfigDuration? {
        guard let node, let text = string(node) else { return nil }
        guard let d = ConfigDuration(parsing: text) else {
            error(node.location, "invalid duration \(Value.string(text)): use a number with a unit, like 500ms, 2s, 5m, 1h or 1h30m")
            return nil
        }
        return d
    }

    /// A `[a-z0-9-]+` name.
    func name(_ node: YAMLNode?, _ what: String) -> String? {
        guard let node, let s = string(node) else { return nil }
        guard Names.isSimpleName(s) else {
            error(node.location, "invalid \(what) \(Value.string(s)): use lowercase letters, digits and `-`")
            return nil
        }
        return s
    }
}

/// The known entries of one mapping.
struct Fields {
    let node: YAMLNode
    /// The mapping's entries with allowed keys, in file order.
    let entries: [YAMLNode.Entry]

    /// The entry of `key` (the last, should the parser have reported it twice).
    func entry(_ key: String) -> YAMLNode.Entry? {
        entries.last { if case .scalar(let k, _) = $0.key.content { k == key } else { false } }
    }
    subscript(key: String) -> YAMLNode? { entry(key)?.value }
    func keyLocation(_ key: String) -> SourceLocation { entry(key)?.key.location ?? node.location }
}

/// The paths a project's build read or looked for besides its YAML files (`Project.inputs`), noted from every reader
/// of the build, whichever thread it runs on.
final class InputLog: Sendable {
    private let paths = Mutex<Set<String>>([])

    /// Notes `path`.
    func note(_ path: String) { paths.withLock { _ = $0.insert(path) } }

    /// The paths noted, sorted.
    var sorted: [String] { paths.withLock { $0.sorted() } }
}
