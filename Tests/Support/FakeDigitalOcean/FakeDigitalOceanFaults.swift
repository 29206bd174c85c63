/// Faults the fake DigitalOcean injects into `/v2` calls, on demand. All off by default.
///
/// Settable from Swift (`FakeDigitalOcean.setFaults`) or over HTTP (`POST /_fake/faults` with the snake_case keys of
/// `CodingKeys`; keys left out keep their value).
public struct FakeDigitalOceanFaults: Sendable, Hashable, Codable {
    /// Fraction (0...1) of calls answered `500 server_error`.
    public var errorRate: Double = 0
    /// Fraction (0...1) of calls that hang: no answer for `hangSeconds`, then the connection is dropped.
    public var hangRate: Double = 0
    /// How long a hanging call hangs, in seconds (make it longer than the client's timeout).
    public var hangSeconds: Double = 5
    /// Fraction (0...1) of those 500s and hangs that strike after the call was carried out (the droplet exists, the
    /// client cannot tell); the others strike before anything happened.
    public var afterProcessingRate: Double = 0.5
    /// Every Nth call is answered `429 too_many_requests` with `Retry-After` (0: never).
    public var throttleEvery: Int = 0
    /// Every call in the next this many seconds is answered 429 (0: none). Counted from when the faults are set.
    public var throttleForSeconds: Double = 0
    /// The `Retry-After` a 429 carries, in seconds.
    public var retryAfterSeconds: Int = 1
    /// The next this many droplet creates are carried out (the droplet exists) but their answer is lost.
    public var loseCreates: Int = 0
    /// The next this many droplet creates are refused with a 500 before anything is made.
    public var failCreates: Int = 0
    /// How a lost create's answer is lost: `drop` (connection closed before the body), `error` (a 500 instead of the
    /// 202) or `hang` (no answer for `hangSeconds`, then dropped).
    public var loseCreateMode: String = "drop"
    /// Seed of the random choices, so a run can be repeated.
    public var seed: UInt64 = 0x5EED

    /// No faults.
    public init() {}

    /// The keys accepted by `POST /_fake/faults`.
    enum CodingKeys: String, CodingKey {
        case errorRate = "error_rate"
        case hangRate = "hang_rate"
        case hangSeconds = "hang_seconds"
        case afterProcessingRate = "after_processing_rate"
        case throttleEvery = "throttle_every"
        case throttleForSeconds = "throttle_for_seconds"
        case retryAfterSeconds = "retry_after"
        case loseCreates = "lose_creates"
        case loseCreateMode = "lose_create_mode"
        case failCreates = "fail_creates"
        case seed
    }

    /// Reads the keys present in `json` over `self`.
    func merging(_ json: JSONValue) throws(FakeControlError) -> FakeDigitalOceanFaults {
        guard let members = json.object else { throw FakeControlError("faults must be a JSON object") }
        var out = self
        for (key, value) in members {
            switch CodingKeys(rawValue: key) {
            case .errorRate?: out.errorRate = try Self.fraction(value, key)
            case .hangRate?: out.hangRate = try Self.fraction(value, key)
            case .afterProcessingRate?: out.afterProcessingRate = try Self.fraction(value, key)
            case .hangSeconds?: out.hangSeconds = try Self.nonNegative(value, key)
            case .throttleForSeconds?: out.throttleForSeconds = try Self.nonNegative(value, key)
            case .throttleEvery?: out.throttleEvery = Int(try Self.nonNegative(value, key))
            case .retryAfterSeconds?: out.retryAfterSeconds = Int(try Self.nonNegative(value, key))
            case .loseCreates?: out.loseCreates = Int(try Self.nonNegative(value, key))
            case .failCreates?: out.failCreates = Int(try Self.nonNegative(value, key))
            case .seed?: out.seed = UInt64(try Self.nonNegative(value, key))
            case .loseCreateMode?:
                guard let mode = value.string, ["drop", "error", "hang"].contains(mode) else {
                    throw FakeControlError("lose_create_mode must be drop, error or hang")
                }
                out.loseCreateMode = mode
            case nil: throw FakeControlError("unknown fault \(key)")
            }
        }
        return out
    }

    var json: JSONValue {
        [
            "error_rate": .double(errorRate), "hang_rate": .double(hangRate), "hang_seconds": .double(hangSeconds),
            "after_processing_rate": .double(afterProcessingRate), "throttle_every": .int(throttleEvery),
            "throttle_for_seconds": .double(throttleForSeconds), "retry_after": .int(retryAfterSeconds),
            "lose_creates": .int(loseCreates), "lose_create_mode": .string(loseCreateMode),
            "fail_creates": .int(failCreates), "seed": .int(Int(truncatingIfNeeded: seed)),
        ]
    }

    private static func fraction(_ value: JSONValue, _ key: String) throws(FakeControlError) -> Double {
        guard let number = value.double, number >= 0, number <= 1 else { throw FakeControlError("\(key) must be a number in 0...1") }
        return number
    }

    private static func nonNegative(_ value: JSONValue, _ key: String) throws(FakeControlError) -> Double {
        guard let number = value.double, number >= 0 else { throw FakeControlError("\(key) must be a non-negative number") }
        return number
    }
}

/// A control request the fake cannot carry out.
struct FakeControlError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

