import Foundation

/// EC2 Query API answers read and edited as text: every byte not edited stays as it was (no parse and re-serialise).
///
/// The scan knows elements, attributes (skipped), self-closing tags, comments, processing instructions and CDATA;
/// that is all EC2's (and moto's) answers use.
enum EC2AnswerText {
    /// An instance of an answer: an `<item>` of an `<instancesSet>` (RunInstances, DescribeInstances).
    struct Instance: Sendable, Hashable {
        /// Its `instanceId`.
        var id: String
        /// Its `imageId`, if the answer gives it.
        var imageID: String?
        /// Its address elements (`ipAddress`, `privateIpAddress`, `publicIp`), at any depth below the item: the
        /// instance's own and those of its network interfaces.
        var addresses: [Element]
    }

    /// Where one element is in the answer's bytes.
    struct Element: Sendable, Hashable {
        /// Its local name.
        var name: String
        /// From its `<` to the end of its end tag (or of the self-closing tag).
        var whole: Range<Int>
        /// Its content (empty for a self-closing tag).
        var content: Range<Int>
        /// True for `<name/>`.
        var selfClosing: Bool
    }

    /// The elements holding an instance's IPv4 addresses.
    static let addressElements: Set<String> = ["ipAddress", "privateIpAddress", "publicIp"]

    /// The instances of an answer, in document order.
    static func instances(in bytes: [UInt8]) -> [Instance] {
        var found: [Instance] = []
        var stack: [(name: String, start: Int, contentStart: Int)] = []
        // The open instance item: its depth in the stack, and what was read of it so far.
        var current: (depth: Int, id: String?, image: String?, addresses: [Element])?
        scan(bytes) { event in
            switch event {
            case .open(let name, let start, let contentStart):
                if name == "item", current == nil, stack.last?.name == "instancesSet" {
                    current = (stack.count, nil, nil, [])
                }
                stack.append((name, start, contentStart))
            case .empty(let name, let range):
                if current != nil, addressElements.contains(name) {
                    current?.addresses.append(Element(name: name, whole: range, content: range.upperBound..<range.upperBound, selfClosing: true))
                }
            case .close(let name, let contentEnd, let end):
                guard let open = stack.popLast(), open.name == name else { return false }  // not well-formed: stop
                guard let item = current else { return true }
                let content = open.contentStart..<contentEnd
                if stack.count == item.depth {
                    if let id = item.id { found.append(Instance(id: id, imageID: item.image, addresses: item.addresses)) }
                    current = nil
                } else if stack.count == item.depth + 1, name == "instanceId" {
                    current?.id = text(bytes, content)
                } else if stack.count == item.depth + 1, name == "imageId" {
                    current?.image = text(bytes, content)
                } else if addressElements.contains(name) {
                    current?.addresses.append(Element(name: name, whole: open.start..<end, content: content, selfClosing: false))
                }
            }
            return true
        }
        return found
    }

    /// The text of the first element named `name` (at any depth), if any: `imageId` of a CreateImage answer.
    static func firstText(_ name: String, in bytes: [UInt8]) -> String? {
        var stack: [(name: String, contentStart: Int)] = []
        var result: String?
        scan(bytes) { event in
            switch event {
            case .open(let open, _, let contentStart):
                stack.append((open, contentStart))
            case .empty(let empty, _):
                if empty == name {
                    result = ""
                    return false
                }
            case .close(let close, let contentEnd, _):
                guard let open = stack.popLast(), open.name == close else { return false }
                if close == name {
                    result = text(bytes, open.contentStart..<contentEnd)
                    return false
                }
            }
            return true
        }
        return result
    }

    /// The answer with each instance's addresses set to `addresses[id]`, and removed for instances without one (no
    /// machine: nothing must connect to the emulator's made-up addresses). Everything else is kept byte for byte.
    static func rewritingAddresses(_ bytes: [UInt8], _ addresses: [String: String]) -> [UInt8] {
        var edits: [(range: Range<Int>, replacement: [UInt8])] = []
        for instance in instances(in: bytes) {
            let address = addresses[instance.id]
            for element in instance.addresses {
                switch (address, element.selfClosing) {
                case (let address?, false):
                    edits.append((element.content, Array(escape(address).utf8)))
                case (let address?, true):
                    edits.append((element.whole, Array("<\(element.name)>\(escape(address))</\(element.name)>".utf8)))
                case (nil, _):
                    edits.append((element.whole, []))
                }
            }
        }
        guard !edits.isEmpty else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var position = 0
        for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where edit.range.lowerBound >= position {
            out += bytes[position..<edit.range.lowerBound]
            out += edit.replacement
            position = edit.range.upperBound
        }
        out += bytes[position...]
        return out
    }

    // MARK: Scanning

    enum Event {
        /// `<name …>`: where the `<` is and where the content starts.
        case open(String, start: Int, contentStart: Int)
        /// `<name …/>`, from `<` to past `>`.
        case empty(String, Range<Int>)
        /// `</name>`: where the content ends (the `<` of the end tag) and past its `>`.
        case close(String, contentEnd: Int, end: Int)
    }

    /// Calls `visit` for each tag in document order until it returns false or the text ends.
    static func scan(_ bytes: [UInt8], _ visit: (Event) -> Bool) {
        var i = 0
        let n = bytes.count
        func find(_ pattern: StaticString, from start: Int) -> Int? {
            var j = start
            while j < n {
                if starts(bytes, at: j, pattern) { return j }
                j += 1
            }
            return nil
        }
        while i < n {
            guard bytes[i] == UInt8(ascii: "<") else {
                i += 1
                continue
            }
            let start = i
            if starts(bytes, at: i, "<?") {
                guard let end = find("?>", from: i + 2) else { return }
                i = end + 2
            } else if starts(bytes, at: i, "<!--") {
                guard let end = find("-->", from: i + 4) else { return }
                i = end + 3
            } else if starts(bytes, at: i, "<![CDATA[") {
                guard let end = find("]]>", from: i + 9) else { return }
                i = end + 3
            } else if starts(bytes, at: i, "<!") {
                guard let end = find(">", from: i + 2) else { return }
                i = end + 1
            } else if starts(bytes, at: i, "</") {
                guard let end = find(">", from: i + 2) else { return }
                let name = localName(bytes, from: i + 2, to: end)
                i = end + 1
                if !visit(.close(name, contentEnd: start, end: i)) { return }
            } else {
                // A start tag: find its `>` outside quoted attribute values.
                var j = i + 1
                var quote: UInt8?
                while j < n {
                    let c = bytes[j]
                    if let q = quote {
                        if c == q { quote = nil }
                    } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                        quote = c
                    } else if c == UInt8(ascii: ">") {
                        break
                    }
                    j += 1
                }
                guard j < n else { return }
                let selfClosing = bytes[j - 1] == UInt8(ascii: "/")
                let name = localName(bytes, from: i + 1, to: selfClosing ? j - 1 : j)
                i = j + 1
                if !visit(selfClosing ? .empty(name, start..<i) : .open(name, start: start, contentStart: i)) { return }
            }
        }
    }

    private static func starts(_ bytes: [UInt8], at index: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return prefix.withUTF8Buffer { p in
            for k in 0..<count where bytes[index + k] != p[k] { return false }
            return true
        }
    }

    /// The tag's name without attributes and namespace prefix.
    private static func localName(_ bytes: [UInt8], from start: Int, to end: Int) -> String {
        var j = start
        while j < end, ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "/")].contains(bytes[j]) { j += 1 }
        let qualified = String(decoding: bytes[start..<j], as: UTF8.self)
        return qualified.split(separator: ":").last.map(String.init) ?? qualified
    }

    /// Element text with the five predefined entities decoded (ids and addresses never hold others).
    private static func text(_ bytes: [UInt8], _ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
