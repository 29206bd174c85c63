import Foundation
import OttoCore

/// Settings given for a walker at run time (`PUT /site/walk/{site}?params=…`), applied over the site's `walk:`
/// settings (or the defaults). The keys are those of `walk:` in YAML: `every`, `depth`, `max_pages`, `allow`,
/// `start`; unknown keys are errors.
public struct WalkParameters: Sendable, Hashable {
    /// Interval between walks.
    public var every: Duration?
    /// Link depth.
    public var depth: Int?
    /// Most URLs per walk.
    public var maxPages: Int?
    /// Other hosts to follow.
    public var allow: [String]?
    /// Start URL.
    public var start: String?

    /// Creates parameters (nil leaves a setting as it was).
    public init(every: Duration? = nil, depth: Int? = nil, maxPages: Int? = nil, allow: [String]? = nil, start: String? = nil) {
        self.every = every
        self.depth = depth
        self.maxPages = maxPages
        self.allow = allow
        self.start = start
    }

    /// The keys `parse` accepts.
    public static let keys = ["every", "depth", "max_pages", "allow", "start"]

    /// Parses either a JSON object (`{"every": "10m", "depth": 2, "max_pages": 500, "allow": ["cdn.shop.test"],
    /// "start": "http://shop.test/"}`) or `key=value` pairs separated by `;` or `&`
    /// (`every=10m;depth=2;allow=cdn.shop.test,img.shop.test`; `allow` takes a comma-separated list).
    /// Durations are written as in the configuration (`500ms`, `30s`, `5m`, `1h30m`, `1d`).
    ///
    /// - Throws: `OttoError` `walk.params` naming the bad key and why.
    public static func parse(_ text: String) throws -> WalkParameters {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [(String, Any)] = []
        if trimmed.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw OttoError("walk.params", "walk parameters are not a valid JSON object", causeText: nil)
            }
            fields = object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        } else if !trimmed.isEmpty {
            for pair in trimmed.split(whereSeparator: { $0 == ";" || $0 == "&" }) {
                guard let eq = pair.firstIndex(of: "=") else {
                    throw OttoError("walk.params", "walk parameter `\(pair)` is not key=value", causeText: nil)
                }
                let key = pair[..<eq].trimmingCharacters(in: .whitespaces)
                let value = pair[pair.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                fields.append((key, key == "allow" ? value.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } as Any : value))
            }
        }
        var out = WalkParameters()
        var seen: Set<String> = []
        for (key, value) in fields {
            guard keys.contains(key) else {
                throw OttoError("walk.params", "unknown walk parameter `\(key)` (known: \(keys.joined(separator: ", ")))", causeText: nil)
            }
            guard seen.insert(key).inserted else { throw OttoError("walk.params", "walk parameter `\(key)` is given twice", causeText: nil) }
            switch key {
            case "every":
                guard let text = value as? String, let duration = parseDuration(text), duration > .zero else {
                    throw OttoError("walk.params", "walk parameter `every` must be a duration like 30s, 5m or 1h30m", causeText: nil)
                }
                out.every = duration
            case "depth":
                out.depth = try integer(value, key: key, minimum: 0)
            case "max_pages":
                out.maxPages = try integer(value, key: key, minimum: 1)
            case "allow":
                let hosts = (value as? [Any])?.compactMap { $0 as? String } ?? (value as? String).map { [$0] }
                guard let hosts, hosts.allSatisfy(isHostName) else {
                    throw OttoError("walk.params", "walk parameter `allow` must be a list of host names", causeText: nil)
                }
                out.allow = hosts.map { $0.lowercased() }
            default:  // start
                guard let text = value as? String, WalkURL(text) != nil else {
                    throw OttoError("walk.params", "walk parameter `start` must be an absolute http or https URL", causeText: nil)
                }
                out.start = text
            }
        }
        return out
    }

    /// `configuration` and `every` with these parameters applied.
    public func applied(to configuration: WalkConfiguration, every: Duration) -> (configuration: WalkConfiguration, every: Duration) {
        var c = configuration
        if let depth { c.depth = depth }
        if let maxPages { c.maxPages = maxPages }
        if let allow { c.allow = allow }
        if let start { c.start = start }
        return (c, self.every ?? every)
    }

    /// A duration as the configuration writes it: numbers with units `d`, `h`, `m`, `s`, `ms`, largest first, each
    /// once (`1h30m`); nil otherwise.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("d", 86_400_000), ("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1000)]
        let rank = ["d": 0, "h": 1, "m": 2, "s": 3, "ms": 4]
        var rest = Substring(text)
        var total: Int64 = 0
        var last = -1
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let n = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }), rank[unit]! > last else { return nil }
            last = rank[unit]!
            rest = rest.dropFirst(unit.count)
            total += n * factor
        }
        return .milliseconds(total)
    }

    private static func integer(_ value: Any, key: String, minimum: Int) throws -> Int {
        let number: Int?
        switch value {
        case let text as String: number = Int(text)
        case let n as NSNumber: number = Double(n.intValue) == n.doubleValue ? n.intValue : nil
        default: number = nil
        }
        guard let number, number >= minimum else {
            throw OttoError("walk.params", "walk parameter `\(key)` must be a whole number ≥ \(minimum)", causeText: nil)
        }
        return number
    }

    private static func isHostName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                && label.first != "-" && label.last != "-"
        }
    }
}
