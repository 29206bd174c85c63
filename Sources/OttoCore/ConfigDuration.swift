/// A duration written like `500ms`, `2s`, `5m`, `1h` or `1h30m` (units `ms`, `s`, `m`, `h`, `d`).
/// Durations written in configuration (`timeout: 30s`, `every: 5m`) and read by providers and the walker.
public struct ConfigDuration: Sendable, Hashable, CustomStringConvertible {
    /// Length in milliseconds.
    public var milliseconds: Int
    /// The text as written.
    public var text: String

    /// Parses the text; nil for anything else (no sign, no bare numbers, each unit at most once, largest first).
    public init?(parsing text: String) {
        let units: [(String, Int)] = [("d", 86_400_000), ("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1000)]
        let order = ["d": 0, "h": 1, "m": 2, "s": 3, "ms": 4]
        var rest = Substring(text)
        var total = 0
        var lastRank = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let n = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            let rank = order[unit]!
            guard rank > lastRank else { return nil }
            lastRank = rank
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = n.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !sumOverflow else { return nil }
            total = sum
        }
        self.milliseconds = total
        self.text = text
    }

    /// As a Swift `Duration`.
    public var duration: Duration { .milliseconds(milliseconds) }
    /// Whole seconds (rounded down).
    public var seconds: Int { milliseconds / 1000 }
    public var description: String { text }
}
