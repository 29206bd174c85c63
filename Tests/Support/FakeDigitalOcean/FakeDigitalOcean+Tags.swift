import Foundation

extension FakeDigitalOcean {
    /// Records that resource `type`/`id` now carries `tag` (making the tag when it is new, as DigitalOcean does for
    /// the tags of a droplet create).
    func noteTagged(_ tag: String, type: String, id: Int) {
        var entry = tags[tag] ?? FakeTag(name: tag)
        entry.history.append(FakeTag.Tagged(type: type, id: id))
        tags[tag] = entry
    }

    /// True when resource `tagged` exists and carries `tag`.
    func carries(_ tagged: FakeTag.Tagged, _ tag: String) -> Bool {
        switch tagged.type {
        case "droplet": return droplets[tagged.id]?.tags.contains(tag) ?? false
        case "image": return images[tagged.id]?.tags.contains(tag) ?? false
        default: return false
        }
    }

    /// The tag object of the spec (`tags/models/tags.yml`): counts of the resources carrying it, by type, and the
    /// URI of the last one tagged.
    func tagJSON(_ tag: FakeTag, _ request: FakeHTTPRequest) -> JSONValue {
        let host = request.headers["host"] ?? "api.digitalocean.com"
        let base = (host == "api.digitalocean.com" ? "https" : "http") + "://\(host)/v2"
        func uri(_ tagged: FakeTag.Tagged) -> JSONValue { .string("\(base)/\(tagged.type == "droplet" ? "droplets" : "images")/\(tagged.id)") }
        let dropletCount = droplets.values.reduce(0) { $0 + ($1.tags.contains(tag.name) ? 1 : 0) }
        let imageCount = images.values.reduce(0) { $0 + ($1.tags.contains(tag.name) ? 1 : 0) }
        func metadata(_ count: Int, last: FakeTag.Tagged?) -> JSONValue {
            var out: [String: JSONValue] = ["count": .int(count)]
            if let last { out["last_tagged_uri"] = uri(last) }
            return .object(out)
        }
        let live = tag.history.reversed().filter { carries($0, tag.name) }
        var resources = metadata(dropletCount + imageCount, last: live.first).object ?? [:]
        resources["droplets"] = metadata(dropletCount, last: live.first { $0.type == "droplet" })
        resources["images"] = metadata(imageCount, last: live.first { $0.type == "image" })
        for other in ["volumes", "volume_snapshots", "databases"] { resources[other] = ["count": 0] }
        return ["name": .string(tag.name), "resources": .object(resources)]
    }

    /// `GET /v2/tags`: by name.
    func listTags(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        paginate(tags.keys.sorted().compactMap { tags[$0].map { tagJSON($0, request) } }, key: "tags", request)
    }

    /// `POST /v2/tags`: 201 with the tag (an existing one as it is). A name outside the spec's pattern is refused
    /// with 400 and DigitalOcean's `error` / `root_causes` body.
    func createTag(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let name = request.json?["name"]?.string, Self.isValidTag(name) else {
            let shown = request.json?["name"]?.string ?? ""
            let message = "Error validating resource tag: \"tag-name \\\"\(shown)\\\" contains invalid characters\""
            return .json(400, ["error": .string(message), "messages": .null, "root_causes": [.string("rpc error: code = InvalidArgument desc = \(message)")]])
        }
        let tag = tags[name] ?? FakeTag(name: name)
        tags[name] = tag
        return .json(201, ["tag": tagJSON(tag, request)])
    }

    /// `GET /v2/tags/{name}` (the name exactly as created).
    func getTag(_ name: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let tag = tags[name] else { return .notFound }
        return .json(200, ["tag": tagJSON(tag, request)])
    }

    /// `DELETE /v2/tags/{name}`: 204; every resource loses the tag.
    func deleteTag(_ name: String) -> FakeHTTPResponse {
        guard tags.removeValue(forKey: name) != nil else { return .notFound }
        for id in droplets.keys where droplets[id]!.tags.contains(name) { droplets[id]!.tags.removeAll { $0 == name } }
        for id in images.keys where images[id]!.tags.contains(name) { images[id]!.tags.removeAll { $0 == name } }
        return .noContent
    }

    /// `POST /v2/tags/{name}/resources` (`tagging` true) and `DELETE` (false): 204 once every listed resource
    /// (`{"resource_id": "ID", "resource_type": "droplet" | "image"}`) carries the tag, or no longer does. The tag
    /// must exist (404); so must each resource (404, nothing changed). Public images are not the account's.
    func tagResources(_ name: String, _ request: FakeHTTPRequest, tagging: Bool) -> FakeHTTPResponse {
        guard tags[name] != nil else { return .notFound }
        guard let list = request.json?["resources"]?.array else { return .unprocessable("resources is required: a list of resource_id and resource_type") }
        var targets: [FakeTag.Tagged] = []
        for item in list {
            let idValue = item["resource_id"]
            guard let id = idValue?.string.flatMap({ Int($0) }) ?? idValue?.int else {
                return .unprocessable("resource_id must be the id of a droplet or image, as a string")
            }
            switch item["resource_type"]?.string {
            case "droplet"?:
                guard droplets[id] != nil else { return .notFound }
                targets.append(FakeTag.Tagged(type: "droplet", id: id))
            case "image"?:
                guard images[id] != nil else { return .notFound }
                targets.append(FakeTag.Tagged(type: "image", id: id))
            case "volume"?, "volume_snapshot"?:
                return .notFound  // the fake has no volumes
            default:
                return .unprocessable("resource_type must be one of droplet, image, volume, volume_snapshot")
            }
        }
        for target in targets {
            let already = carries(target, name)
            if tagging, !already {
                if target.type == "droplet" { droplets[target.id]!.tags.append(name) } else { images[target.id]!.tags.append(name) }
                noteTagged(name, type: target.type, id: target.id)
            } else if !tagging, already {
                if target.type == "droplet" { droplets[target.id]!.tags.removeAll { $0 == name } } else { images[target.id]!.tags.removeAll { $0 == name } }
            }
        }
        return .noContent
    }
}
