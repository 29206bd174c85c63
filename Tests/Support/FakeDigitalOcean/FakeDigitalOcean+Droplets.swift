import Foundation

extension FakeDigitalOcean {
    /// `GET /v2/droplets`: every droplet, or those with `tag_name`, or those named `name` (case-insensitive); by id.
    func listDroplets(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let query = request.query
        if query["tag_name"] != nil && (query["name"] != nil || query["type"] != nil) {
            return .unprocessable("tag_name cannot be combined with name or type")
        }
        if let type = query["type"], !["droplets", "gpus"].contains(type) {
            return .unprocessable("type must be droplets or gpus")
        }
        var list = droplets.values.sorted { $0.id < $1.id }
        if query["type"] == "gpus" { list = [] }
        if let tag = query["tag_name"] { list = list.filter { $0.tags.contains(tag) } }
        if let name = query["name"]?.lowercased() { list = list.filter { $0.name.lowercased() == name } }
        return paginate(list.map(\.json), key: "droplets", request)
    }

    /// `GET /v2/droplets/{id}`.
    func getDroplet(_ id: String) -> FakeHTTPResponse {
        guard let id = Int(id), let droplet = droplets[id] else { return .notFound }
        return .json(200, ["droplet": droplet.json])
    }

    /// `DELETE /v2/droplets/{id}`: 204, the droplet and its pending actions gone.
    func deleteDroplet(_ id: String) -> FakeHTTPResponse {
        guard let id = Int(id), droplets[id] != nil else { return .notFound }
        removeDroplet(id: id)
        return .noContent
    }

    /// `POST /v2/droplets` with one `name`: 202, the droplet `new` with a `create` action in progress.
    func createDroplet(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let body = request.json, body.object != nil else { return .unprocessable("request payload validation failed") }
        if body["names"] != nil { return .unprocessable("this fake creates one droplet per request: send `name`, not `names`") }
        guard let name = body["name"]?.string else { return .unprocessable("Name is required") }
        guard Self.isValidDropletName(name) else {
            return .unprocessable("Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
        }
        guard let sizeSlug = body["size"]?.string, let size = FakeDigitalOceanCatalog.size(sizeSlug) else {
            return .unprocessable("You specified an invalid size for Droplet creation.")
        }
        // A public image by slug or id, or a private snapshot by id; anything else is refused like DigitalOcean does.
        let image: FakeImage
        switch body["image"] {
        case .string(let slug)?:
            guard let known = FakeDigitalOceanCatalog.images.first(where: { $0.slug == slug }) else {
                return .unprocessable("You specified an invalid image for Droplet creation.")
            }
            image = FakeImage(catalog: known)
        case .int(let id)? where id > 0:
            guard let found = findImage(id) else { return .unprocessable("You specified an invalid image for Droplet creation.") }
            image = found
        default:
            return .unprocessable("You specified an invalid image for Droplet creation.")
        }
        var region = FakeDigitalOceanCatalog.defaultRegion
        if let value = body["region"], !value.isNull {
            guard let slug = value.string else { return .unprocessable("You specified an invalid region for Droplet creation.") }
            if FakeDigitalOceanCatalog.regionName(slug) != nil {
                region = slug
            } else if let match = FakeDigitalOceanCatalog.regions.first(where: { $0.slug.hasPrefix(slug) && slug.count >= 3 }) {
                region = match.slug  // a region prefix such as `nyc`
            } else {
                return .unprocessable("You specified an invalid region for Droplet creation.")
            }
        }
        if !image.isPublic {
            guard image.regions.contains(region) else {
                return .unprocessable("The image \(image.id) is not available in region \(region): create the droplet in \(image.regions.joined(separator: ", "))")
            }
            guard size.disk >= image.minDiskSize else {
                return .unprocessable("The image \(image.id) needs a size with at least \(image.minDiskSize) GB of disk; \(size.slug) has \(size.disk) GB.")
            }
        }
        var keyIDs: [Int] = []
        if let value = body["ssh_keys"], !value.isNull {
            guard let list = value.array else { return .unprocessable("ssh_keys must be an array") }
            for item in list {
                let found: FakeSSHKey?
                switch item {
                case .int(let id): found = keys[id]
                case .string(let text): found = Int(text).flatMap { keys[$0] } ?? keys.values.first { $0.fingerprint == text }
                default: found = nil
                }
                guard let found else { return .unprocessable("You specified invalid ssh key ids or fingerprints for Droplet creation.") }
                keyIDs.append(found.id)
            }
        }
        var tags: [String] = []
        if let value = body["tags"], !value.isNull {
            guard let list = value.array?.compactMap(\.string), list.count == value.array?.count else {
                return .unprocessable("tags must be an array of strings")
            }
            for tag in list where !Self.isValidTag(tag) {
                return .unprocessable("Tag \(tag) is invalid: tags may contain letters, numbers, colons, dashes and underscores")
            }
            for tag in list where !tags.contains(tag) { tags.append(tag) }
        }
        var userData: String?
        if let value = body["user_data"], !value.isNull {
            guard let text = value.string else { return .unprocessable("user_data must be a string") }
            guard text.utf8.count <= 64 * 1024 else { return .unprocessable("user_data is limited to 64 KiB") }
            userData = text
        }
        for flag in ["ipv6", "monitoring", "backups", "private_networking", "with_droplet_agent", "public_networking"] {
            if let value = body[flag], !value.isNull, value.bool == nil { return .unprocessable("\(flag) must be a boolean") }
        }
        var droplet = makeDroplet(name: name, size: size, region: region, image: image, status: "new", tags: tags,
                                  ipv6: body["ipv6"]?.bool ?? false, monitoring: body["monitoring"]?.bool ?? false,
                                  userData: userData, keyIDs: keyIDs)
        if backing != nil {
            droplet.backed = true
            droplets[droplet.id] = droplet
        }
        let action = startAction(type: "create", droplet: droplet, effect: .create)
        if droplet.backed {
            let boot = FakeDropletBootRequest(dropletID: droplet.id, name: name, image: image.isPublic ? .slug(image.slug ?? "") : .snapshot(image.id),
                                              userData: userData, authorizedKeys: keyIDs.compactMap { keys[$0]?.publicKey })
            launchBacking(for: action.id) { try await $0.boot(boot) }
        }
        let host = request.headers["host"] ?? "api.digitalocean.com"
        let scheme = host == "api.digitalocean.com" ? "https" : "http"
        return .json(202, [
            "droplet": droplet.json,
            "links": ["actions": [["id": .int(action.id), "rel": "create", "href": .string("\(scheme)://\(host)/v2/actions/\(action.id)")]]],
        ])
    }

    /// Makes and stores a droplet with the next id and documentation-range addresses.
    @discardableResult
    func makeDroplet(name: String, size: FakeDigitalOceanCatalog.Size, region: String, image: FakeImage, status: String,
                     tags: [String], ipv6: Bool, monitoring: Bool = false, userData: String? = nil, keyIDs: [Int] = []) -> FakeDroplet {
        let id = nextDropletID
        nextDropletID += 1
        let n = addressCounter
        addressCounter += 1
        // 203.0.113.0/24 then 198.51.100.0/24 for public, 192.0.2.0/24 for private: documentation ranges only (.1 is the
        // gateway). Past 506 droplets the public addresses repeat (they are never contacted).
        let slot = n % 506
        let publicIPv4 = slot < 253 ? "203.0.113.\(slot + 2)" : "198.51.100.\(slot - 253 + 2)"
        let privateIPv4 = "192.0.2.\(n % 253 + 2)"
        let droplet = FakeDroplet(
            id: id, name: name, sizeSlug: size.slug, disk: size.disk, region: region, image: image, status: status, tags: tags,
            createdAt: Date(), publicIPv4: publicIPv4, privateIPv4: privateIPv4,
            ipv6: ipv6 ? "2001:db8:\(String(n / 65536 % 65536, radix: 16)):\(String(n % 65536, radix: 16))::2" : nil,
            userData: userData, sshKeyIDs: keyIDs, monitoring: monitoring,
            vpcUUID: "760e09ef-dc84-11e8-981e-3cfdfeaae000")
        droplets[id] = droplet
        for tag in tags { noteTagged(tag, type: "droplet", id: id) }
        return droplet
    }

    /// Droplet names as the spec's pattern allows: `^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`, at most 255.
    static func isValidDropletName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, let last = name.unicodeScalars.last else { return false }
        func alnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (CharacterSet.alphanumerics.contains(c)) }
        guard alnum(last) else { return false }
        return name.unicodeScalars.allSatisfy { alnum($0) || $0 == "." || $0 == "-" }
    }

    /// Tag names as the spec's pattern allows (`^[a-zA-Z0-9_\-\:]+$`): letters, numbers, colons, dashes and
    /// underscores, at most 255.
    static func isValidTag(_ tag: String) -> Bool {
        !tag.isEmpty && tag.utf8.count <= 255
            && tag.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ":-_".unicodeScalars.contains($0)) }
    }

    // MARK: - Seeding

    /// Makes `count` active droplets named `PREFIX0`, `PREFIX1` ... with `tags`, as if made long ago. Returns their ids.
    @discardableResult
    public func seedDroplets(count: Int, namePrefix: String, tags: [String], size: String = "s-1vcpu-1gb", region: String = "nyc3",
                             image: String = "debian-12-x64") -> [Int] {
        let sizeInfo = FakeDigitalOceanCatalog.size(size) ?? FakeDigitalOceanCatalog.sizes[1]
        let known = FakeDigitalOceanCatalog.images.first { $0.slug == image } ?? FakeDigitalOceanCatalog.images[0]
        let imageInfo = FakeImage(catalog: known)
        let regionSlug = FakeDigitalOceanCatalog.regionName(region) != nil ? region : FakeDigitalOceanCatalog.defaultRegion
        return (0..<max(0, count)).map { i in
            makeDroplet(name: "\(namePrefix)\(i)", size: sizeInfo, region: regionSlug, image: imageInfo, status: "active", tags: tags,
                        ipv6: false).id
        }
    }
}
