import OttoCore

/// A golden image in a cloud (a DigitalOcean snapshot, an EC2 AMI) that otto built from a recipe, found by the hash it
/// carries as a tag.
public struct CloudImage: Sendable, Hashable {
    /// The recipe (`images/NAME.yml`).
    public var recipe: String
    /// The recipe's content hash for this provider (`ImageIdentity`).
    public var hash: String
    /// The provider's id for it: a snapshot id, an AMI id.
    public var id: String
    /// Its name in the cloud, `otto-RECIPE-HASH12`.
    public var name: String
    /// True when it existed already (nothing was launched).
    public var cached: Bool
    /// Seconds the build took (0 when cached).
    public var seconds: Double

    /// The short hash (12 hex digits) for display.
    public var shortHash: String { String(hash.prefix(12)) }

    /// The name otto gives the image of `recipe` with `hash`.
    public static func name(recipe: String, hash: String) -> String { "otto-\(recipe)-\(hash.prefix(12))" }
}

/// An image otto finds in a cloud, as `otto images list` and `prune` see it.
public struct ListedCloudImage: Sendable, Hashable {
    /// The provider's id.
    public var id: String
    /// Its name.
    public var name: String
    /// The recipe hash it carries (nil for a half-made image that is not tagged yet).
    public var hash: String?
    /// True when it can be used (AMI `available`; snapshots always are once listed).
    public var available: Bool
}

/// A builder machine (an ordinary machine of the provider, tagged as a builder of one hash).
struct CloudBuilder: Sendable {
    /// The provider's id (droplet id, instance id).
    var id: String
    /// Where to reach it over SSH.
    var host: String
    /// Its pinned host key(s), one per line.
    var hostKey: String
    /// True once the recipe was applied and the machine cleaned (the next step is to stop it and capture it).
    var provisioned: Bool
}

/// What a cloud provider does for `CloudImageBuilder`: find, make and delete builders and images. Implemented by the
/// DigitalOcean and AWS providers.
protocol CloudImagePlatform: Sendable {
    /// The provider instance's name (for messages).
    var providerName: String { get }
    /// The first line of every recipe's canonical text for this provider (`otto-cloud-image 1 digitalocean`).
    var identityHeader: String { get }
    /// Where base recipes start (a distribution image slug, an AMI id).
    func baseImage() throws -> String
    /// The user that logs in to a new machine, and otto's private key for it.
    func login() throws -> (user: String, key: String)
    /// Every image otto made in this account (tagged, or named `otto-…` and half-made).
    func listImages() async throws -> [ListedCloudImage]
    /// Tags a captured image with the recipe's hash (so it is found and reused).
    func tagImage(_ id: String, recipe: String, hash: String) async throws
    /// The live builders of `hash`, oldest first: the one a killed run left, and any other (a launch repeated after a
    /// lost answer on a cloud that ignored its idempotency token).
    func findBuilders(hash: String) async throws -> [CloudBuilder]
    /// Creates the builder of `hash` from `image` (returns once SSH works with its pinned key).
    func createBuilder(recipe: String, hash: String, from image: String) async throws -> CloudBuilder
    /// Records on the builder that it is provisioned.
    func markProvisioned(_ builder: CloudBuilder) async throws
    /// Stops the builder (gracefully, then hard).
    func stopBuilder(_ builder: CloudBuilder) async throws
    /// Captures the stopped builder as an image named `name`; returns its id once it is usable.
    func capture(_ builder: CloudBuilder, name: String) async throws -> String
    /// Deletes the builder.
    func deleteBuilder(_ builder: CloudBuilder) async throws
    /// Deletes an image (and what backs it).
    func deleteImage(_ id: String) async throws
    /// Ids of the images machines of this account run from.
    func imagesInUse() async throws -> Set<String>
}
