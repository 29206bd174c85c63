internal import CYAML
import OttoCore

/// Owns one libyaml parser and turns its event stream into ``YAMLNode`` trees with an explicit stack
/// (no recursion over nesting depth).
final class LibYAMLParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let file: String
    private let limits: YAMLLimits

    init(bytes: [UInt8], displayPath: String, limits: YAMLLimits) {
        parser = .allocate(capacity: 1)
        // libyaml reads the input lazily, so it gets its own copy that lives as long as the parser.
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        file = displayPath
        self.limits = limits
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    // MARK: building

    private struct Anchor { var node: YAMLNode; var size: Int }

    private struct Frame {
        var isMapping: Bool
        var location: SourceLocation
        var tag: String?
        var anchor: String?
        var size = 1
        var items: [YAMLNode] = []
        var entries: [YAMLNode.Entry] = []
        var pendingKey: YAMLNode?
        /// `<<` values with the entry index where they were written.
        var merges: [(index: Int, key: YAMLNode, value: YAMLNode)] = []
    }

    private var stack: [Frame] = []
    private var anchors: [String: Anchor] = [:]
    private var documents: [YAMLNode] = []
    private var totalNodes = 0
    private var diagnostics: [Diagnostic] = []

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: mark.line + 1, column: mark.column + 1)
    }

    private func fatal(_ mark: yaml_mark_t, _ message: String) -> DiagnosticsError {
        DiagnosticsError(diagnostics + [Diagnostic(at: location(mark), message)])
    }

    private static func text(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    }

    /// Parses the whole stream.
    func run() throws(DiagnosticsError) -> [YAMLNode] {
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError() }
            defer { yaml_event_delete(&event) }
            let mark = event.start_mark
            switch event.type {
            case YAML_STREAM_END_EVENT:
                if !diagnostics.isEmpty { throw DiagnosticsError(diagnostics) }
                return documents
            case YAML_DOCUMENT_START_EVENT:
                anchors.removeAll(keepingCapacity: true)
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
                let style: YAMLNode.ScalarStyle
                switch s.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                let node = YAMLNode(.scalar(value, style), at: location(mark), tag: Self.text(s.tag))
                try count(1, at: mark, alias: false)
                if let anchor = Self.text(s.anchor) { anchors[anchor] = Anchor(node: node, size: 1) }
                try add(node, size: 1)
            case YAML_ALIAS_EVENT:
                let name = Self.text(event.data.alias.anchor) ?? ""
                guard let anchor = anchors[name] else { throw fatal(mark, "alias `*\(name)` names no anchor defined before it") }
                try count(anchor.size, at: mark, alias: true)
                var node = anchor.node
                node.location = location(mark)
                try add(node, size: anchor.size)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                if stack.count >= limits.maxDepth {
                    throw fatal(mark, "nesting deeper than the limit of \(limits.maxDepth) levels")
                }
                try count(1, at: mark, alias: false)
                let tag = isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                stack.append(Frame(isMapping: isMapping, location: location(mark), tag: Self.text(tag), anchor: Self.text(anchor)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                let node: YAMLNode
                if frame.isMapping {
                    node = YAMLNode(.mapping(finishMapping(frame)), at: frame.location, tag: frame.tag)
                } else {
                    node = YAMLNode(.sequence(frame.items), at: frame.location, tag: frame.tag)
                }
                if let anchor = frame.anchor { anchors[anchor] = Anchor(node: node, size: frame.size) }
                try add(node, size: frame.size)
            default:
                break
            }
        }
    }

    private func count(_ n: Int, at mark: yaml_mark_t, alias: Bool) throws(DiagnosticsError) {
        totalNodes += n
        guard totalNodes > limits.maxNodes else { return }
        if alias {
            throw fatal(mark, "alias expansion exceeds the limit of \(limits.maxNodes) nodes (billion-laughs protection)")
        }
        throw fatal(mark, "document has more than the limit of \(limits.maxNodes) nodes")
    }

    /// Attaches a finished node to its parent (or ends a document).
    private func add(_ node: YAMLNode, size: Int) throws(DiagnosticsError) {
        guard !stack.isEmpty else { documents.append(node); return }
        let top = stack.count - 1
        stack[top].size += size
        if !stack[top].isMapping {
            stack[top].items.append(node)
        } else if let key = stack[top].pendingKey {
            stack[top].pendingKey = nil
            if case .scalar("<<", .plain) = key.content, key.tag == nil {
                stack[top].merges.append((stack[top].entries.count, key, node))
            } else {
                stack[top].entries.append(YAMLNode.Entry(key: key, value: node))
            }
        } else {
            stack[top].pendingKey = node
        }
    }

    /// Rejects duplicate keys and applies `<<` merges: explicit keys win, earlier merge sources win over later ones.
    private func finishMapping(_ frame: Frame) -> [YAMLNode.Entry] {
        // Most mappings are small: their keys are compared pairwise, with no table unless merges need one.
        if frame.entries.count <= 8 && frame.merges.isEmpty {
            let entries = frame.entries
            for j in entries.indices {
                guard case .scalar(let key, _) = entries[j].key.content else { continue }
                for i in 0..<j {
                    if case .scalar(let earlier, _) = entries[i].key.content, earlier == key {
                        diagnostics.append(Diagnostic(at: entries[j].key.location,
                            "duplicate key `\(key)` (first defined at \(entries[i].key.location))"))
                        break
                    }
                }
            }
            return entries
        }
        var seen: [String: SourceLocation] = [:]
        seen.reserveCapacity(frame.entries.count)
        for entry in frame.entries {
            guard case .scalar(let key, _) = entry.key.content else { continue }
            if let first = seen[key] {
                diagnostics.append(Diagnostic(at: entry.key.location,
                    "duplicate key `\(key)` (first defined at \(first))"))
            } else {
                seen[key] = entry.key.location
            }
        }
        guard !frame.merges.isEmpty else { return frame.entries }
        var result: [YAMLNode.Entry] = []
        var next = 0
        for merge in frame.merges {
            while next < merge.index { result.append(frame.entries[next]); next += 1 }
            var sources: [YAMLNode] = []
            switch merge.value.content {
            case .mapping: sources = [merge.value]
            case .sequence(let items) where items.allSatisfy({ if case .mapping = $0.content { true } else { false } }):
                sources = items
            default:
                diagnostics.append(Diagnostic(at: merge.value.location,
                    "merge key `<<` takes a mapping or a sequence of mappings"))
            }
            for source in sources {
                guard case .mapping(let entries) = source.content else { continue }
                for entry in entries {
                    guard case .scalar(let key, _) = entry.key.content else { result.append(entry); continue }
                    if seen[key] == nil {
                        seen[key] = entry.key.location
                        result.append(entry)
                    }
                }
            }
        }
        while next < frame.entries.count { result.append(frame.entries[next]); next += 1 }
        return result
    }

    private func syntaxError() -> DiagnosticsError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "cannot parse YAML"
        var message = problem
        if let context = p.context.map({ String(cString: $0) }) {
            message += " (\(context) at line \(p.context_mark.line + 1), column \(p.context_mark.column + 1))"
        }
        if p.error == YAML_READER_ERROR {
            return DiagnosticsError(diagnostics + [Diagnostic(at: SourceLocation(file: file, line: 1, column: 1),
                "\(message) at byte \(p.problem_offset)")])
        }
        return fatal(p.problem_mark, message)
    }
}
