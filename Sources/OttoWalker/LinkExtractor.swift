/// A link found in an HTML document.
public struct ExtractedLink: Sendable, Hashable {
    /// What a link points at, by the element it came from.
    public enum Role: Sendable, Hashable {
        /// A document (`a`, `area`, `iframe`, `frame`, `link rel=canonical|alternate|next…`): followed on the site.
        case page
        /// A subresource (`img`, `script`, `source`, `link rel=stylesheet|icon|preload|manifest…`): only checked.
        case resource
    }

    /// The absolute URL, in `WalkURL` normal form.
    public var url: WalkURL
    /// What it points at.
    public var role: Role
}

/// Finds the links of an HTML document in one pass over its bytes: `href` of `a`, `area` and `link`; `src` of
/// `img`, `script`, `iframe`, `frame` and `source`; honours `<base href>`; skips comments, `<script>`/`<style>`
/// contents and declarations; decodes character references in attribute values. Links are resolved against the
/// document URL, fragments stripped, de-duplicated (first occurrence wins, a page role wins over a resource role),
/// and kept in document order; non-http(s) links (`mailto:`, `javascript:`, `tel:`, `data:`…) are dropped, as are
/// `link rel=preconnect|dns-prefetch` (origins, not documents).
///
/// Not a full HTML5 parser: it reads well-formed and typical real-world markup, which is what link checking needs.
public enum LinkExtractor {
    /// The links of `html`, a document fetched from `url`.
    public static func links(in html: [UInt8], documentURL url: WalkURL) -> [ExtractedLink] {
        var scanner = Scanner(bytes: html)
        var base = url
        var out: [ExtractedLink] = []
        var index: [WalkURL: Int] = [:]
        scanner.scan { tag, attributes in
            switch tag {
            case "base":
                if let href = attributes["href"], let resolved = url.resolve(href) { base = resolved }
                return
            default: break
            }
            guard let (value, role) = reference(tag: tag, attributes: attributes), let resolved = base.resolve(value) else { return }
            if let existing = index[resolved] {
                if role == .page { out[existing].role = .page }
                return
            }
            index[resolved] = out.count
            out.append(ExtractedLink(url: resolved, role: role))
        }
        return out
    }

    /// The URL attribute an element links through, and the role of what it links to.
    static func reference(tag: String, attributes: [String: String]) -> (String, ExtractedLink.Role)? {
        switch tag {
        case "a", "area":
            return attributes["href"].map { ($0, .page) }
        case "iframe", "frame":
            return attributes["src"].map { ($0, .page) }
        case "img", "script", "source", "embed":
            return attributes["src"].map { ($0, .resource) }
        case "link":
            guard let href = attributes["href"] else { return nil }
            let rel = Set((attributes["rel"] ?? "").lowercased().split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            if !rel.isDisjoint(with: ["preconnect", "dns-prefetch"]) { return nil }
            let resource: Set<String> = ["stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "prefetch", "modulepreload", "manifest",
                                         "mask-icon"]
            return (href, rel.isDisjoint(with: resource) ? .page : .resource)
        default:
            return nil
        }
    }

    /// Tags whose attributes are read; every other tag is skipped with its attributes.
    static let interesting: Set<String> = ["a", "area", "link", "img", "script", "iframe", "frame", "source", "embed", "base"]

    /// The tokenizer: calls `visit` for every start tag in `interesting` with its attributes (names lower case,
    /// values with character references decoded).
    struct Scanner {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func scan(_ visit: (String, [String: String]) -> Void) {
            let n = bytes.count
            while i < n {
                guard let lt = nextIndex(of: UInt8(ascii: "<"), from: i) else { return }
                i = lt + 1
                guard i < n else { return }
                let c = bytes[i]
                if c == UInt8(ascii: "!") {
                    if has("!--", at: i) {
                        i = find("-->", from: i + 3).map { $0 + 3 } ?? n
                    } else {
                        i = nextIndex(of: UInt8(ascii: ">"), from: i).map { $0 + 1 } ?? n
                    }
                    continue
                }
                if c == UInt8(ascii: "?") || c == UInt8(ascii: "/") {
                    i = nextIndex(of: UInt8(ascii: ">"), from: i).map { $0 + 1 } ?? n
                    continue
                }
                guard isLetter(c) else { continue }
                let nameStart = i
                while i < n, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">"), bytes[i] != UInt8(ascii: "/") { i += 1 }
                let name = lowercased(nameStart, i)
                let wanted = LinkExtractor.interesting.contains(name)
                let (attributes, closed) = readAttributes(collect: wanted)
                if wanted, closed { visit(name, attributes) }  // a tag cut off by the end of the document is dropped, as in HTML
                if name == "script" || name == "style" || name == "textarea" || name == "title" {
                    // Raw text: nothing inside is markup, up to the matching end tag.
                    i = findEndTag(name, from: i) ?? n
                }
            }
        }

        /// Reads attributes up to and including the tag's `>`; returns them (when `collect` is set) and whether the
        /// `>` was found.
        private mutating func readAttributes(collect: Bool) -> ([String: String], Bool) {
            let n = bytes.count
            var attributes: [String: String] = [:]
            while i < n {
                while i < n, isSpace(bytes[i]) || bytes[i] == UInt8(ascii: "/") { i += 1 }
                guard i < n else { return (attributes, false) }
                if bytes[i] == UInt8(ascii: ">") {
                    i += 1
                    return (attributes, true)
                }
                let nameStart = i
                while i < n, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: "="), bytes[i] != UInt8(ascii: ">"), bytes[i] != UInt8(ascii: "/") {
                    i += 1
                }
                let nameEnd = i
                while i < n, isSpace(bytes[i]) { i += 1 }
                var value: (Int, Int)? = nil
                if i < n, bytes[i] == UInt8(ascii: "=") {
                    i += 1
                    while i < n, isSpace(bytes[i]) { i += 1 }
                    guard i < n else { return (attributes, false) }
                    let quote = bytes[i]
                    if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                        let start = i + 1
                        let end = nextIndex(of: quote, from: start) ?? n
                        value = (start, end)
                        i = min(n, end + 1)
                    } else {
                        let start = i
                        while i < n, !isSpace(bytes[i]), bytes[i] != UInt8(ascii: ">") { i += 1 }
                        value = (start, i)
                    }
                }
                if collect, nameEnd > nameStart {
                    let name = lowercased(nameStart, nameEnd)
                    if attributes[name] == nil {  // the first of a repeated attribute wins, as in HTML
                        attributes[name] = value.map { decodeReferences($0.0, $0.1) } ?? ""
                    }
                }
            }
            return (attributes, false)
        }

        private func nextIndex(of byte: UInt8, from start: Int) -> Int? {
            var j = start
            let n = bytes.count
            while j < n {
                if bytes[j] == byte { return j }
                j += 1
            }
            return nil
        }

        private func has(_ text: StaticString, at start: Int) -> Bool {
            let count = text.utf8CodeUnitCount
            guard start + count <= bytes.count else { return false }
            return text.withUTF8Buffer { pattern in
                for k in 0..<count where bytes[start + k] != pattern[k] { return false }
                return true
            }
        }

        private func find(_ text: StaticString, from start: Int) -> Int? {
            var j = start
            while let k = nextIndex(of: text.withUTF8Buffer { $0[0] }, from: j) {
                if has(text, at: k) { return k }
                j = k + 1
            }
            return nil
        }

        /// The index just past `</name ...>` (case-insensitive), or nil.
        private func findEndTag(_ name: String, from start: Int) -> Int? {
            let target = Array(name.utf8)
            var j = start
            let n = bytes.count
            while let lt = nextIndex(of: UInt8(ascii: "<"), from: j) {
                j = lt + 1
                guard j < n, bytes[j] == UInt8(ascii: "/"), lt + 2 + target.count <= n else { continue }
                var match = true
                for k in 0..<target.count where bytes[lt + 2 + k] | 0x20 != target[k] {
                    match = false
                    break
                }
                let after = lt + 2 + target.count
                if match, after == n || isSpace(bytes[after]) || bytes[after] == UInt8(ascii: ">") {
                    return nextIndex(of: UInt8(ascii: ">"), from: after).map { $0 + 1 } ?? n
                }
            }
            return nil
        }

        private func lowercased(_ start: Int, _ end: Int) -> String {
            String(decoding: bytes[start..<end].lazy.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }

        /// The attribute value `bytes[start..<end]` with `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#N;` and
        /// `&#xN;` decoded (an unknown or unterminated reference stays as written).
        private func decodeReferences(_ start: Int, _ end: Int) -> String {
            guard bytes[start..<end].contains(UInt8(ascii: "&")) else { return String(decoding: bytes[start..<end], as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(end - start)
            var j = start
            while j < end {
                let b = bytes[j]
                guard b == UInt8(ascii: "&"), let semi = bytes[j..<min(end, j + 12)].firstIndex(of: UInt8(ascii: ";")) else {
                    out.append(b)
                    j += 1
                    continue
                }
                let entity = String(decoding: bytes[(j + 1)..<semi], as: UTF8.self)
                var scalar: Unicode.Scalar? = nil
                switch entity {
                case "amp": scalar = "&"
                case "lt": scalar = "<"
                case "gt": scalar = ">"
                case "quot": scalar = "\""
                case "apos": scalar = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                    } else if entity.hasPrefix("#") {
                        scalar = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                    }
                }
                if let scalar {
                    out.append(contentsOf: String(Character(scalar)).utf8)
                    j = semi + 1
                } else {
                    out.append(b)
                    j += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }

        private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C }
        private func isLetter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
    }
}
