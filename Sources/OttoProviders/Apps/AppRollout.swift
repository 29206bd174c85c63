import Foundation
import OttoCore
/// How many machines a rolling deploy changes at once: a number, or a percentage of the group.
public enum ParallelLimit: Sendable, Hashable {
    /// At most this many machines.
    case count(Int)
    /// At most this share of the machines, in percent (rounded up).
    case percent(Int)

    /// Parses `2` or `50%`; nil for anything else (zero, negative, over 100 %).
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let p = Int(t.dropLast()), p > 0, p <= 100 else { return nil }
            self = .percent(p)
        } else {
            guard let n = Int(t), n > 0 else { return nil }
            self = .count(n)
        }
    }

    /// Machines per batch for a group of `machines`.
    public func batchSize(of machines: Int) -> Int {
        switch self {
        case .count(let n): return max(1, min(n, machines))
        case .percent(let p): return max(1, min(machines, (machines * p + 99) / 100))
        }
    }

    /// As written in configuration.
    public var text: String {
        switch self {
        case .count(let n): return String(n)
        case .percent(let p): return "\(p)%"
        }
    }
}

/// How a release replaces the one serving.
public enum RolloutStrategy: Sendable, Hashable {
    /// Start the whole new set beside the old one, check it, then move all traffic at once.
    case blueGreen
    /// Replace the machines in batches: each batch starts, passes its checks and takes its traffic before the next.
    case rolling(ParallelLimit)

    /// Parses the attribute form (`blue-green`, `rolling:2`, `rolling:50%`).
    public init?(attribute text: String) {
        if text == "blue-green" { self = .blueGreen; return }
        guard text.hasPrefix("rolling:"), let limit = ParallelLimit(parsing: String(text.dropFirst("rolling:".count))) else { return nil }
        self = .rolling(limit)
    }

    /// The attribute form.
    public var attribute: String {
        switch self {
        case .blueGreen: return "blue-green"
        case .rolling(let limit): return "rolling:\(limit.text)"
        }
    }
}

/// What a deploy will do, worked out before anything runs, so the plan can show it: the batches of machines, the
/// slot and port of the new release, and what traffic falls back to if it fails.
public struct AppRollout: Sendable, Hashable {
    /// The release being deployed.
    public var release: Int
    /// Its version.
    public var version: String
    /// Where it runs on each machine.
    public var slot: AppSlot
    /// Its port on each machine.
    public var port: Int
    /// Machines (names) in the order they are changed, batch by batch.
    public var batches: [[String]]
    /// The release serving now, which keeps running until the new one has passed its watch: the rollback target.
    public var previous: AppReleaseRef?

    /// Works out a rollout of release `release` (`version`) over `machines` (sorted by the caller), for an app on
    /// `basePort`, in `slot`, replacing `previous`.
    public init(release: Int, version: String, slot: AppSlot = .a, machines: [String], strategy: RolloutStrategy, basePort: Int,
                previous: AppReleaseRef?) {
        self.release = release
        self.version = version
        self.slot = slot
        port = basePort + slot.portOffset
        self.previous = previous
        switch strategy {
        case .blueGreen:
            batches = machines.isEmpty ? [] : [machines]
        case .rolling(let limit):
            let size = limit.batchSize(of: machines.count)
            batches = stride(from: 0, to: machines.count, by: size).map { Array(machines[$0..<min($0 + size, machines.count)]) }
        }
    }

    /// One line per step, for plans and logs.
    public var steps: [String] {
        var out: [String] = []
        for (i, batch) in batches.enumerated() {
            let label = batches.count == 1 ? "all machines" : "batch \(i + 1)/\(batches.count)"
            out.append("\(label) (\(batch.joined(separator: ", "))): unpack and start release \(release) (\(version)) in slot \(slot.rawValue) on port \(port), wait until healthy, then haproxy: \(slot.rawValue) ready, \(slot.other.rawValue) drain")
        }
        if let previous {
            out.append("watch, then stop release \(previous.number) (\(previous.version)); on failure all traffic returns to it at once")
        } else {
            out.append("watch; nothing to roll back to (first release)")
        }
        return out
    }
}
