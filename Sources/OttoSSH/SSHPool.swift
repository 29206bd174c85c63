/// SSH sessions by target, reused for everything on that host: for one run (the CLI), or kept warm across the scheduled
/// runs of `otto serve` (one pool for the process). Concurrent callers for one target share one connection attempt; a
/// failed attempt is not cached (the next call tries again), and a session that was closed or lost its connection is
/// replaced on the next request, by a new connection that checks the host key again (`SSHSession.connect`).
///
/// At most `maxSessions` sessions stay open: connecting one more closes the least recently used (a session in the middle
/// of a command finishes it first: `SSHSession.close` queues behind it). Idle sessions send keepalives on their own
/// thread (`Connection.keepaliveIfDue`).
public actor SSHPool {
    private var sessions: [SSHTarget: Task<SSHSession, any Error>] = [:]
    /// When each target was last asked for (a counter: higher is more recent).
    private var lastUsed: [SSHTarget: UInt64] = [:]
    private var tick: UInt64 = 0
    /// Sessions connected so far (attempts that succeeded).
    public private(set) var connects = 0
    /// Sessions closed to keep the pool within `maxSessions`.
    public private(set) var evictions = 0
    /// The most sessions kept open at once.
    public let maxSessions: Int

    /// Creates an empty pool keeping at most `maxSessions` sessions open.
    public init(maxSessions: Int = .max) {
        self.maxSessions = max(1, maxSessions)
    }

    /// The open session for `target`, connecting if there is none.
    public func session(for target: SSHTarget) async throws -> SSHSession {
        try await checkout(target).session
    }

    /// Runs `body` with the session for `target`. When a session kept from earlier turns out broken (its connection died
    /// while it waited: sshd restarted, the machine rebooted), `body` runs once more on a new connection. Use it for
    /// work that is safe to repeat (probes, reads).
    public func withSession<T: Sendable>(for target: SSHTarget, _ body: @Sendable (SSHSession) async throws -> T) async throws -> T {
        let (session, reused) = try await checkout(target)
        do {
            return try await body(session)
        } catch where reused && !session.isOpen {
            return try await body(try await checkout(target).session)
        }
    }

    /// The session for `target` and whether it was kept from before this call.
    private func checkout(_ target: SSHTarget) async throws -> (session: SSHSession, reused: Bool) {
        tick += 1
        lastUsed[target] = tick
        while true {
            let task: Task<SSHSession, any Error>
            var fresh = false
            if let existing = sessions[target] {
                task = existing
            } else {
                task = Task { try await SSHSession.connect(target) }
                sessions[target] = task
                fresh = true
                evictBeyondLimit(keeping: target)
            }
            do {
                let session = try await task.value
                if fresh { connects += 1 }
                if session.isOpen { return (session, !fresh) }
                if sessions[target] == task { sessions[target] = nil }
            } catch {
                if sessions[target] == task { sessions[target] = nil }
                throw error
            }
        }
    }

    /// Closes the least recently used sessions while more than `maxSessions` are open (never `keeping`'s).
    private func evictBeyondLimit(keeping: SSHTarget) {
        while sessions.count > maxSessions {
            guard let oldest = sessions.keys.filter({ $0 != keeping }).min(by: { (lastUsed[$0] ?? 0) < (lastUsed[$1] ?? 0) }),
                  let task = sessions.removeValue(forKey: oldest) else { return }
            lastUsed[oldest] = nil
            evictions += 1
            Task { if let session = try? await task.value { await session.close() } }
        }
    }

    /// True when a session to `host:port` is open in the pool now (whoever it logs in as): the host answers SSH, with no
    /// new connection to find out.
    public func hasOpenSession(host: String, port: Int) async -> Bool {
        for (target, task) in sessions where target.host == host && target.port == port {
            if let session = try? await task.value, session.isOpen { return true }
        }
        return false
    }

    /// How many targets have a session (or a connection attempt) in the pool.
    public var count: Int { sessions.count }

    /// Closes every session and empties the pool.
    public func closeAll() async {
        let tasks = Array(sessions.values)
        sessions = [:]
        lastUsed = [:]
        for task in tasks {
            if let session = try? await task.value { await session.close() }
        }
    }
}
