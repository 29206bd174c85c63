/// A fleet unit's name taken apart as fleet did (`unit.NewUnitNameInfo`): `web@1.service` has the prefix `web`, the
/// instance `1`, the type `service`; `web@.service` is a template.
public struct FleetUnitName: Sendable, Hashable, CustomStringConvertible {
    /// The whole name, `web@1.service` (fleet's `%n`).
    public let full: String
    /// The name without its type suffix, `web@1` (`%N`).
    public let base: String
    /// The part before `@`, or the whole base without one (`%p`).
    public let prefix: String
    /// The part after `@` (`%i`); nil for a unit that is no template instance.
    public let instance: String?
    /// The type, `service`, `socket`, `timer`, ...
    public let type: String

    /// The unit types systemd knows (fleet refused other suffixes).
    public static let types: Set<String> = ["service", "socket", "device", "mount", "automount", "swap", "target", "path", "timer",
                                            "slice", "scope"]

    /// Parses a name; nil when it has no known type suffix or contains characters systemd does not allow.
    public init?(_ name: String) {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let type = String(name[name.index(after: dot)...])
        let base = String(name[..<dot])
        guard Self.types.contains(type), !base.isEmpty, name.count <= 255,
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ":-_.\\@".contains($0)) }) else { return nil }
        let parts = base.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard !parts[0].isEmpty, !(parts.count == 2 && parts[1].contains("@")) else { return nil }
        self.full = name
        self.base = base
        self.type = type
        self.prefix = String(parts[0])
        self.instance = parts.count == 2 ? String(parts[1]) : nil
    }

    /// True for `web@.service`: stored, instantiated, never run itself.
    public var isTemplate: Bool { instance == "" }
    /// True for `web@1.service`.
    public var isInstance: Bool { instance.map { !$0.isEmpty } ?? false }
    /// The template an instance comes from (`web@.service`).
    public var template: String? { isInstance ? "\(prefix)@.\(type)" : nil }

    /// The instance `name` of this template (`web@.service` → `web@name.service`).
    public func instance(_ name: String) -> FleetUnitName? { isTemplate ? FleetUnitName("\(prefix)@\(name).\(type)") : nil }

    /// `text` with fleet's specifiers expanded: `%n` the full name, `%N` the name without type, `%p` the prefix, `%i`
    /// the instance, `%%` a percent sign; any other `%x` stays as it is.
    public func expandSpecifiers(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var out = ""
        var it = text.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let n = it.next() else { out.append("%"); break }
            switch n {
            case "n": out += full
            case "N": out += base
            case "p": out += prefix
            case "i": out += instance ?? ""
            case "%": out += "%"
            default: out.append("%"); out.append(n)
            }
        }
        return out
    }

    public var description: String { full }
}
