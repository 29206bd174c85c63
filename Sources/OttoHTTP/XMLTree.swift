/// One element of an XML document and everything inside it: a name, child elements and text.
///
/// The one XML reader of the project (AWS's responses and the error documents `HTTPError` reads). A small parser of
/// our own instead of FoundationXML (which would link libxml2 into otto): the documents it reads use elements, text,
/// the five predefined entities, character references, an XML declaration and namespaces in attributes, and nothing
/// else. Attributes are read but ignored, comments, processing instructions and DOCTYPEs are skipped, CDATA is text.
public struct XMLTree: Sendable, Hashable {
    /// The element's name without namespace prefix (`DescribeInstancesResponse`).
    public var name: String
    /// Child elements in document order.
    public var children: [XMLTree] = []
    /// The element's own text (concatenated, entities resolved, not trimmed).
    public var text: String = ""

    /// Creates an element.
    public init(name: String, children: [XMLTree] = [], text: String = "") {
        self.name = name
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }

    /// Every child named `name`.
    public func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// The element reached by following `path` through first children.
    public func find(_ path: String...) -> XMLTree? {
        var node: XMLTree? = self
        for step in path { node = node?.child(step) }
        return node
    }

    /// The trimmed text of the element at `path`; nil when it is missing or empty.
    public func string(_ path: String...) -> String? {
        var node: XMLTree? = self
        for step in path { node = node?.child(step) }
        guard let text = node?.text.trimmingXMLSpace(), !text.isEmpty else { return nil }
        return text
    }

    /// The first element named `name` at any depth, in document order (this element included).
    public func first(named name: String) -> XMLTree? {
        if self.name == name { return self }
        for child in children { if let found = child.first(named: name) { return found } }
        return nil
    }

    /// Parses a document and returns its root element.
    ///
    /// - Throws: `XMLSyntaxError` when the bytes are not a document of the kind described above.
    public static func parse(_ bytes: [UInt8]) throws -> XMLTree {
        var parser = XMLScanner(bytes)
        return try parser.document()
    }
}

extension String {
    /// The string without leading and trailing XML white space.
    public func trimmingXMLSpace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}

/// A malformed XML document.
public struct XMLSyntaxError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and where (byte offset).
    public var description: String
}

/// Recursive-descent scanner over the document's bytes.
private struct XMLScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws -> XMLTree {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        while true {
            skipSpace()
            guard index < bytes.count else { throw XMLSyntaxError(description: "no root element") }
            if starts("<?") || starts("<!--") || starts("<!") {
                try skipMarkup()
            } else if bytes[index] == UInt8(ascii: "<") {
                return try element()
            } else {
                throw fail("text before the root element")
            }
        }
    }

    mutating func element() throws -> XMLTree {
        index += 1  // <
        let name = readName()
        guard !name.isEmpty else { throw fail("an element without a name") }
        // Attributes: skipped, but quoted values may contain '>' or '/'.
        while true {
            skipSpace()
            guard index < bytes.count else { throw fail("unterminated start tag <\(name)") }
            if starts("/>") {
                index += 2
                return XMLTree(name: Self.local(name))
            }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            _ = readName()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("attribute without a value in <\(name)") }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                throw fail("unquoted attribute value in <\(name)")
            }
            let quote = bytes[index]
            index += 1
            while index < bytes.count, bytes[index] != quote { index += 1 }
            index += 1
        }
        var node = XMLTree(name: Self.local(name))
        var text: [UInt8] = []
        while true {
            guard index < bytes.count else { throw fail("unterminated element <\(name)>") }
            if starts("</") {
                index += 2
                let closing = readName()
                guard closing == name else { throw fail("</\(closing)> closes <\(name)>") }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw fail("malformed end tag </\(closing)") }
                index += 1
                node.text = String(decoding: text, as: UTF8.self)
                return node
            } else if starts("<![CDATA[") {
                index += 9
                while index < bytes.count, !starts("]]>") {
                    text.append(bytes[index])
                    index += 1
                }
                index += 3
            } else if starts("<?") || starts("<!--") {
                try skipMarkup()
            } else if bytes[index] == UInt8(ascii: "<") {
                node.children.append(try element())
            } else if bytes[index] == UInt8(ascii: "&") {
                text.append(contentsOf: try entity())
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
    }

    /// `&name;` or `&#N;` / `&#xH;` as UTF-8.
    mutating func entity() throws -> [UInt8] {
        let start = index
        while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - start < 12 { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else { throw fail("unterminated entity reference") }
        let body = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
        index += 1
        switch body {
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "amp": return [UInt8(ascii: "&")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            var value: UInt32?
            if body.hasPrefix("#x") || body.hasPrefix("#X") { value = UInt32(body.dropFirst(2), radix: 16) }
            else if body.hasPrefix("#") { value = UInt32(body.dropFirst(), radix: 10) }
            guard let value, let scalar = Unicode.Scalar(value) else { throw fail("unknown entity &\(body);") }
            return Array(String(Character(scalar)).utf8)
        }
    }

    /// Skips `<?…?>`, `<!--…-->` and `<!…>`.
    mutating func skipMarkup() throws {
        let end: String
        if starts("<?") { end = "?>" } else if starts("<!--") { end = "-->" } else { end = ">" }
        while index < bytes.count, !starts(end) { index += 1 }
        guard index < bytes.count else { throw fail("unterminated markup") }
        index += end.utf8.count
    }

    mutating func readName() -> String {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
                || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") { break }
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    func starts(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard index + utf8.count <= bytes.count else { return false }
        return bytes[index..<(index + utf8.count)].elementsEqual(utf8)
    }

    func fail(_ what: String) -> XMLSyntaxError { XMLSyntaxError(description: "malformed XML at byte \(index): \(what)") }

    /// `ns:Name` → `Name`.
    static func local(_ name: String) -> String {
        guard let colon = name.lastIndex(of: ":") else { return name }
        return String(name[name.index(after: colon)...])
    }
}
