import Foundation

extension FakeDigitalOcean {
    // MARK: - Images

    /// The image with `id`: a catalog (public) image or a private snapshot.
    func findImage(_ id: Int) -> FakeImage? {
        if let known = FakeDigitalOceanCatalog.images.first(where: { $0.id == id }) { return FakeImage(catalog: known) }
        return images[id]
    }

    /// `GET /v2/images`: the catalog's distribution images and the account's snapshots, by id. `type=distribution`
    /// keeps the public distribution images, `type=application` the 1-Click ones (the fake has none), `private=true`
    /// the account's own, `tag_name` those carrying the tag; the filters combine.
    func listImages(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let query = request.query
        var list = FakeDigitalOceanCatalog.images.map(FakeImage.init(catalog:)) + images.values.sorted { $0.id < $1.id }
        if let type = query["type"] {
            switch type {
            case "distribution": list = list.filter { $0.isPublic && $0.slug != nil }
            case "application": list = []
            default: return .unprocessable("type must be application or distribution")
            }
        }
        if let text = query["private"] {
            switch text.lowercased() {
            case "true": list = list.filter { !$0.isPublic }
            case "false": break
            default: return .unprocessable("private must be true or false")
            }
        }
        if let tag = query["tag_name"] { list = list.filter { $0.tags.contains(tag) } }
        return paginate(list.map(\.json), key: "images", request)
    }

    /// `GET /v2/images/{id or slug}`: a public image by id or slug, a private one by id only.
    func getImage(_ identifier: String) -> FakeHTTPResponse {
        if let id = Int(identifier), let image = findImage(id) { return .json(200, ["image": image.json]) }
        if let known = FakeDigitalOceanCatalog.images.first(where: { $0.slug == identifier }) {
            return .json(200, ["image": FakeImage(catalog: known).json])
        }
        return .notFound
    }

    /// `PUT /v2/images/{id}`: changes the `name`, `description` and `distribution` of a private image (a
    /// distribution outside the spec's list becomes `Unknown`, as the spec says). Public images are not the
    /// account's: 404.
    func updateImage(_ identifier: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let id = Int(identifier), var image = images[id] else { return .notFound }
        guard let body = request.json, body.object != nil else { return .unprocessable("request payload validation failed") }
        if let value = body["name"], !value.isNull {
            guard let name = value.string, !name.trimmingCharacters(in: .whitespaces).isEmpty else { return .unprocessable("Name can't be blank") }
            image.name = name
        }
        if let value = body["description"], !value.isNull {
            guard let text = value.string else { return .unprocessable("description must be a string") }
            image.description = text
        }
        if let value = body["distribution"], !value.isNull {
            guard let text = value.string else { return .unprocessable("distribution must be a string") }
            image.distribution = Self.distributions.contains(text) ? text : "Unknown"
        }
        images[id] = image
        return .json(200, ["image": image.json])
    }

    /// `DELETE /v2/images/{id}`: 204, the snapshot gone (droplets made from it keep running). Public images: 404.
    func deleteImage(_ identifier: String) -> FakeHTTPResponse {
        guard let id = Int(identifier), images[id] != nil else { return .notFound }
        removeImage(id)
        return .noContent
    }

    /// Forgets private image `id`: its droplet's `snapshot_ids` and the backing's capture with it.
    func removeImage(_ id: Int) {
        guard let image = images.removeValue(forKey: id) else { return }
        if let source = image.sourceDropletID { droplets[source]?.snapshotIDs.removeAll { $0 == id } }
        for tag in image.tags { tags[tag]?.history.removeAll { $0 == FakeTag.Tagged(type: "image", id: id) } }
        launchBackingChore("forget snapshot \(id)") { try await $0.deleteImage(snapshot: id) }
    }

    /// The `distribution` values the spec lists.
    static let distributions = ["Arch Linux", "CentOS", "CoreOS", "Debian", "Fedora", "Fedora Atomic", "FreeBSD", "Gentoo",
                                "openSUSE", "RancherOS", "Rocky Linux", "Ubuntu", "Unknown"]

    // MARK: - Snapshots

    /// `GET /v2/snapshots`: the account's snapshots (`resource_type=droplet`: those of droplets, which are all the
    /// fake has; `volume`: none), by id.
    func listSnapshots(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        var list = images.values.filter { $0.type == "snapshot" }.sorted { $0.id < $1.id }
        if let type = request.query["resource_type"] {
            switch type {
            case "droplet": break
            case "volume": list = []
            default: return .unprocessable("resource_type must be droplet or volume")
            }
        }
        return paginate(list.map(\.snapshotJSON), key: "snapshots", request)
    }

    /// `GET /v2/snapshots/{id}`: 400 `the resource is not a snapshot` for a public image's id.
    func getSnapshot(_ identifier: String) -> FakeHTTPResponse {
        switch snapshot(identifier) {
        case .found(let image): return .json(200, ["snapshot": image.snapshotJSON])
        case .notASnapshot: return .error(400, "bad_request", "the resource is not a snapshot")
        case .missing: return .notFound
        }
    }

    /// `DELETE /v2/snapshots/{id}`: 204, like `DELETE /v2/images/{id}`.
    func deleteSnapshot(_ identifier: String) -> FakeHTTPResponse {
        switch snapshot(identifier) {
        case .found(let image):
            removeImage(image.id)
            return .noContent
        case .notASnapshot: return .error(400, "bad_request", "the resource is not a snapshot")
        case .missing: return .notFound
        }
    }

    /// `GET /v2/droplets/{id}/snapshots`: the droplet's snapshots that still exist.
    func listDropletSnapshots(_ id: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let id = Int(id), let droplet = droplets[id] else { return .notFound }
        let list = droplet.snapshotIDs.compactMap { images[$0] }.sorted { $0.id < $1.id }
        return paginate(list.map(\.dropletSnapshotJSON), key: "snapshots", request)
    }

    private enum SnapshotLookup {
        case found(FakeImage), notASnapshot, missing
    }

    private func snapshot(_ identifier: String) -> SnapshotLookup {
        guard let id = Int(identifier) else { return .missing }  // volume snapshots (UUIDs): the fake has none
        if let image = images[id], image.type == "snapshot" { return .found(image) }
        return findImage(id) != nil ? .notASnapshot : .missing
    }

    // MARK: - Seeding and assertions

    /// Adds a snapshot directly, as if taken long ago of a droplet since deleted (an image otto may find or use).
    /// Returns its id (`id` when given and free). With a backing it has no capture: droplets made from it fail to boot.
    @discardableResult
    public func seedSnapshot(name: String, id: Int? = nil, distribution: String = "Debian", region: String = "nyc3",
                             minDiskSize: Int = 25, tags: [String] = []) -> Int {
        var imageID = nextImageID
        if let id, id > 0, findImage(id) == nil { imageID = id }
        nextImageID = max(nextImageID, imageID + 1)
        images[imageID] = FakeImage(id: imageID, name: name, distribution: distribution, slug: nil, type: "snapshot", isPublic: false,
                                    regions: [region], createdAt: "2025-01-15T09:30:00Z", minDiskSize: minDiskSize, sizeGigabytes: 2.5,
                                    description: "", tags: tags.filter(Self.isValidTag))
        for tag in images[imageID]!.tags { noteTagged(tag, type: "image", id: imageID) }
        return imageID
    }

    /// Every private image (snapshot), by id.
    public func imageSummaries() -> [FakeImageSummary] {
        advanceActions()
        return images.values.sorted { $0.id < $1.id }.map {
            FakeImageSummary(id: $0.id, name: $0.name, type: $0.type, distribution: $0.distribution, description: $0.description,
                             tags: $0.tags, regions: $0.regions, sourceDropletID: $0.sourceDropletID, takenWhileActive: $0.takenWhileActive)
        }
    }
}

/// One private image (a snapshot) as the fake holds it, for assertions.
public struct FakeImageSummary: Sendable, Hashable {
    /// The image id.
    public var id: Int
    /// Its name.
    public var name: String
    /// `snapshot`.
    public var type: String
    /// Its distribution.
    public var distribution: String
    /// Its description.
    public var description: String
    /// Its tags.
    public var tags: [String]
    /// Regions it is available in.
    public var regions: [String]
    /// The droplet it was taken of (nil for seeded ones).
    public var sourceDropletID: Int?
    /// True when that droplet was on when the snapshot was asked for.
    public var takenWhileActive: Bool
}
