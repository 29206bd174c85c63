import Foundation

/// The control API, outside `/v2` and without auth (the fake only listens on loopback):
///
/// | request | does |
/// |---|---|
/// | `GET /_fake/health` | `{"ok": true}` |
/// | `GET /_fake/counts` | `{"requests": {"GET /v2/droplets": 5, ...}, "total": N, "faults": {"500": n, "hang": n, "429": n, "lost_create": n}}` |
/// | `POST /_fake/counts/reset` | forgets the counts |
/// | `POST /_fake/reset` | forgets everything (resources, counts, faults, recording) |
/// | `GET /_fake/faults`, `POST /_fake/faults` | reads / merges `FakeDigitalOceanFaults` (snake_case keys), `DELETE` clears |
/// | `POST /_fake/config` | `{"action_seconds": 0.2, "token": "another"}` |
/// | `POST /_fake/seed` | `{"droplets": N, "name_prefix": "bench-", "tags": ["otto"], "size": ..., "region": ..., "image": ..., "domains": ["other.test"], "ssh_keys": [{"name": ..., "public_key": ...}]}` → `{"droplet_ids": [...]}` |
/// | `GET /_fake/state` | droplets (id, name, tags, status, size, region), domain names, keys |
/// | `POST /_fake/record` | `{"path": "/tmp/x.jsonl"}`: records every `/v2` exchange from now on |
/// | `POST /_fake/record/stop` | writes the recording (one JSON object per line) and stops: `{"exchanges": N}` |
extension FakeDigitalOcean {
    func control(_ request: FakeHTTPRequest) async -> FakeHTTPResponse {
        let body = request.json ?? [:]
        switch (request.method, request.path) {
        case ("GET", "/_fake/health"):
            return .json(200, ["ok": true])
        case ("GET", "/_fake/counts"):
            return .json(200, [
                "requests": .object(counts.mapValues(JSONValue.int)), "total": .int(counts.values.reduce(0, +)),
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
                     "status": .string($0.status), "size": .string($0.size), "region": .string($0.region)]
                }),
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
        return .json(200, ["droplet_ids": .array(ids.map(JSONValue.int))])
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
