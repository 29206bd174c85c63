/// One provider's settings as plain values (an inventory `providers:` entry without its `type`), with its name and
/// where it was declared: what a provider reads its typed settings from, so providers never see configuration types.
/// The configuration layer produces it; the CLI hands it to the provider it builds.
public struct ProviderSettingValues: Sendable, Hashable {
    /// The provider's name (its key under `providers:`).
    public var name: String
    /// Every setting as written, by key.
    public var values: [String: Value]
    /// Where the provider is declared.
    public var location: SourceLocation

    /// Creates the settings of provider `name`.
    public init(name: String, values: [String: Value] = [:], location: SourceLocation) {
        self.name = name
        self.values = values
        self.location = location
    }

    /// How a message about one of these settings starts: `inventory/do.yml:3:5: provider `do``.
    public var place: String { "\(location): provider `\(name)`" }

    /// A setting, nil when absent.
    public subscript(key: String) -> Value? { values[key] }
}
