import Foundation

/// The parameters of an EC2 Query API call: the query string's and, for a form body
/// (`application/x-www-form-urlencoded`), the body's, in order (the body's after the query's).
struct EC2QueryForm: Sendable {
    /// Every `name=value`, decoded.
    var pairs: [(name: String, value: String)]

    /// EC2's Query API version the proxy acts on.
    static let version = "2016-11-15"

    /// Reads the query string `query` (without `?`) and `body` when `contentType` says it is a form.
    init(query: String, contentType: String?, body: [UInt8]) {
        pairs = Self.decode(query)
        if contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
            pairs += Self.decode(String(decoding: body, as: UTF8.self))
        }
    }

    /// The first value of `name`.
    subscript(_ name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// `Action`, when the call is one of EC2's (Version 2016-11-15), else nil.
    var ec2Action: String? {
        guard self["Version"] == Self.version, let action = self["Action"], !action.isEmpty else { return nil }
        return action
    }

    /// The values of a list parameter, `prefix.1`, `prefix.2`, ... in index order (`InstanceId`).
    func list(_ prefix: String) -> [String] {
        pairs.compactMap { pair -> (Int, String)? in
            guard pair.name.hasPrefix(prefix + "."), let index = Int(pair.name.dropFirst(prefix.count + 1)) else { return nil }
            return (index, pair.value)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `a=1&b=x%20y` (with `+` for a space) as pairs.
    static func decode(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { field in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let unescape = { (raw: Substring) -> String in
                let spaced = raw.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}
