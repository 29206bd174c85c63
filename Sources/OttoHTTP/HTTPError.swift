import Foundation

/// A failed HTTP exchange: a stable code, the status when there was one, the URL (without query string or
/// credentials) and the server's own message. Request headers never appear in it (they carry API keys).
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// Stable code: `http.status`, `http.timeout`, `http.connect`, `http.transport`, `http.request`.
    public var code: String
    /// The response status, for `http.status`.
    public var status: Int?
    /// The method of the failed request.
    public var method: String
    /// The URL without query string, fragment or credentials.
    public var url: String
    /// The server's message (from a JSON `error`/`message`/`errors` field, or the start of a text body), or the
    /// transport's description of what went wrong.
    public var message: String
    /// How many attempts were made.
    public var attempts: Int

    /// Creates an error; `url` is redacted here.
    public init(code: String, status: Int? = nil, method: String, url: String, message: String, attempts: Int = 1) {
        self.code = code
        self.status = status
        self.method = method
        self.url = HTTPError.redact(url)
        self.message = message
        self.attempts = attempts
    }

    public var description: String {
        var text = "\(method) \(url)"
        if let status { text += ": HTTP \(status)" } else { text += ": \(code)" }
        if !message.isEmpty { text += ": \(message)" }
        if attempts > 1 { text += " (after \(attempts) attempts)" }
        return text
    }

    /// The URL without query string, fragment, user or password.
    public static func redact(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else {
            // Not parseable: keep only what precedes any query or fragment, and drop userinfo.
            var base = String(url.prefix { $0 != "?" && $0 != "#" })
            if let scheme = base.range(of: "://"), let at = base[scheme.upperBound...].firstIndex(of: "@") {
                base.removeSubrange(scheme.upperBound...at)
            }
            return base
        }
        parts.query = nil
        parts.fragment = nil
        parts.user = nil
        parts.password = nil
        return parts.string ?? url
    }

    /// The server's own message from a response body: a JSON object's `error`, `message` or `errors` field, an XML
    /// error's `CODE: MESSAGE` (AWS's `<Code>` and `<Message>`), or the first 500 characters of a text body.
    public static func serverMessage(from body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        if let xml = xmlErrorMessage(body) { return xml }
        if let json = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) {
            if let object = json as? [String: Any] {
                for key in ["error", "message", "errors", "detail", "error_description"] {
                    if let value = object[key], let text = render(value), !text.isEmpty { return String(text.prefix(500)) }
                }
            } else if let text = json as? String {
                return String(text.prefix(500))
            }
        }
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return String(text.prefix(500))
    }

    /// `CODE: MESSAGE` from the first `<Code>` and `<Message>` elements of an XML body (AWS's error documents:
    /// `<Response><Errors><Error>…` for EC2, `<ErrorResponse><Error>…` for Route53), read with `XMLTree`; nil when
    /// the body is not well-formed XML or has no `<Code>`.
    static func xmlErrorMessage(_ body: [UInt8]) -> String? {
        guard body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "<"),
              let root = try? XMLTree.parse(body) else { return nil }
        func element(_ name: String) -> String? {
            root.first(named: name)?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let code = element("Code"), !code.isEmpty else { return nil }
        let message = element("Message") ?? ""
        return String((message.isEmpty ? code : "\(code): \(message)").prefix(500))
    }

    private static func render(_ value: Any) -> String? {
        switch value {
        case let text as String: return text
        case let list as [Any]: return list.compactMap(render).joined(separator: "; ")
        case let object as [String: Any]:
            for key in ["message", "error", "detail", "msg"] {
                if let inner = object[key], let text = render(inner) { return text }
            }
            return nil
        case let number as NSNumber: return number.stringValue
        default: return nil
        }
    }
}
