import Foundation

/// A fake of DigitalOcean's API v2, written from the official OpenAPI spec, for tests and benchmarks: droplets (list,
/// create, get, delete), droplet actions (snapshots included) and `/v2/actions`, images and snapshots, tags, account
/// SSH keys, domains and domain records. Everything lives in memory; without a backing, droplets get addresses from
/// the documentation ranges only (never contacted) and nothing boots.
///
/// With a `FakeDropletBacking` (e.g. `LocalDropletBacking`), every droplet created over the API is a real machine:
/// its create action completes once the machine is up (or errors when it cannot boot), its public address is the
/// machine's, its status follows the machine, power actions stop and start it, and a snapshot captures it. See
/// `FakeDigitalOcean+Backing.swift`.
///
/// It answers `FakeHTTPRequest`s (`handle(_:)`), so it runs in-process behind `FakeDigitalOceanServer` (Hummingbird)
/// or standalone (`otto-fake-do`). Besides `/v2` it serves a control API under `/_fake` (no auth): faults, request
/// counts, seeding, recording; see `FakeDigitalOcean+Control.swift`. Every `/v2` answer carries `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset`; requests without a valid `Authorization: Bearer TOKEN` get DigitalOcean's
/// 401 body.
public actor FakeDigitalOcean {
    /// Tokens the fake accepts.
    public private(set) var tokens: Set<String>
    /// How long an action stays `in-progress` (a droplet create, a resize ...).
    public var actionSeconds: Double

    var droplets: [Int: FakeDroplet] = [:]
    var actions: [Int: FakeAction] = [:]
    /// Ids of actions still in progress, oldest first.
    var pendingActions: [Int] = []
    var keys: [Int: FakeSSHKey] = [:]
    /// Private images (snapshots); the public ones are the catalog's.
    var images: [Int: FakeImage] = [:]
    /// Tags of the account, by name.
    var tags: [String: FakeTag] = [:]
    var domains: [String: FakeDomain] = [:]
    var records: [Int: FakeRecord] = [:]
    var nextDropletID = 3_164_444
    var nextActionID = 36_804_636
    var nextKeyID = 512_189
    var nextRecordID = 28_448_429
    var nextImageID = 171_000_001
    var addressCounter = 0

    var faults = FakeDigitalOceanFaults()
    var random = SplitMix64(seed: 0x5EED)
    var throttleUntil: ContinuousClock.Instant?
    var throttleCounter = 0
    var counts: [String: Int] = [:]
    /// `POST /v2/droplets/{id}/actions` requests by the `type` in their body.
    var actionTypeCounts: [String: Int] = [:]
    var faultCounts: [String: Int] = [:]
    var rateLimitUsed = 0
    var recording: [JSONValue]?
    var recordingPath: String?

    /// The real machines behind droplets, if any.
    let backing: (any FakeDropletBacking)?
    /// Backing work in flight, by a token of its own.
    var backingTasks: [Int: Task<Void, Never>] = [:]
    var nextBackingToken = 0
    /// Backing work that failed outside an action (destroying a machine, forgetting a snapshot), as reasons.
    var backingFailureLog: [String] = []

    /// Creates an empty account that accepts `token`. With `backing`, droplets created over the API are real
    /// machines; without, nothing boots (as before backings existed).
    public init(token: String = "fake-do-token", actionSeconds: Double = 0.2, backing: (any FakeDropletBacking)? = nil) {
        self.tokens = [token]
        self.actionSeconds = actionSeconds
        self.backing = backing
    }

    // MARK: - Answering requests

    /// Answers one request: the control API, or a `/v2` call (auth, faults, the endpoint, rate-limit headers, the
    /// request count and the recording).
    public func handle(_ request: FakeHTTPRequest) async -> FakeHTTPResponse {
        if request.path == "/_fake" || request.path.hasPrefix("/_fake/") { return await control(request) }
        await syncWithBacking()
        advanceActions()
        let route = FakeRoute.match(method: request.method, segments: request.segments)
        let key = route.map { "\(request.method) \($0.template)" } ?? "\(request.method) \(request.path)"
        counts[key, default: 0] += 1
        if case .postDropletAction? = route, let type = request.json?["type"]?.string {
            actionTypeCounts[type, default: 0] += 1
        }
        var response = answer(request, route: route)
        rateLimitUsed += 1
        response.headers["RateLimit-Limit"] = "5000"
        response.headers["RateLimit-Remaining"] = String(max(0, 5000 - rateLimitUsed))
        response.headers["RateLimit-Reset"] = String(Int(Date().timeIntervalSince1970) + 60)
        record(request, route: route, response: response)
        return response
    }

    private func answer(_ request: FakeHTTPRequest, route: FakeRoute?) -> FakeHTTPResponse {
        guard let auth = request.headers["authorization"], auth.hasPrefix("Bearer "),
              tokens.contains(String(auth.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)) else {
            return .error(401, "Unauthorized", "Unable to authenticate you")
        }
        if let throttled = throttle() { return throttled }
        guard let route else { return .notFound }

        if case .createDroplet = route, faults.failCreates > 0 {
            faults.failCreates -= 1
            faultCounts["failed_create", default: 0] += 1
            return serverError()
        }
        if case .createDroplet = route, faults.loseCreates > 0 {
            let response = dispatch(route, request)
            guard response.status == 202 else { return response }
            faults.loseCreates -= 1
            faultCounts["lost_create", default: 0] += 1
            switch faults.loseCreateMode {
            case "error": return serverError()
            case "hang": return FakeHTTPResponse(status: 202, body: response.body, delivery: .hang(seconds: faults.hangSeconds))
            default: return FakeHTTPResponse(status: 202, headers: response.headers, body: response.body, delivery: .drop)
            }
        }

        let roll = Double.random(in: 0..<1, using: &random)
        let after = Double.random(in: 0..<1, using: &random) < faults.afterProcessingRate
        if roll < faults.errorRate {
            faultCounts["500", default: 0] += 1
            if after { _ = dispatch(route, request) }
            return serverError()
        }
        if roll < faults.errorRate + faults.hangRate {
            faultCounts["hang", default: 0] += 1
            let response = after ? dispatch(route, request) : FakeHTTPResponse(status: 504)
            return FakeHTTPResponse(status: response.status, headers: response.headers, body: response.body,
                                    delivery: .hang(seconds: faults.hangSeconds))
        }
        return dispatch(route, request)
    }

    private func serverError() -> FakeHTTPResponse {
        .error(500, "server_error", "Unexpected server-side error")
    }

    /// A 429 when the call falls in a throttle window or is the Nth.
    private func throttle() -> FakeHTTPResponse? {
        var retryAfter: Int?
        if let until = throttleUntil {
            let left = until - ContinuousClock.now
            if left > .zero {
                retryAfter = max(faults.retryAfterSeconds, Int(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0))
            } else {
                throttleUntil = nil
            }
        }
        if retryAfter == nil, faults.throttleEvery > 0 {
            throttleCounter += 1
            if throttleCounter % faults.throttleEvery == 0 { retryAfter = faults.retryAfterSeconds }
        }
        guard let retryAfter else { return nil }
        faultCounts["429", default: 0] += 1
        var response = FakeHTTPResponse.error(429, "too_many_requests", "API Rate limit exceeded.")
        response.headers["Retry-After"] = String(retryAfter)
        return response
    }

    // MARK: - Controls from Swift

    /// Replaces the faults (and restarts the random sequence from their seed).
    public func setFaults(_ faults: FakeDigitalOceanFaults) {
        self.faults = faults
        random = SplitMix64(seed: faults.seed)
        throttleCounter = 0
        throttleUntil = faults.throttleForSeconds > 0 ? ContinuousClock.now + .milliseconds(Int(faults.throttleForSeconds * 1000)) : nil
    }

    /// The faults in force (`loseCreates` counts down as creates are lost).
    public func currentFaults() -> FakeDigitalOceanFaults { faults }

    /// Sets how long actions stay in progress.
    public func setActionSeconds(_ seconds: Double) { actionSeconds = max(0, seconds) }

    /// Accepts another token too.
    public func addToken(_ token: String) { tokens.insert(token) }

    /// `/v2` requests received, by `METHOD /v2/path/{template}` (faulted ones included).
    public func requestCounts() -> [String: Int] { counts }

    /// `POST /v2/droplets/{id}/actions` requests received, by the action `type` of their body (`snapshot`,
    /// `power_off`, ...; faulted and refused ones included, like `requestCounts()`).
    public func actionCounts() -> [String: Int] { actionTypeCounts }

    /// Faults injected so far, by kind (`500`, `hang`, `429`, `lost_create`).
    public func injectedFaults() -> [String: Int] { faultCounts }

    /// Forgets the request and fault counts.
    public func resetCounts() {
        counts = [:]
        actionTypeCounts = [:]
        faultCounts = [:]
    }

    /// Forgets everything: resources, counts, faults, recording. With a backing, the droplets' machines are destroyed
    /// and the snapshots forgotten (in the background: `settleBacking()` waits for it).
    public func reset() {
        for droplet in droplets.values where droplet.backed { launchBackingChore("destroy droplet \(droplet.id)") { try await $0.destroy(droplet: droplet.id) } }
        for image in images.values { launchBackingChore("forget snapshot \(image.id)") { try await $0.deleteImage(snapshot: image.id) } }
        droplets = [:]
        images = [:]
        tags = [:]
        actions = [:]
        pendingActions = []
        keys = [:]
        domains = [:]
        records = [:]
        addressCounter = 0
        rateLimitUsed = 0
        recording = nil
        recordingPath = nil
        resetCounts()
        setFaults(FakeDigitalOceanFaults())
    }

    /// Every droplet: id, name, tags, status, size, region (sorted by id).
    public func dropletSummaries() -> [FakeDropletSummary] {
        advanceActions()
        return droplets.values.sorted { $0.id < $1.id }.map {
            FakeDropletSummary(id: $0.id, name: $0.name, tags: $0.tags, status: $0.status, size: $0.sizeSlug, region: $0.region,
                               image: $0.image.slug ?? String($0.image.id), publicIPv4: $0.backedAddress?.ipv4 ?? $0.publicIPv4,
                               snapshotIDs: $0.snapshotIDs, backingError: $0.backingError)
        }
    }

    /// Domain names (sorted).
    public func domainNames() -> [String] { domains.keys.sorted() }

    /// Every record of `domain` as `name TYPE data` lines, sorted (for assertions).
    public func recordLines(_ domain: String) -> [String] {
        records.values.filter { $0.domain == domain }.map { r in
            var line = "\(r.name) \(r.ttl) \(r.type)"
            if let priority = r.priority { line += " \(priority)" }
            if let weight = r.weight { line += " \(weight)" }
            if let port = r.port { line += " \(port)" }
            return line + " \(r.data)"
        }.sorted()
    }

    /// SSH keys: id, name, fingerprint (sorted by id).
    public func keySummaries() -> [(id: Int, name: String, fingerprint: String)] {
        keys.values.sorted { $0.id < $1.id }.map { ($0.id, $0.name, $0.fingerprint) }
    }

    /// Deletes a droplet behind the client's back (as someone in the control panel would). With a backing, its
    /// machine is destroyed in the background (`settleBacking()` waits for it).
    @discardableResult
    public func removeDroplet(id: Int) -> Bool {
        pendingActions.removeAll { actions[$0]?.dropletID == id }
        guard let droplet = droplets.removeValue(forKey: id) else { return false }
        for tag in droplet.tags { tags[tag]?.history.removeAll { $0 == FakeTag.Tagged(type: "droplet", id: id) } }
        if droplet.backed { launchBackingChore("destroy droplet \(id)") { try await $0.destroy(droplet: id) } }
        return true
    }

    /// Changes a droplet behind the client's back.
    public func modifyDroplet(id: Int, name: String? = nil, size: String? = nil, status: String? = nil) {
        guard var droplet = droplets[id] else { return }
        if let name { droplet.name = name }
        if let size, FakeDigitalOceanCatalog.size(size) != nil { droplet.sizeSlug = size }
        if let status { droplet.status = status }
        droplets[id] = droplet
    }

    // MARK: - Helpers

    /// ISO 8601 in UTC, seconds precision, as DigitalOcean writes times.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}

/// One droplet as the fake holds it, for assertions.
public struct FakeDropletSummary: Sendable, Hashable {
    /// The droplet id.
    public var id: Int
    /// Its name.
    public var name: String
    /// Its tags.
    public var tags: [String]
    /// `new`, `active` or `off`.
    public var status: String
    /// Size slug.
    public var size: String
    /// Region slug.
    public var region: String
    /// Image slug, or the image id for snapshots.
    public var image: String
    /// Its public IPv4 address (documentation range; the machine's with a backing).
    public var publicIPv4: String
    /// Ids of its snapshots that still exist.
    public var snapshotIDs: [Int] = []
    /// Why the backing could not boot it, if it could not.
    public var backingError: String?
}
