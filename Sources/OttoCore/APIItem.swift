import Foundation

/// What an item of desired state created over the HTTP API is (`source=api`).
public enum APIItemKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// An inventory host (`/inv/{item}`): the document is a host mapping as in inventory YAML.
    case host
    /// A zone's nameservers (`/dom/ns/{domain}`): the document is `{"nameservers": [...]}`.
    case nameservers
    /// A zone's records (`/dom/dns/{domain}`): the document is `{"ttl": N, "records": [...]}` as in a site's `dns:`.
    case records
    /// The release an app is pinned to by `otto rollback` or `otto release` (`/apps/{site}/{app}/release`), named
    /// `SITE/APP`: the document is an ``AppReleasePin``.
    case release

    /// The HTTP path an item of this kind lives at, which is also the file name of its synthetic locations
    /// (`api:/inv/web1`, `api:/dom/ns/example.com`, `api:/dom/dns/example.com`).
    public func path(_ name: String) -> String {
        switch self {
        case .host: return "/inv/" + name
        case .nameservers: return "/dom/ns/" + name
        case .records: return "/dom/dns/" + name
        case .release: return "/apps/" + name + "/release"
        }
    }
}

/// Identifies one API item: its kind and name (a host name, or a domain without trailing dot).
public struct APIItemKey: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    /// The kind.
    public var kind: APIItemKind
    /// The host name or domain.
    public var name: String

    /// Creates a key.
    public init(_ kind: APIItemKind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    /// `api:/inv/web1`: the file part of every location inside the item's document.
    public var file: String { SourceLocation.apiPrefix + kind.path(name) }

    /// `host web1`
    public var description: String { "\(kind.rawValue) \(name)" }

    public static func < (a: APIItemKey, b: APIItemKey) -> Bool { (a.kind.rawValue, a.name) < (b.kind.rawValue, b.name) }
}

/// One item of desired state written over the HTTP API and kept in the state database. Its `document` is JSON text,
/// read by the same configuration reader as YAML (positions in it become `api:/…:line:col` locations).
public struct APIItem: Sendable, Hashable, Codable {
    /// Kind and name.
    public var key: APIItemKey
    /// For `nameservers` and `records`: the DNS provider (an inventory provider name) that serves the zone.
    public var provider: String?
    /// The item's JSON document.
    public var document: String
    /// When it was last written.
    public var updatedAt: Date

    /// Creates an item.
    public init(key: APIItemKey, provider: String? = nil, document: String, updatedAt: Date = Date()) {
        self.key = key
        self.provider = provider
        self.document = document
        self.updatedAt = updatedAt
    }
}

extension SourceLocation {
    /// The file prefix of locations inside API items (`api:/inv/web1:1:1`).
    public static let apiPrefix = "api:"

    /// True for a location inside an item written over the HTTP API.
    public var isAPI: Bool { file.hasPrefix(Self.apiPrefix) }
}

/// Where a desired resource comes from.
public enum ResourceSource: String, Sendable, Hashable, Codable {
    /// The YAML files under the project root.
    case yaml
    /// Desired state written over the HTTP API and kept in the state database.
    case api
}

extension Resource {
    /// `api` when the resource was declared by an item written over the HTTP API, `yaml` otherwise.
    public var source: ResourceSource { location?.isAPI == true ? .api : .yaml }
}
