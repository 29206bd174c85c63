import OttoHTTP

extension XMLTree {
    /// EC2's list shape: the `<item>` children of the child `listName` (`<tagSet><item>…`).
    func items(_ listName: String) -> [XMLTree] { child(listName)?.children("item") ?? [] }
}

/// Builds XML request bodies (Route53), escaping text.
enum XMLText {
    /// `text` with `&`, `<`, `>`, `"` and `'` escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `<name>escaped text</name>`.
    static func element(_ name: String, _ text: String) -> String { "<\(name)>\(escape(text))</\(name)>" }
}
