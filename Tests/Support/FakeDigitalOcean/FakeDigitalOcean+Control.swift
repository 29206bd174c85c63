import Foundation

/// The control API, outside `/v2` and without auth (the fake only listens on loopback):
///
/// | request | does |
/// |---|---|
/// | `GET /_fake/health` | `{"ok": true}` |
/// | `GET /_fake/counts` | `{"requests": {"GET /v2/droplets": 5, ...}, "total": N, "actions": {"snapshot": n, "power_off": n, ...}, "faults": {"500": n, "hang": n, "429": n, "lost_create": n}}` |
/// | `POST /_fake/counts/reset` | forgets the counts |
/// | `POST /_fake/reset` | forgets everything (resources, counts, faults, recording) |
/// | `GET /_fake/faults`, `POST /_fake/faults` | reads / merges `FakeDigitalOceanFaults` (snake_case keys), `DELETE` clears |
/// | `POST /_fake/config` | `{"action_seconds": 0.2, "token": "another"}` |
/// | `POST /_fake/seed` | `{"droplets": N, "name_prefix": "bench-", "tags": ["otto"], "size": ..., "region": ..., "image": ..., "domains": ["other.test"], "ssh_keys": [{"name": ..., "public_key": ...}], "snapshots": [{"name": ..., "id": ..., "tags": [...]}]}` → `{"droplet_ids": [...], "snapshot_ids": [...]}` |
/// | `GET /_fake/state` | droplets (id, name, tags, status, size, region, address, snapshot ids, backing error), snapshots (id, name, tags, source droplet, taken while active), tag names, domain names, keys, backing failures |
/// | `POST /_fake/record` | `{"path": "/tmp/x.jsonl"}`: records every `/v2` exchange from now on |
/// | `POST /_fake/record/stop` | writes the recording (one JSON object per line) and stops: `{"exchanges": N}` |
///
/// The counts: `requests` holds every `/v2` request by `METHOD /v2/route/{template}` as the spec writes the route
/// (e.g. `POST /v2/droplets`, `POST /v2/droplets/{droplet_id}/actions`, `GET /v2/images`, `DELETE
/// /v2/snapshots/{snapshot_id}`, `POST /v2/tags/{tag_id}/resources`), unknown paths by their path; `actions` holds the
/// `POST /v2/droplets/{droplet_id}/actions` requests again, by the `type` of their body (`snapshot`, `power_off`,
/// `shutdown`, ...), so "no droplet was made and no snapshot taken" reads `requests["POST /v2/droplets"] == nil` and
/// `actions["snapshot"] == nil`. Both count refused and faulted requests too.
extension FakeDigitalOcean {
    func control(_ request: FakeHTTPRequest) async -> FakeHTTPResponse {
        let body = request.json ?? [:]
        switch (request.method, request.path) {
        case ("GET", "/_fake/health"):
            return .json(200, ["ok": true])
        case ("GET", "/_fake/counts"):
            return .json(200, [
                "requests": .object(counts.mapValues(JSONValue.int)), "total": .int(counts.values.reduce(0, +)),
                "actions": .object(actionTypeCounts.mapValues(JSONValue.int)),
                "faults": .object(faultCounts.mapValues(JSONValue.int)),
            ])
        case ("POST", "/_fake/counts/reset"):
            resetCounts()
            return .json(200, ["ok": true])
        case ("POST", "/_fake/reset"):
            reset()
            return .json(200, ["ok": true])
        case ("GET", "/_fake/faults"):
            return .json(200, faults.json)
        case ("POST", "/_fake/faults"):
            do {
                setFaults(try faults.merging(body))
                return .json(200, faults.json)
            } catch {
                return .error(400, "bad_request", error.message)
            }
        case ("DELETE", "/_fake/faults"):
            setFaults(FakeDigitalOceanFaults())
            return .json(200, faults.json)
        case ("POST", "/_fake/config"):
            if let seconds = body["action_seconds"]?.double { setActionSeconds(seconds) }
            if let token = body["token"]?.string, !token.isEmpty { addToken(token) }
            return .json(200, ["action_seconds": .double(actionSeconds)])
        case ("POST", "/_fake/seed"):
            return seed(body)
        case ("GET", "/_fake/state"):
            return .json(200, [
                "droplets": .array(dropletSummaries().map {
                    ["id": .int($0.id), "name": .string($0.name), "tags": .array($0.tags.map(JSONValue.string)),
                     "status": .string($0.status), "size": .string($0.size), "region": .string($0.region),
                     "ipv4": .string($0.publicIPv4), "snapshot_ids": .array($0.snapshotIDs.map(JSONValue.int)),
                     "backing_error": .optional($0.backingError)]
                }),
                "snapshots": .array(imageSummaries().map {
                    ["id": .int($0.id), "name": .string($0.name), "tags": .array($0.tags.map(JSONValue.string)),
                     "source_droplet_id": .optional($0.sourceDropletID), "taken_while_active": .bool($0.takenWhileActive)]
                }),
                "tags": .array(tags.keys.sorted().map(JSONValue.string)),
                "backing_failures": .array(backingFailureLog.map(JSONValue.string)),
                "domains": .array(domainNames().map(JSONValue.string)),
                "ssh_keys": .array(keySummaries().map { ["id": .int($0.id), "name": .string($0.name), "fingerprint": .string($0.fingerprint)] }),
            ])
        case ("POST", "/_fake/record"):
            guard let path = body["path"]?.string, !path.isEmpty else { return .error(400, "bad_request", "path is required") }
            startRecording(to: path)
            return .json(200, ["ok": true])
        case ("POST", "/_fake/record/stop"):
            do {
                return .json(200, ["exchanges": .int(try await stopRecording())])
            } catch {
                return .error(500, "server_error", "cannot write the recording: \(error)")
            }
        default:
            return .error(404, "not_found", "no such control endpoint: \(request.method) \(request.path)")
        }
    }

    private func seed(_ body: JSONValue) -> FakeHTTPResponse {
        var ids: [Int] = []
        if let count = body["droplets"]?.int, count > 0 {
            ids = seedDroplets(count: min(count, 100_000), namePrefix: body["name_prefix"]?.string ?? "seed-",
                               tags: body["tags"]?.array?.compactMap(\.string) ?? [],
                               size: body["size"]?.string ?? "s-1vcpu-1gb", region: body["region"]?.string ?? "nyc3",
                               image: body["image"]?.string ?? "debian-12-x64")
        }
        for name in body["domains"]?.array?.compactMap(\.string) ?? [] { seedDomain(name) }
        for key in body["ssh_keys"]?.array ?? [] {
            if let name = key["name"]?.string, let publicKey = key["public_key"]?.string { seedKey(name: name, publicKey: publicKey) }
        }
        var snapshotIDs: [Int] = []
        for snapshot in body["snapshots"]?.array ?? [] {
            guard let name = snapshot["name"]?.string else { continue }
            snapshotIDs.append(seedSnapshot(name: name, id: snapshot["id"]?.int, region: snapshot["region"]?.string ?? "nyc3",
                                            tags: snapshot["tags"]?.array?.compactMap(\.string) ?? []))
        }
        return .json(200, ["droplet_ids": .array(ids.map(JSONValue.int)), "snapshot_ids": .array(snapshotIDs.map(JSONValue.int))])
    }

    // MARK: - Recording

    /// Records every `/v2` exchange from now on, to be written to `path` (JSON Lines) by `stopRecording()`.
    public func startRecording(to path: String) {
        recording = []
        recordingPath = path
    }

    /// The exchanges recorded so far.
    public func recordedExchanges() -> [JSONValue] { recording ?? [] }

    /// Writes the recording (one JSON object per line: method, path, route, query, request_body, status,
    /// response_headers, response_body, delivered) and stops recording. Returns how many exchanges it held.
    @discardableResult
    public func stopRecording() async throws -> Int {
        guard let recording, let path = recordingPath else { return 0 }
        self.recording = nil
        self.recordingPath = nil
        let text = recording.map { $0.text + "\n" }.joined()
        // The file is written on a thread of its own: blocking I/O stays off the cooperative pool.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread { continuation.resume(with: Result { try text.write(toFile: path, atomically: true, encoding: .utf8) }) }.start()
        }
        return recording.count
    }

    func record(_ request: FakeHTTPRequest, route: FakeRoute?, response: FakeHTTPResponse) {
        guard recording != nil else { return }
        let delivered: Bool
        switch response.delivery {
        case .normal: delivered = true
        case .drop, .hang: delivered = false
        }
        var requestBody: JSONValue = .null
        if !request.body.isEmpty { requestBody = request.json ?? .string(String(decoding: request.body, as: UTF8.self)) }
        var responseBody: JSONValue = .null
        if !response.body.isEmpty { responseBody = response.json ?? .string(String(decoding: response.body, as: UTF8.self)) }
        var headers: [String: JSONValue] = [:]
        for (name, value) in response.headers { headers[name.lowercased()] = .string(value) }
        recording?.append([
            "method": .string(request.method), "path": .string(request.path), "route": .optional(route?.template),
            "query": .object(request.query.mapValues(JSONValue.string)), "request_content_type": .optional(request.headers["content-type"]),
            "request_body": requestBody, "status": .int(response.status), "response_headers": .object(headers),
            "response_body": responseBody, "delivered": .bool(delivered),
        ])
    }
}
