import OttoCore

/// Reads a resource's attributes for a provider, failing with the provider's error `code` and a message that names the
/// resource, the attribute and (for references not resolved yet) why it is unknown.
struct AttributeReader: Sendable {
    /// The error code, e.g. `provider.aws.attribute`.
    let code: String

    /// A non-empty string attribute.
    func string(_ attributes: [String: Value], _ key: String, of address: ResourceAddress) throws -> String {
        guard let value = attributes[key]?.stringValue, !value.isEmpty else {
            throw OttoError(code, "\(address): attribute '\(key)' must be a non-empty string\(Self.unknownHint(attributes[key]))")
        }
        return value
    }

    /// A string attribute that may be absent, null or empty (nil).
    func optionalString(_ attributes: [String: Value], _ key: String, of address: ResourceAddress) throws -> String? {
        switch attributes[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        case let other?:
            throw OttoError(code, "\(address): attribute '\(key)' must be a string, got \(other)\(Self.unknownHint(other))")
        }
    }

    /// A list of strings (absent or null: empty).
    func strings(_ attributes: [String: Value], _ key: String, of address: ResourceAddress) throws -> [String] {
        switch attributes[key] {
        case nil, .null?: return []
        case .list(let list)?:
            return try list.map {
                guard let text = $0.stringValue else {
                    throw OttoError(code, "\(address): every element of '\(key)' must be a string, got \($0)\(Self.unknownHint($0))")
                }
                return text
            }
        case let other?:
            throw OttoError(code, "\(address): attribute '\(key)' must be a list of strings, got \(other)")
        }
    }

    private static func unknownHint(_ value: Value?) -> String {
        guard let value, !value.isFullyKnown else { return "" }
        return " (it is still unknown: what it refers to was not created)"
    }
}
