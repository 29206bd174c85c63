import OttoHTTP

/// The parameters of one EC2 Query API call, in the order they were added, with the API's list conventions
/// (`Name.1`, `Filter.1.Value.2`, `TagSpecification.1.Tag.1.Key`).
struct EC2Query: Sendable {
    private(set) var pairs: [(String, String)] = []
    private var filters = 0
    private var tagSpecifications = 0

    /// `name=value`.
    mutating func set(_ name: String, _ value: String) { pairs.append((name, value)) }

    /// `prefix.1=…&prefix.2=…`.
    mutating func list(_ prefix: String, _ values: [String]) {
        for (index, value) in values.enumerated() { pairs.append(("\(prefix).\(index + 1)", value)) }
    }

    /// One `Filter.N` with its values (filters with different names are ANDed, values of one filter ORed).
    mutating func filter(_ name: String, _ values: [String]) {
        filters += 1
        pairs.append(("Filter.\(filters).Name", name))
        list("Filter.\(filters).Value", values)
    }

    /// One `TagSpecification.N` for resources of `resourceType` (`instance`, `key-pair`, `security-group`).
    mutating func tags(for resourceType: String, _ tags: [(String, String)]) {
        guard !tags.isEmpty else { return }
        tagSpecifications += 1
        let prefix = "TagSpecification.\(tagSpecifications)"
        pairs.append(("\(prefix).ResourceType", resourceType))
        for (index, (key, value)) in tags.enumerated() {
            pairs.append(("\(prefix).Tag.\(index + 1).Key", key))
            pairs.append(("\(prefix).Tag.\(index + 1).Value", value))
        }
    }

    /// The form-encoded body for `action` (RFC 3986 encoding, so the signature's canonical form matches).
    func body(action: String, version: String) -> String {
        ([("Action", action), ("Version", version)] + pairs)
            .map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }
            .joined(separator: "&")
    }
}
