/// A unified diff of two texts, as `diff -u` writes it: `---` / `+++` headers, then `@@ -l,s +l,s @@` hunks with
/// `context` lines of context around each change, and `\ No newline at end of file` after a last line without one.
///
/// Lines are compared with the standard library's `difference(from:)` (Myers) after the common head and tail are set
/// aside; when what is left is too big for that to be cheap, the changed middle is shown as removed then added
/// (still a correct diff, only not the shortest).
public enum TextDiff {
    /// Texts at most this big (bytes, each side) are diffed; larger ones are described by their hashes.
    public static let maxBytes = 256 * 1024
    /// Above this many line pairs in the changed middle, the middle is shown as a whole replacement.
    static let maxMiddleProduct = 4_000_000

    /// One line and whether a newline ended it.
    struct Line: Hashable {
        var text: Substring
        var newline: Bool
    }

    /// The unified diff from `old` to `new`, or nil when they are the same.
    public static func unified(_ old: String, _ new: String, from oldLabel: String, to newLabel: String, context: Int = 3) -> String? {
        guard old != new else { return nil }
        let a = lines(old), b = lines(new)
        let ops = edits(a, b)
        var out = "--- \(oldLabel)\n+++ \(newLabel)\n"
        for hunk in hunks(ops, context: context) {
            let (oldStart, oldCount, newStart, newCount) = hunk.ranges
            out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
            for op in ops[hunk.range] {
                let (mark, line): (Character, Line)
                switch op {
                case .same(let l, _, _): (mark, line) = (" ", l)
                case .removed(let l, _): (mark, line) = ("-", l)
                case .added(let l, _): (mark, line) = ("+", l)
                }
                out.append(mark)
                out += line.text
                out += line.newline ? "\n" : "\n\\ No newline at end of file\n"
            }
        }
        return out
    }

    /// `start,count` as diff writes it: `start` alone for one line, the line before for none.
    static func range(_ start: Int, _ count: Int) -> String {
        switch count {
        case 0: return "\(start - 1),0"
        case 1: return "\(start)"
        default: return "\(start),\(count)"
        }
    }

    static func lines(_ text: String) -> [Line] {
        var parts = text.split(separator: "\n", omittingEmptySubsequences: false)
        let endsWithNewline = parts.last == ""
        if endsWithNewline { parts.removeLast() }
        return parts.enumerated().map { i, p in Line(text: p, newline: i < parts.count - 1 || endsWithNewline) }
    }

    /// One step of the edit script; the indices are 1-based line numbers in the old and new text.
    enum Op {
        case same(Line, old: Int, new: Int)
        case removed(Line, old: Int)
        case added(Line, new: Int)
    }

    static func edits(_ a: [Line], _ b: [Line]) -> [Op] {
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let oldMiddle = a[head..<(a.count - tail)], newMiddle = b[head..<(b.count - tail)]
        var removed = Set<Int>(), inserted = Set<Int>()
        if oldMiddle.count * newMiddle.count <= maxMiddleProduct {
            for change in Array(newMiddle).difference(from: Array(oldMiddle)) {
                switch change {
                case .remove(let offset, _, _): removed.insert(head + offset)
                case .insert(let offset, _, _): inserted.insert(head + offset)
                }
            }
        } else {
            removed = Set(oldMiddle.indices)
            inserted = Set(newMiddle.indices)
        }
        var ops: [Op] = []
        ops.reserveCapacity(max(a.count, b.count) + removed.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) {
                ops.append(.removed(a[i], old: i + 1)); i += 1
            } else if j < b.count, inserted.contains(j) {
                ops.append(.added(b[j], new: j + 1)); j += 1
            } else {
                ops.append(.same(a[i], old: i + 1, new: j + 1)); i += 1; j += 1
            }
        }
        return ops
    }

    /// A run of the edit script shown as one `@@` block.
    struct Hunk {
        var range: Range<Int>
        var ranges: (oldStart: Int, oldCount: Int, newStart: Int, newCount: Int)
    }

    /// Changes with `context` lines around them; changes closer than twice the context share a hunk.
    static func hunks(_ ops: [Op], context: Int) -> [Hunk] {
        let changed = ops.indices.filter { if case .same = ops[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return [] }
        var groups: [Range<Int>] = []
        var start = max(0, changed[0] - context), end = min(ops.count, changed[0] + context + 1)
        for c in changed.dropFirst() {
            if c - context <= end {
                end = min(ops.count, c + context + 1)
            } else {
                groups.append(start..<end)
                start = c - context
                end = min(ops.count, c + context + 1)
            }
        }
        groups.append(start..<end)
        return groups.map { r in
            // Line numbers: the first old (new) line of the hunk, else the one after the last before it.
            var oldStart: Int?, newStart: Int?, oldCount = 0, newCount = 0
            for op in ops[r] {
                switch op {
                case .same(_, let o, let n):
                    oldStart = oldStart ?? o; newStart = newStart ?? n; oldCount += 1; newCount += 1
                case .removed(_, let o): oldStart = oldStart ?? o; oldCount += 1
                case .added(_, let n): newStart = newStart ?? n; newCount += 1
                }
            }
            return Hunk(range: r, ranges: (oldStart ?? next(ops, before: r.lowerBound, old: true),
                                           oldCount, newStart ?? next(ops, before: r.lowerBound, old: false), newCount))
        }
    }

    /// The line number after the last old (or new) line before position `index` of the script (1 when none).
    private static func next(_ ops: [Op], before index: Int, old: Bool) -> Int {
        var n = 0
        for op in ops[..<index] {
            switch op {
            case .same(_, let o, let nw): n = old ? o : nw
            case .removed(_, let o): if old { n = o }
            case .added(_, let nw): if !old { n = nw }
            }
        }
        return n + 1
    }
}
