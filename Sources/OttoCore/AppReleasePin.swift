import Foundation

/// An app held on an earlier build by `otto rollback` or `otto release`: desired state kept in the state database
/// (an ``APIItem`` of kind `release`, named `SITE/APP`) that overrides the site's `version:` and bundle, until the
/// site's own version or bundle changes.
///
/// A pin names the build by digest; the machines keep it (`keep:`) and the deploy copies it from there, so a rollback
/// uploads nothing. It applies only while the site says what it said when the pin was made (`overVersion`,
/// `overDigest`): releasing a new build in YAML ends the pin by itself.
public struct AppReleasePin: Sendable, Hashable, Codable {
    /// The version deployed.
    public var version: String
    /// The bundle's sha256, which a kept release on the machines must have.
    public var digest: String
    /// The release (ledger number) whose build this is.
    public var release: Int
    /// True for `otto rollback` (the ledger records the release as a rollback of `release`).
    public var rollback: Bool
    /// Why, for the ledger (`otto rollback to release 2`).
    public var reason: String
    /// The site's `version:` when the pin was made.
    public var overVersion: String
    /// The digest of the site's bundle when the pin was made.
    public var overDigest: String
    /// Where the build can be downloaded (an artifact's https URL), for machines that do not keep it; nil: from the
    /// machines' kept releases or otto's bundle store (`.otto/bundles`).
    public var bundleURL: String?

    /// Creates a pin.
    public init(version: String, digest: String, release: Int, rollback: Bool, reason: String, overVersion: String, overDigest: String,
                bundleURL: String? = nil) {
        self.version = version
        self.digest = digest
        self.release = release
        self.rollback = rollback
        self.reason = reason
        self.overVersion = overVersion
        self.overDigest = overDigest
        self.bundleURL = bundleURL
    }

    enum CodingKeys: String, CodingKey {
        case version, digest, release, rollback, reason
        case overVersion = "over_version", overDigest = "over_digest", bundleURL = "bundle_url"
    }

    /// The API item's name for the app `app` of site `site`.
    public static func itemName(site: String, app: String) -> String { site + "/" + app }

    /// The item keeping this pin for the app `app` of site `site`.
    public func item(site: String, app: String) throws -> APIItem {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return APIItem(key: APIItemKey(.release, Self.itemName(site: site, app: app)),
                       document: String(decoding: try enc.encode(self), as: UTF8.self))
    }

    /// The pin an item of kind `release` keeps.
    public init(item: APIItem) throws {
        self = try JSONDecoder().decode(AppReleasePin.self, from: Data(item.document.utf8))
    }
}
