import Foundation

/// The `/v2` endpoints the fake DigitalOcean implements, with their path parameters.
enum FakeRoute: Sendable, Equatable {
    case listDroplets, createDroplet
    case getDroplet(String), deleteDroplet(String)
    case postDropletAction(String), getDropletAction(String, String)
    case listDropletSnapshots(String)
    case getAction(String)
    case listImages
    case getImage(String), updateImage(String), deleteImage(String)
    case listSnapshots
    case getSnapshot(String), deleteSnapshot(String)
    case listTags, createTag
    case getTag(String), deleteTag(String)
    case tagResources(String), untagResources(String)
    case listKeys, createKey
    case getKey(String), updateKey(String), deleteKey(String)
    case listDomains, createDomain
    case getDomain(String), deleteDomain(String)
    case listRecords(String), createRecord(String)
    case getRecord(String, String), updateRecord(String, String), patchRecord(String, String), deleteRecord(String, String)

    /// The path template as the OpenAPI spec writes it.
    var template: String {
        switch self {
        case .listDroplets, .createDroplet: return "/v2/droplets"
        case .getDroplet, .deleteDroplet: return "/v2/droplets/{droplet_id}"
        case .postDropletAction: return "/v2/droplets/{droplet_id}/actions"
        case .getDropletAction: return "/v2/droplets/{droplet_id}/actions/{action_id}"
        case .listDropletSnapshots: return "/v2/droplets/{droplet_id}/snapshots"
        case .getAction: return "/v2/actions/{action_id}"
        case .listImages: return "/v2/images"
        case .getImage, .updateImage, .deleteImage: return "/v2/images/{image_id}"
        case .listSnapshots: return "/v2/snapshots"
        case .getSnapshot, .deleteSnapshot: return "/v2/snapshots/{snapshot_id}"
        case .listTags, .createTag: return "/v2/tags"
        case .getTag, .deleteTag: return "/v2/tags/{tag_id}"
        case .tagResources, .untagResources: return "/v2/tags/{tag_id}/resources"
        case .listKeys, .createKey: return "/v2/account/keys"
        case .getKey, .updateKey, .deleteKey: return "/v2/account/keys/{ssh_key_identifier}"
        case .listDomains, .createDomain: return "/v2/domains"
        case .getDomain, .deleteDomain: return "/v2/domains/{domain_name}"
        case .listRecords, .createRecord: return "/v2/domains/{domain_name}/records"
        case .getRecord, .updateRecord, .patchRecord, .deleteRecord: return "/v2/domains/{domain_name}/records/{domain_record_id}"
        }
    }

    /// The route for `method` and the decoded path `segments`, nil when the fake does not serve it.
    static func match(method: String, segments: [String]) -> FakeRoute? {
        guard segments.first == "v2" else { return nil }
        let s = Array(segments.dropFirst())
        switch (method, s.count) {
        case ("GET", 1) where s[0] == "droplets": return .listDroplets
        case ("POST", 1) where s[0] == "droplets": return .createDroplet
        case ("GET", 2) where s[0] == "droplets": return .getDroplet(s[1])
        case ("DELETE", 2) where s[0] == "droplets": return .deleteDroplet(s[1])
        case ("POST", 3) where s[0] == "droplets" && s[2] == "actions": return .postDropletAction(s[1])
        case ("GET", 4) where s[0] == "droplets" && s[2] == "actions": return .getDropletAction(s[1], s[3])
        case ("GET", 3) where s[0] == "droplets" && s[2] == "snapshots": return .listDropletSnapshots(s[1])
        case ("GET", 2) where s[0] == "actions": return .getAction(s[1])
        case ("GET", 1) where s[0] == "images": return .listImages
        case ("GET", 2) where s[0] == "images": return .getImage(s[1])
        case ("PUT", 2) where s[0] == "images": return .updateImage(s[1])
        case ("DELETE", 2) where s[0] == "images": return .deleteImage(s[1])
        case ("GET", 1) where s[0] == "snapshots": return .listSnapshots
        case ("GET", 2) where s[0] == "snapshots": return .getSnapshot(s[1])
        case ("DELETE", 2) where s[0] == "snapshots": return .deleteSnapshot(s[1])
        case ("GET", 1) where s[0] == "tags": return .listTags
        case ("POST", 1) where s[0] == "tags": return .createTag
        case ("GET", 2) where s[0] == "tags": return .getTag(s[1])
        case ("DELETE", 2) where s[0] == "tags": return .deleteTag(s[1])
        case ("POST", 3) where s[0] == "tags" && s[2] == "resources": return .tagResources(s[1])
        case ("DELETE", 3) where s[0] == "tags" && s[2] == "resources": return .untagResources(s[1])
        case ("GET", 2) where s == ["account", "keys"]: return .listKeys
        case ("POST", 2) where s == ["account", "keys"]: return .createKey
        case ("GET", 3) where s[0] == "account" && s[1] == "keys": return .getKey(s[2])
        case ("PUT", 3) where s[0] == "account" && s[1] == "keys": return .updateKey(s[2])
        case ("DELETE", 3) where s[0] == "account" && s[1] == "keys": return .deleteKey(s[2])
        case ("GET", 1) where s[0] == "domains": return .listDomains
        case ("POST", 1) where s[0] == "domains": return .createDomain
        case ("GET", 2) where s[0] == "domains": return .getDomain(s[1])
        case ("DELETE", 2) where s[0] == "domains": return .deleteDomain(s[1])
        case ("GET", 3) where s[0] == "domains" && s[2] == "records": return .listRecords(s[1])
        case ("POST", 3) where s[0] == "domains" && s[2] == "records": return .createRecord(s[1])
        case ("GET", 4) where s[0] == "domains" && s[2] == "records": return .getRecord(s[1], s[3])
        case ("PUT", 4) where s[0] == "domains" && s[2] == "records": return .updateRecord(s[1], s[3])
        case ("PATCH", 4) where s[0] == "domains" && s[2] == "records": return .patchRecord(s[1], s[3])
        case ("DELETE", 4) where s[0] == "domains" && s[2] == "records": return .deleteRecord(s[1], s[3])
        default: return nil
        }
    }
}

extension FakeDigitalOcean {
    /// Carries out one `/v2` call.
    func dispatch(_ route: FakeRoute, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        switch route {
        case .listDroplets: return listDroplets(request)
        case .createDroplet: return createDroplet(request)
        case .getDroplet(let id): return getDroplet(id)
        case .deleteDroplet(let id): return deleteDroplet(id)
        case .postDropletAction(let id): return postDropletAction(id, request)
        case .getDropletAction(let droplet, let action): return getAction(action, droplet: droplet)
        case .listDropletSnapshots(let id): return listDropletSnapshots(id, request)
        case .getAction(let id): return getAction(id, droplet: nil)
        case .listImages: return listImages(request)
        case .getImage(let id): return getImage(id)
        case .updateImage(let id): return updateImage(id, request)
        case .deleteImage(let id): return deleteImage(id)
        case .listSnapshots: return listSnapshots(request)
        case .getSnapshot(let id): return getSnapshot(id)
        case .deleteSnapshot(let id): return deleteSnapshot(id)
        case .listTags: return listTags(request)
        case .createTag: return createTag(request)
        case .getTag(let name): return getTag(name, request)
        case .deleteTag(let name): return deleteTag(name)
        case .tagResources(let name): return tagResources(name, request, tagging: true)
        case .untagResources(let name): return tagResources(name, request, tagging: false)
        case .listKeys: return listKeys(request)
        case .createKey: return createKey(request)
        case .getKey(let id): return getKey(id)
        case .updateKey(let id): return updateKey(id, request)
        case .deleteKey(let id): return deleteKey(id)
        case .listDomains: return listDomains(request)
        case .createDomain: return createDomain(request)
        case .getDomain(let name): return getDomain(name)
        case .deleteDomain(let name): return deleteDomain(name)
        case .listRecords(let domain): return listRecords(domain, request)
        case .createRecord(let domain): return createRecord(domain, request)
        case .getRecord(let domain, let id): return getRecord(domain, id)
        case .updateRecord(let domain, let id), .patchRecord(let domain, let id): return updateRecord(domain, id, request)
        case .deleteRecord(let domain, let id): return deleteRecord(domain, id)
        }
    }

    /// One page of `items` as DigitalOcean paginates: `per_page` (default 20, at most 200), `page` (from 1),
    /// `links.pages` with first/prev/next/last URLs (absent on a single page) and `meta.total`.
    func paginate(_ items: [JSONValue], key: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let query = request.query
        if let text = query["per_page"], Int(text) == nil || Int(text)! < 1 {
            return .unprocessable("per_page must be a positive integer")
        }
        if let text = query["page"], Int(text) == nil || Int(text)! < 1 {
            return .unprocessable("page must be a positive integer")
        }
        let perPage = min(200, query["per_page"].flatMap(Int.init) ?? 20)
        let page = query["page"].flatMap(Int.init) ?? 1
        let lastPage = max(1, (items.count + perPage - 1) / perPage)
        let start = min(items.count, (page - 1) * perPage)
        let slice = Array(items[start..<min(items.count, start + perPage)])
        var pages: [String: JSONValue] = [:]
        func link(_ number: Int) -> JSONValue {
            var parameters = query
            parameters["page"] = String(number)
            parameters["per_page"] = String(perPage)
            let text = parameters.keys.sorted().map { "\($0)=\(Self.percentEncode(parameters[$0]!))" }.joined(separator: "&")
            let host = request.headers["host"] ?? "api.digitalocean.com"
            let scheme = host == "api.digitalocean.com" ? "https" : "http"
            return .string("\(scheme)://\(host)\(request.path)?\(text)")
        }
        if page > 1 {
            pages["first"] = link(1)
            pages["prev"] = link(min(page - 1, lastPage))
        }
        if page < lastPage {
            pages["next"] = link(page + 1)
            pages["last"] = link(lastPage)
        }
        let links: JSONValue = pages.isEmpty ? [:] : ["pages": .object(pages)]
        return .json(200, [key: .array(slice), "links": links, "meta": ["total": .int(items.count)]])
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
